"""Write real Windows registry hive files (regf) for test fixtures: SYSTEM, SOFTWARE, NTUSER.DAT.

Built from the published format (the "Windows registry file format specification"): a 4096-byte
base block whose checksum is the XOR of its first 127 dwords, then one hive bin (``hbin``) holding
allocated cells (negative size, 8-byte aligned): key nodes (``nk``), one security cell (``sk``),
subkey index leaves (``lh``, sorted by upper-case name, with the name hash), value lists and value
cells (``vk``, data of four bytes or less kept in the offset field), and one free cell for the rest.
The root key node is the first cell of the first bin, as Windows writes it.

Usage::

    hive = Hive("SOFTWARE")
    key = r"Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\S-1-5-21-1-2-3-1001"
    hive.set(key, "ProfileImagePath", expand_sz(r"C:\\Users\\alice"))
    hive.set(r"Microsoft\\Windows\\CurrentVersion\\Run", "Updater", sz(r"C:\\x\\pythonw.exe a.py"))
    hive.write(path)

regipy and hivex (``hivexsh``/``hivexget``) read the result back (``tests/test_regf_builder.py``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11

_NONE = 0xFFFFFFFF
_BASE = 4096
_HBIN_HEADER = 32
_KEY_HIVE_ENTRY = 0x0004
_KEY_NO_DELETE = 0x0008
_KEY_COMP_NAME = 0x0020
_VALUE_COMP_NAME = 0x0001
_CellId = Tuple[str, object]
_FILETIME_2026 = 134_000_000_000_000_000  # a FILETIME in 2025/2026 (100 ns since 1601)

HIVE_FILE_NAMES = {
    "SYSTEM": "\\SystemRoot\\System32\\Config\\SYSTEM",
    "SOFTWARE": "\\SystemRoot\\System32\\Config\\SOFTWARE",
    "SAM": "\\SystemRoot\\System32\\Config\\SAM",
    "NTUSER.DAT": "\\??\\C:\\Users\\user\\ntuser.dat",
}
"""What the base block's file-name field says for each hive (parsers tell the type from it)."""


@dataclass(frozen=True)
class Value:
    """A registry value: its type and raw data."""

    type: int
    data: bytes


def sz(text: str) -> Value:
    """A REG_SZ (UTF-16LE, NUL-terminated)."""
    return Value(REG_SZ, (text + "\0").encode("utf-16-le"))


def expand_sz(text: str) -> Value:
    """A REG_EXPAND_SZ (``%SystemDrive%\\Users\\alice``)."""
    return Value(REG_EXPAND_SZ, (text + "\0").encode("utf-16-le"))


def multi_sz(items: List[str]) -> Value:
    """A REG_MULTI_SZ."""
    return Value(REG_MULTI_SZ, ("".join(i + "\0" for i in items) + "\0").encode("utf-16-le"))


def dword(number: int) -> Value:
    """A REG_DWORD."""
    return Value(REG_DWORD, struct.pack("<I", number))


def qword(number: int) -> Value:
    """A REG_QWORD."""
    return Value(REG_QWORD, struct.pack("<Q", number))


def binary(data: bytes) -> Value:
    """A REG_BINARY."""
    return Value(REG_BINARY, data)


@dataclass
class _Key:
    name: str
    values: Dict[str, Value] = field(default_factory=dict)
    subkeys: Dict[str, _Key] = field(default_factory=dict)

    def child(self, name: str) -> _Key:
        for existing, key in self.subkeys.items():
            if existing.upper() == name.upper():  # key names are case-insensitive
                return key
        return self.subkeys.setdefault(name, _Key(name))


class Hive:
    """A registry hive being built; ``write`` lays it out as a regf file.

    Args:
        kind: ``SYSTEM``, ``SOFTWARE``, ``SAM`` or ``NTUSER.DAT`` (the base block's file name).
        root_name: the root key's name (Windows writes ``ROOT`` or ``CMI-CreateHive{...}``).
    """

    def __init__(self, kind: str = "SOFTWARE", root_name: str = "ROOT") -> None:
        self.file_name = HIVE_FILE_NAMES.get(kind, kind)
        self.root = _Key(root_name)

    def key(self, path: str) -> _Key:
        """The key at ``path`` (backslash-separated, below the root), created if missing."""
        key = self.root
        for part in (p for p in path.split("\\") if p):
            key = key.child(part)
        return key

    def set(self, path: str, name: str, value: Value) -> None:
        """Set value ``name`` (``""`` is the default value) of key ``path``."""
        self.key(path).values[name] = value

    def write(self, path: Path) -> Path:
        """Write the hive file; return its path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path

    def to_bytes(self) -> bytes:
        """The whole hive file."""
        bins = _Layout(self.root).hbin()
        return _base_block(self.file_name, len(bins)) + bins


def _name_bytes(name: str) -> Tuple[bytes, bool]:
    """The stored name and whether it is 'compressed' (one byte a character)."""
    try:
        return name.encode("ascii"), True
    except UnicodeEncodeError:
        return name.encode("utf-16-le"), False


def _lh_hash(name: str) -> int:
    value = 0
    for char in name.upper():
        value = (value * 37 + ord(char)) & 0xFFFFFFFF
    return value


def _cell(payload: bytes) -> bytes:
    """An allocated cell: negative size (header included), padded to 8 bytes."""
    size = (len(payload) + 4 + 7) & ~7
    return struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))


class _Layout:
    """Assigns every cell an offset (sizes do not depend on offsets), then encodes them."""

    def __init__(self, root: _Key) -> None:
        self.keys: List[Tuple[_Key, int]] = []  # (key, parent key index)
        self._collect(root, -1)

    def _collect(self, key: _Key, parent: int) -> None:
        index = len(self.keys)
        self.keys.append((key, parent))
        for child in sorted(key.subkeys.values(), key=lambda k: k.name.upper()):
            self._collect(child, index)

    def hbin(self) -> bytes:
        # Cell ids: ("nk", i), ("sk", 0), ("lh", i), ("vl", i), ("vk", (i, name)), ("db", (i, n)).
        cells: List[_CellId] = [("nk", 0), ("sk", 0)]
        for i, (key, _) in enumerate(self.keys):
            if i:
                cells.append(("nk", i))
            if key.subkeys:
                cells.append(("lh", i))
            if key.values:
                cells.append(("vl", i))
                for name, value in key.values.items():
                    cells.append(("vk", (i, name)))
                    if len(value.data) > 4:
                        cells.append(("db", (i, name)))
        offsets: Dict[_CellId, int] = {}
        position = _HBIN_HEADER
        for cid in cells:
            offsets[cid] = position
            position += len(self._encode(cid, None))
        body = b"".join(self._encode(cid, offsets) for cid in cells)
        size = (_HBIN_HEADER + len(body) + 8 + _BASE - 1) // _BASE * _BASE
        free = size - _HBIN_HEADER - len(body)
        header = b"hbin" + struct.pack("<IIIIQI", 0, size, 0, 0, _FILETIME_2026, 0)
        return header + body + struct.pack("<i", free) + b"\0" * (free - 4)

    def _child_indexes(self, index: int) -> List[int]:
        return [i for i, (_, parent) in enumerate(self.keys) if parent == index]

    def _encode(self, cid: _CellId, offsets: Optional[Dict[_CellId, int]]) -> bytes:
        table = offsets or {}

        def at(target: _CellId) -> int:
            return table.get(target, 0)

        kind, ident = cid
        if kind == "nk":
            assert isinstance(ident, int)
            return _cell(self._nk(ident, at))
        if kind == "sk":
            sd = _security_descriptor()
            me = at(("sk", 0))
            return _cell(b"sk" + struct.pack("<HIIII", 0, me, me, len(self.keys), len(sd)) + sd)
        if kind == "lh":
            assert isinstance(ident, int)
            children = self._child_indexes(ident)
            entries = b"".join(
                struct.pack("<II", at(("nk", c)), _lh_hash(self.keys[c][0].name)) for c in children
            )
            return _cell(b"lh" + struct.pack("<H", len(children)) + entries)
        if kind == "vl":
            assert isinstance(ident, int)
            key = self.keys[ident][0]
            return _cell(b"".join(struct.pack("<I", at(("vk", (ident, n)))) for n in key.values))
        if kind == "vk":
            assert isinstance(ident, tuple)
            i, name = ident
            value = self.keys[i][0].values[name]
            raw, comp = _name_bytes(name)
            if len(value.data) <= 4:
                size = len(value.data) | 0x80000000
                data_field = value.data.ljust(4, b"\0")
            else:
                size = len(value.data)
                data_field = struct.pack("<I", at(("db", ident)))
            flags = _VALUE_COMP_NAME if comp else 0
            head = struct.pack("<HI", len(raw), size) + data_field
            return _cell(b"vk" + head + struct.pack("<IHH", value.type, flags, 0) + raw)
        if kind == "db":
            assert isinstance(ident, tuple)
            i, name = ident
            data = self.keys[i][0].values[name].data
            if len(data) > 16344:
                raise ValueError("values over 16344 bytes need big-data cells (not written)")
            return _cell(data)
        raise ValueError(kind)

    def _nk(self, index: int, lookup: Callable[[_CellId], int]) -> bytes:
        key, parent = self.keys[index]
        raw, comp = _name_bytes(key.name)
        flags = (_KEY_COMP_NAME if comp else 0) | (
            _KEY_HIVE_ENTRY | _KEY_NO_DELETE if index == 0 else 0
        )
        children = self._child_indexes(index)
        parent_offset = lookup(("nk", parent)) if parent >= 0 else 0
        subkeys = lookup(("lh", index)) if children else _NONE
        values = lookup(("vl", index)) if key.values else _NONE
        longest_sub = max((len(self.keys[c][0].name) * 2 for c in children), default=0)
        longest_name = max((len(n) * 2 for n in key.values), default=0)
        longest_data = max((len(v.data) for v in key.values.values()), default=0)
        fixed = struct.pack(
            "<HQIIIIIIIIIIIIIIIHH",
            flags,
            _FILETIME_2026,
            0,
            parent_offset,
            len(children),
            0,
            subkeys,
            _NONE,
            len(key.values),
            values,
            lookup(("sk", 0)),
            _NONE,
            longest_sub,
            0,
            longest_name,
            longest_data,
            0,
            len(raw),
            0,
        )
        return b"nk" + fixed + raw


def _security_descriptor() -> bytes:
    """A self-relative security descriptor: owner and group SYSTEM (S-1-5-18), no ACLs."""
    system_sid = struct.pack("<BB6sI", 1, 1, (5).to_bytes(6, "big"), 18)
    header_size = 20
    owner = header_size
    group = owner + len(system_sid)
    head = struct.pack("<BBHIIII", 1, 0, 0x8000, owner, group, 0, 0)
    return head + system_sid + system_sid


def _base_block(file_name: str, bins_size: int) -> bytes:
    name = file_name.encode("utf-16-le")[-64:].ljust(64, b"\0")
    head = b"regf" + struct.pack(
        "<IIQIIIIIII", 1, 1, _FILETIME_2026, 1, 5, 0, 1, _HBIN_HEADER, bins_size, 1
    )
    block = bytearray(_BASE)
    block[: len(head)] = head
    block[48:112] = name
    checksum = 0
    for (dword_value,) in struct.iter_unpack("<I", bytes(block[:508])):
        checksum ^= dword_value
    if checksum == 0xFFFFFFFF:
        checksum = 0xFFFFFFFE
    elif checksum == 0:
        checksum = 1
    block[508:512] = struct.pack("<I", checksum)
    return bytes(block)
