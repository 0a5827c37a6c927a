# Typed surface of yara-python (>= 4.3) that sitesweep uses; only sitesweep.packs.yararules
# imports yara. Keep this in step with that module, and nothing more.
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Union

MetaValue = Union[str, int, bool]

YARA_VERSION: str
CALLBACK_CONTINUE: int
CALLBACK_TOO_MANY_MATCHES: int

class Error(Exception): ...
class SyntaxError(Error): ...  # noqa: A001 - yara-python's name
class TimeoutError(Error): ...  # noqa: A001 - yara-python's name
class WarningError(Error): ...

class StringMatchInstance:
    @property
    def offset(self) -> int: ...
    @property
    def matched_data(self) -> bytes: ...
    @property
    def matched_length(self) -> int: ...

class StringMatch:
    @property
    def identifier(self) -> str: ...
    @property
    def instances(self) -> List[StringMatchInstance]: ...
    def is_xor(self) -> bool: ...

class Match:
    @property
    def rule(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def tags(self) -> List[str]: ...
    @property
    def meta(self) -> Dict[str, MetaValue]: ...
    @property
    def strings(self) -> List[StringMatch]: ...

class Rule:
    @property
    def identifier(self) -> str: ...
    @property
    def tags(self) -> List[str]: ...
    @property
    def meta(self) -> Dict[str, MetaValue]: ...
    @property
    def is_global(self) -> bool: ...
    @property
    def is_private(self) -> bool: ...

class Rules:
    def __iter__(self) -> Iterator[Rule]: ...
    def match(
        self,
        filepath: Optional[str] = ...,
        pid: Optional[int] = ...,
        data: Optional[bytes] = ...,
        externals: Optional[Mapping[str, MetaValue]] = ...,
        callback: Optional[Callable[[Dict[str, object]], int]] = ...,
        fast: bool = ...,
        timeout: Optional[int] = ...,
        modules_data: Optional[Mapping[str, bytes]] = ...,
        modules_callback: Optional[Callable[[Dict[str, object]], int]] = ...,
        which_callbacks: Optional[int] = ...,
        warnings_callback: Optional[Callable[[int, object], int]] = ...,
        console_callback: Optional[Callable[[str], None]] = ...,
        allow_duplicate_metadata: bool = ...,
    ) -> List[Match]: ...

def compile(  # noqa: A001 - yara-python's name
    filepath: Optional[str] = ...,
    source: Optional[str] = ...,
    file: Optional[object] = ...,
    filepaths: Optional[Mapping[str, str]] = ...,
    sources: Optional[Mapping[str, str]] = ...,
    includes: bool = ...,
    externals: Optional[Mapping[str, MetaValue]] = ...,
    error_on_warning: bool = ...,
    strict_escape: bool = ...,
    include_callback: Optional[Callable[[str, str, str], Optional[str]]] = ...,
) -> Rules: ...
