from typing import Iterator, Union

class Value:
    name: str
    value: object
    value_type: str
    is_corrupted: bool

class NKRecord:
    name: str
    values_count: int
    subkey_count: int
    def iter_subkeys(self) -> Iterator[NKRecord]: ...
    def iter_values(
        self, as_json: bool = ..., max_len: int = ..., trim_values: bool = ...
    ) -> Iterator[Value]: ...

class RegistryHive:
    root: NKRecord
    name: str
    def __init__(
        self, hive_path: Union[str, int], hive_type: object = ..., partial_hive_path: object = ...
    ) -> None: ...
    def get_key(self, key_path: str) -> NKRecord: ...
