"""Read Windows registry hives (SYSTEM, SOFTWARE, NTUSER.DAT) of a scanned tree, statically.

The parser is regipy (MIT, pure Python; construct, inflection and pytz with it). The hive is read
through the host door (:meth:`HostRoot.read_bytes`: inside the root, no special file, bounded) and
regipy reads those bytes from a pipe, never a path of its own to open. A hive larger than
:data:`HIVE_LIMIT`, a malformed hive, or a missing regipy (a reduced agent) is a gap; the caller
goes on without it.

Usage::

    hive = open_hive(root, "/Windows/System32/config/SOFTWARE", "accounts", gaps)
    if hive is not None:
        for sid in hive.subkeys(r"Microsoft\\Windows NT\\CurrentVersion\\ProfileList"):
            ...
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath

if TYPE_CHECKING:
    from regipy.registry import NKRecord, RegistryHive

HIVE_LIMIT = 512 << 20
"""Largest hive read (a busy SOFTWARE hive is a few hundred MiB at most); larger is a gap."""
VALUE_LIMIT = 1 << 16
"""Value data longer than this is cut (a Run key's command line is far shorter)."""

RegData = Union[str, int, bytes, Tuple[str, ...], None]
"""A value's data: text (REG_SZ, REG_EXPAND_SZ), a number (REG_DWORD/QWORD), a list of texts
(REG_MULTI_SZ), raw bytes (anything else)."""


class HiveKeyError(LookupError):
    """A key path that the hive does not hold."""


class Hive:
    """One parsed hive. Key paths are backslash-separated below the root, case-insensitive.

    Every method answers a missing key as empty (``None``, ``()``, ``{}``). A hive that opens but
    breaks further in (truncated, a corrupt cell: regipy raises many types) answers the same, and
    its first failure is one gap [``parse_error``] naming the hive and the reason: the caller's
    other keys, the other hives and the rest of the collector go on.
    """

    def __init__(
        self,
        path: HostPath,
        parsed: RegistryHive,
        area: str = "registry",
        gaps: Optional[List[Gap]] = None,
    ) -> None:
        self.path = path
        self._hive = parsed
        self._area = area
        self._gaps = gaps
        self.broken = False
        """Whether a read of this hive failed inside the parser (the gap is recorded once)."""

    def _broken(self, exc: Exception, key: str) -> None:
        if not self.broken and self._gaps is not None:
            detail = f"registry hive breaks at {key!r}: {type(exc).__name__}: {exc}"[:400]
            self._gaps.append(Gap(self._area, self.path, GapReason.PARSE_ERROR, detail))
        self.broken = True

    def _key(self, key: str) -> NKRecord:
        from regipy.exceptions import RegistryKeyNotFoundException

        parts = [p for p in key.split("\\") if p]
        try:
            return self._hive.get_key("\\" + "\\".join(parts)) if parts else self._hive.root
        except RegistryKeyNotFoundException as exc:
            raise HiveKeyError(key) from exc
        except Exception as exc:
            self._broken(exc, key)
            raise HiveKeyError(key) from exc

    def has_key(self, key: str) -> bool:
        """Whether ``key`` exists."""
        try:
            self._key(key)
        except HiveKeyError:
            return False
        return True

    def subkeys(self, key: str) -> Tuple[str, ...]:
        """The names of ``key``'s subkeys (empty when the key is missing)."""
        try:
            node = self._key(key)
        except HiveKeyError:
            return ()
        names: List[str] = []
        try:
            names.extend(str(sub.name) for sub in node.iter_subkeys())
        except Exception as exc:  # noqa: BLE001 - regipy raises many types on a corrupt hive
            self._broken(exc, key)
        return tuple(names)

    def values(self, key: str) -> Dict[str, RegData]:
        """``key``'s values by name (``""`` is the default value; empty for a missing key)."""
        try:
            node = self._key(key)
        except HiveKeyError:
            return {}
        found: Dict[str, RegData] = {}
        try:
            for value in node.iter_values(max_len=VALUE_LIMIT):
                found[str(value.name)] = _plain(value.value)
        except Exception as exc:  # noqa: BLE001 - regipy raises many types on a corrupt hive
            self._broken(exc, key)
        return found

    def value(self, key: str, name: str) -> RegData:
        """One value's data, ``None`` when the key or the value is missing (names ignore case)."""
        wanted = name.lower()
        for found, data in self.values(key).items():
            if found.lower() == wanted:
                return data
        return None

    def text(self, key: str, name: str) -> Optional[str]:
        """A value as text (REG_SZ/REG_EXPAND_SZ), ``None`` when missing or not text."""
        data = self.value(key, name)
        return data.rstrip("\0") if isinstance(data, str) else None


def _plain(data: object) -> RegData:
    if data is None or isinstance(data, (str, int, bytes)):
        return data
    if isinstance(data, (list, tuple)):
        return tuple(str(item) for item in data)
    return str(data)


def open_hive(root: HostRoot, path: str, area: str, gaps: List[Gap]) -> Optional[Hive]:
    """Parse the hive at host path ``path``; ``None`` (and a gap) when it cannot be read.

    An absent hive is ``None`` without a gap (the caller says what its absence means).
    """
    try:
        from regipy.registry import RegistryHive
    except ImportError:
        detail = "regipy is not installed here: registry hives are not read (reduced form)"
        gaps.append(Gap(area, HostPath(path), GapReason.CHECK_SKIPPED, detail))
        return None
    logging.getLogger("regipy").setLevel(logging.CRITICAL)  # its errors become our gaps
    try:
        data = root.read_bytes(path, HIVE_LIMIT)
    except HostReadError as exc:
        if exc.reason is not GapReason.VANISHED:
            gaps.append(Gap(area, HostPath(path), exc.reason, exc.detail))
        return None
    try:
        parsed = RegistryHive(_pipe_of(data))
    except Exception as exc:  # noqa: BLE001 - regipy raises many types on a malformed hive
        detail = f"not a readable registry hive: {type(exc).__name__}: {exc}"[:400]
        gaps.append(Gap(area, HostPath(path), GapReason.PARSE_ERROR, detail))
        return None
    return Hive(HostPath(path), parsed, area, gaps)


def _pipe_of(data: bytes) -> int:
    """A descriptor that reads ``data`` (a pipe fed by a thread), for regipy's ``open()``.

    regipy's documented constructor takes what ``open()`` takes; handing it a pipe keeps every
    read of the scanned tree in the host door (which may not be a local file at all).
    """
    read_end, write_end = os.pipe()

    def feed() -> None:
        with contextlib.suppress(OSError), os.fdopen(write_end, "wb") as sink:
            sink.write(data)

    threading.Thread(target=feed, name="hive-feed", daemon=True).start()
    return read_end
