from typing import Any, BinaryIO, Dict, Optional

class lnk_file:  # noqa: N801 - the library's own name
    def __init__(
        self,
        fhandle: Optional[BinaryIO] = ...,
        indata: Optional[bytes] = ...,
        cp: Optional[str] = ...,
        allow_terminal_blocks: bool = ...,
    ) -> None: ...
    def get_json(self, get_all: bool = ...) -> Dict[str, Any]: ...
    @property
    def lnk_command(self) -> str: ...
