"""The door to a disk image, read where it lies: never mounted, nothing written or extracted.

:func:`open_disk` opens the container and the volume system (:mod:`sitesweep.door.diskvol`),
opens every filesystem it has a reader for (ext2/3/4, XFS, NTFS, APFS: libyal's libfsext,
libfsxfs, libfsntfs, libfsapfs, from the optional ``images`` extra), and picks the host:

- the **root** is the filesystem holding an operating system (``/etc/os-release``,
  ``/usr/lib/os-release``, macOS's ``SystemVersion.plist`` or Windows' ``System32/config``; the
  first in disk order when several do); with none, the largest filesystem;
- other filesystems are **placed** where the root's ``/etc/fstab`` mounts them (by ``UUID=``,
  ``LABEL=``, ``PARTUUID=``, ``PARTLABEL=``, ``/dev/disk/by-*/`` or an LVM ``/dev/mapper/vg-lv``
  name);
- every volume not scanned (no reader for its type, encrypted, unreadable, not placed) is a
  coverage gap naming it, and :class:`DiskInfo` records what the disk holds.

The door serves the assembled tree as a host: symlinks resolve inside it exactly as in a
directory (an absolute target restarts at the image's ``/``, ``..`` stops there, 40 links at
most), special files are refused, reads are bounded by the callers as usual, and a corrupt
structure met while reading a path is a ``parse_error`` gap for that path, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple

from sitesweep.budget import SPARSE_MIN
from sitesweep.door.base import (
    DIR,
    FILE,
    LINK,
    MAX_SYMLINK_HOPS,
    OTHER,
    Listed,
    parts,
    regular_node,
)
from sitesweep.door.diskvol import (
    LIBYAL_ERRORS,
    LOCK,
    Media,
    Reader,
    Stream,
    Volume,
    Volumes,
    find_volumes,
    first_line,
    libyal,
    open_media,
    probe,
)
from sitesweep.door.oci import ImageError
from sitesweep.errors import HostReadError
from sitesweep.model import Gap, GapReason, HostPath

__all__ = ["DiskDoor", "DiskInfo", "VolumeFacts", "open_disk"]

READERS = ("ext2", "ext3", "ext4", "xfs", "ntfs", "apfs", "vfat")
"""Filesystem types read (the others are named in a gap)."""
OS_MARKERS: Tuple[Tuple[str, ...], ...] = (
    ("etc", "os-release"),
    ("usr", "lib", "os-release"),
    ("System", "Library", "CoreServices", "SystemVersion.plist"),
    ("Windows", "System32", "config"),
)
"""Files that tell a filesystem holds an operating system (what the OS layer reads)."""
MAX_FSTAB = 1 << 20
_NOT_MOUNTS = frozenset(
    [
        "swap",
        "proc",
        "sysfs",
        "tmpfs",
        "devpts",
        "devtmpfs",
        "securityfs",
        "cgroup",
        "cgroup2",
        "debugfs",
        "tracefs",
        "mqueue",
        "hugetlbfs",
        "efivarfs",
        "none",
        "auto_master",
    ]
)
"""fstab types that hold no files of the host's disks."""
_REMOTE = frozenset(
    [
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "sshfs",
        "9p",
        "virtiofs",
        "ceph",
        "glusterfs",
        "davfs",
        "overlay",
        "squashfs",
        "iso9660",
        "udf",
        "auto",
    ]
)
"""fstab types a live scan would not cross (network, layered, removable media)."""
FIRMLINKS = "/usr/share/firmlinks"
DATA_VOLUME = "/System/Volumes/Data"
"""Where macOS mounts the APFS data volume (its firmlinks point into it)."""
MAX_RAW_DIRECTORY = 64 << 20
"""Most bytes of one directory read to recover names that are not UTF-8."""
MAX_CACHED_DIRS = 1024
MAX_CACHED_ENTRIES = 200_000
"""Most entries held in cached listings (a huge directory evicts older listings)."""
"""Directories whose listing is kept (least recently used dropped first)."""
_NTFS_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns units since 1601
_NTFS_REPARSE = 0x400
_EXTENT_SPARSE = 0x1
"""The libyal extent flag of a hole (no blocks allocated)."""
_FAT_DIRECTORY = 0x10
"""The FAT attribute of a directory."""


@dataclass(frozen=True)
class VolumeFacts:
    """One volume of the disk, as ``image.json`` records it.

    Attributes:
        name: ``p1``, ``p5``, ``vg0/root``, ``p2/apfs1`` (an APFS volume), or ``disk``.
        scheme: ``gpt``, ``mbr``, ``lvm``, ``apfs`` or ``none`` (no partition table).
        type: the partition type (``0x83``, a GPT type GUID), or what holds it.
        offset: first byte on the disk (0 for logical and APFS volumes).
        size: bytes.
        filesystem: what its superblock says (``ext4``, ``vfat``, ``crypto_LUKS`` ...; ``""``
            when nothing is recognised).
        uuid: the filesystem UUID (``UUID=`` in fstab).
        label: the filesystem label (``LABEL=``).
        part_uuid: the partition's GUID or MBR id (``PARTUUID=``).
        mount_point: ``/`` for the root, where fstab placed it, or ``""`` when not scanned.
        scanned: whether its files are part of the scan.
        note: why it is not scanned, or how it was placed.
    """

    name: str
    scheme: str
    type: str
    offset: int
    size: int
    filesystem: str
    uuid: str
    label: str
    part_uuid: str
    mount_point: str
    scanned: bool
    note: str


@dataclass(frozen=True)
class DiskInfo:
    """What the disk image is and holds (``image.json``'s ``disk`` section)."""

    source: str
    format: str
    """``raw``, ``split raw``, ``qcow2``, ``vmdk``, ``vhd``, ``vhdx`` or ``ewf``."""
    sniffed: str
    """What in the file's bytes told its format."""
    files: Tuple[str, ...]
    """The files read (segments, extents)."""
    media_size: int
    partition_table: str
    """``gpt``, ``mbr`` or ``none``."""
    volumes: Tuple[VolumeFacts, ...]
    root: str
    """The name of the volume scanned as ``/`` (``""``: none could be read)."""
    root_reason: str
    """Why that one (the OS file found, or "largest filesystem: no OS found")."""
    acquisition: Tuple[Tuple[str, str], ...] = ()
    """What an E01 says of itself: stored hashes (``hash:MD5``) and acquisition headers."""


# -- filesystem readers ------------------------------------------------------------------------


class _Fs:
    """One opened filesystem: a libyal volume and how to read its entries."""

    posix = True

    def __init__(self, kind: str, volume: Any, dev: int, raw: Optional[Reader] = None) -> None:
        self.kind, self.volume, self.dev, self.raw = kind, volume, dev, raw
        self._side: Any = None
        self._inline: Dict[int, Optional[bytes]] = {}

    def inline(self, entry: Any, size: int) -> Optional[bytes]:
        """The content of an ext4 ``inline_data`` file of more than :data:`INLINE_HEAD` bytes,
        or ``None`` for any other file. libfsext 20260821 reads such a file as its first 60
        bytes and then zeros (``mkfs.ext4 -O inline_data``: /etc/passwd cut at byte 60), and
        gives the ``system.data`` attribute holding the rest only to the first entry object
        made for the inode in a volume; so a second volume over the same bytes, opened when
        first needed and again when full, reads each inode once, and the result is kept
        (called with :data:`LOCK` held)."""
        if size <= INLINE_HEAD or self.raw is None or not self.kind.startswith("ext"):
            return None
        if entry.get_number_of_extents():
            return None
        inode = int(entry.get_inode_number())
        if inode in self._inline:
            return self._inline[inode]
        if self._side is None or len(self._inline) >= INLINE_CACHE:
            self._side = type(self.volume)()
            self._side.open_file_object(Stream(self.raw))
            self._inline.clear()
        fresh = self._side.get_file_entry_by_inode(inode)
        data: Optional[bytes] = None
        if fresh.has_extended_attribute_by_name("system.data"):
            value = fresh.get_extended_attribute_by_name("system.data")
            rest = bytes(value.read_buffer_at_offset(value.get_size(), 0))
            data = (bytes(fresh.read_buffer_at_offset(INLINE_HEAD, 0)) + rest)[:size]
        self._inline[inode] = data
        return data

    def root(self) -> Any:
        return self.volume.get_root_directory()

    def children(self, entry: Any, bad: Optional[List[str]] = None) -> List[Tuple[str, Any]]:
        """The entries of a directory; one that cannot be read is described in ``bad``."""
        out = []
        raw: Optional[Dict[int, List[bytes]]] = None
        for index in range(entry.get_number_of_sub_file_entries()):
            try:
                child = entry.get_sub_file_entry(index)
                try:
                    name = child.get_name()
                except LIBYAL_ERRORS:
                    if raw is None:
                        raw = self._raw_names(entry)
                    name = _undecodable(raw, int(child.get_inode_number()))
                    if name is None:
                        raise
                if self._hidden(entry, child, name):
                    continue
                self.kind_of(child)
            except LIBYAL_ERRORS as exc:
                if bad is None:
                    raise
                bad.append(f"entry {index} of the directory unreadable: {first_line(exc)}")
                continue
            out.append((name, child))
        return out

    def _raw_names(self, directory: Any) -> Dict[int, List[bytes]]:
        """Names as stored, by inode, read from an ext directory's own blocks (the binding
        cannot give a name that is not UTF-8; Linux allows any bytes but ``/`` and NUL)."""
        names: Dict[int, List[bytes]] = {}
        if self.raw is None or not self.kind.startswith("ext"):
            return names
        total = 0
        for index in range(int(directory.get_number_of_extents() or 0)):
            offset, length, flags = directory.get_extent(index)
            total += int(length)
            if int(flags) & _EXTENT_SPARSE or total > MAX_RAW_DIRECTORY:
                continue
            _ext_entries(self.raw.read_at(int(offset), int(length)), names)
        return names

    def _hidden(self, directory: Any, child: Any, name: str) -> bool:
        return not name or name in (".", "..")

    def kind_of(self, entry: Any) -> int:
        fmt = stat.S_IFMT(entry.get_file_mode() or 0)
        if fmt == stat.S_IFREG:
            return FILE
        if fmt == stat.S_IFDIR:
            return DIR
        if fmt == stat.S_IFLNK:
            return LINK
        return OTHER

    def inode(self, entry: Any) -> int:
        return int(entry.get_inode_number())

    def link(self, entry: Any) -> str:
        return str(entry.get_symbolic_link_target() or "")

    def stat(self, entry: Any, kind: int) -> os.stat_result:
        mode = int(entry.get_file_mode() or 0)
        size = 0 if kind == DIR else int(entry.get_size() or 0)
        if kind == LINK:
            size = len(self.link(entry).encode("utf-8", "surrogateescape"))
        times = [
            int(entry.get_access_time_as_integer() or 0),
            int(entry.get_modification_time_as_integer() or 0),
            int(entry.get_inode_change_time_as_integer() or 0),
        ]
        return _stat_result(
            (
                mode,
                self.inode(entry),
                self.dev,
                int(entry.get_number_of_links() or 1),
                int(entry.get_owner_identifier() or 0),
                int(entry.get_group_identifier() or 0),
                size,
            ),
            times,
            _blocks(entry, size, kind),
        )

    def close(self) -> None:
        close = getattr(self.volume, "close", None)
        if close is not None:
            close()


class _Apfs(_Fs):
    def inode(self, entry: Any) -> int:
        return int(entry.get_identifier())

    def close(self) -> None:
        pass  # the container is closed with the image


class _Ntfs(_Fs):
    """NTFS: no POSIX mode or owner (files 0644, directories 0755, owner 0), FILETIME times;
    a reparse point with a target is a symlink (``\\??\\C:\\x`` becomes ``/x``)."""

    posix = False

    def _hidden(self, directory: Any, child: Any, name: str) -> bool:
        if not name or name in (".", ".."):
            return True
        # $MFT, $LogFile, $Bitmap ... in the root: the filesystem's own records, not files
        top = int(directory.get_file_reference()) & 0xFFFFFFFFFFFF == 5
        return top and int(child.get_file_reference()) & 0xFFFFFFFFFFFF < 16

    def kind_of(self, entry: Any) -> int:
        if (entry.get_file_attribute_flags() or 0) & _NTFS_REPARSE and self.link(entry):
            return LINK
        return DIR if entry.has_directory_entries_index() else FILE

    def inode(self, entry: Any) -> int:
        return int(entry.get_file_reference()) & 0xFFFFFFFFFFFF

    def link(self, entry: Any) -> str:
        try:
            target = str(entry.get_symbolic_link_target() or "")
        except LIBYAL_ERRORS:
            return ""
        target = target.replace("\\", "/")
        for prefix in ("/??/", "//?/"):
            if target.startswith(prefix):
                target = target[len(prefix) :]
        if len(target) >= 2 and target[1] == ":":
            target = target[2:] or "/"
        return target

    def stat(self, entry: Any, kind: int) -> os.stat_result:
        mode = {DIR: stat.S_IFDIR | 0o755, LINK: stat.S_IFLNK | 0o777}.get(
            kind, stat.S_IFREG | 0o644
        )
        size = 0 if kind == DIR else int(entry.get_size() or 0)
        times = [
            _filetime(entry.get_access_time_as_integer()),
            _filetime(entry.get_modification_time_as_integer()),
            _filetime(entry.get_entry_modification_time_as_integer()),
        ]
        return _stat_result(
            (mode, self.inode(entry), self.dev, 1, 0, 0, size), times, _blocks(entry, size, kind)
        )


class _Fat(_Fs):
    """FAT12/16/32 (EFI system partitions): no mode or owner (files 0644, directories 0755,
    owner 0). Times are read from the entry's own 32 bytes (the binding's entry identifier is
    their offset in the volume): libfsfat 20260826 puts them one month late. FAT stores local
    time without a zone; it is taken as UTC."""

    posix = False

    def __init__(self, kind: str, volume: Any, dev: int, raw: Reader) -> None:
        super().__init__(kind, volume, dev, raw)
        self._raw = raw  # never None here

    def kind_of(self, entry: Any) -> int:
        return DIR if int(entry.get_file_attribute_flags() or 0) & _FAT_DIRECTORY else FILE

    def inode(self, entry: Any) -> int:
        return int(entry.get_identifier())

    def link(self, entry: Any) -> str:
        return ""

    def stat(self, entry: Any, kind: int) -> os.stat_result:
        mode = stat.S_IFDIR | 0o755 if kind == DIR else stat.S_IFREG | 0o644
        size = 0 if kind == DIR else int(entry.get_size() or 0)
        times = _fat_times(self._raw.read_at(self.inode(entry), 32), entry)
        return _stat_result(
            (mode, self.inode(entry), self.dev, 1, 0, 0, size), times, _blocks(entry, size, kind)
        )


def _fat_times(raw: bytes, entry: Any) -> List[int]:
    """Access, modification and creation time (ns) of a FAT short directory entry."""
    flags = int(entry.get_file_attribute_flags() or 0)
    if len(raw) < 32 or raw[11] & 0x3F != flags & 0x3F:
        return [0, 0, 0]  # not the entry the binding read (the root has none)
    ctime_tenth, ctime, cdate, adate = struct.unpack_from("<BHHH", raw, 13)
    mtime, mdate = struct.unpack_from("<HH", raw, 22)
    return [
        _fat_ns(adate, 0, 0),
        _fat_ns(mdate, mtime, 0),
        _fat_ns(cdate, ctime, ctime_tenth),
    ]


def _fat_ns(date: int, time: int, tenths: int) -> int:
    if not date:
        return 0
    try:
        when = datetime(
            1980 + (date >> 9),
            (date >> 5) & 0xF,
            date & 0x1F,
            time >> 11,
            (time >> 5) & 0x3F,
            min(59, (time & 0x1F) * 2),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return 0
    return int(when.timestamp()) * 1_000_000_000 + tenths * 10_000_000


def _stat_result(head: Tuple[int, ...], times_ns: List[int], blocks: int) -> os.stat_result:
    """An ``os.stat_result`` as ``os.lstat`` makes one: float times computed the way it does,
    the ``*_ns`` times, and ``st_blocks`` (what the sparse-file check reads)."""
    floats = []
    for ns in times_ns:
        sec, nsec = divmod(ns, 1_000_000_000)
        floats.append(sec + nsec * 1e-9)
    extra = {
        "st_atime_ns": times_ns[0],
        "st_mtime_ns": times_ns[1],
        "st_ctime_ns": times_ns[2],
        "st_blocks": blocks,
    }
    return os.stat_result((*head, *floats), extra)


def _blocks(entry: Any, size: int, kind: int) -> int:
    """512-byte blocks allocated: the extents that are not holes, for a file large enough for
    the sparse-file check to ask (smaller ones: the size rounded up)."""
    if kind != FILE or size < SPARSE_MIN:
        return (size + 511) // 512
    allocated = 0
    for index in range(int(entry.get_number_of_extents() or 0)):
        _offset, length, flags = entry.get_extent(index)
        if not int(flags) & _EXTENT_SPARSE:
            allocated += int(length)
    return (allocated + 511) // 512


def _filetime(value: Optional[int]) -> int:
    """An NTFS FILETIME (100 ns since 1601) in nanoseconds since 1970."""
    if not value:
        return 0
    return (int(value) - _NTFS_EPOCH) * 100


class _Node:
    """An entry of the assembled tree: which filesystem, the library's entry, its kind."""

    __slots__ = ("entry", "fs", "key", "kind")

    def __init__(self, fs: _Fs, entry: Any, kind: int) -> None:
        self.fs, self.entry, self.kind = fs, entry, kind
        self.key: Optional[Tuple[int, int]] = None
        """(filesystem, inode) once asked: what a directory's listing is cached by."""


def _ext_entries(block: bytes, names: Dict[int, List[bytes]]) -> None:
    """Add the (inode, name bytes) of the linear ext directory entries in ``block``."""
    at = 0
    while at + 8 <= len(block):
        inode, rec_len, name_len = struct.unpack_from("<IHB", block, at)
        if rec_len < 8 or at + rec_len > len(block):
            return
        if inode and 8 + name_len <= rec_len:
            name = bytes(block[at + 8 : at + 8 + name_len])
            if name not in (b".", b".."):
                names.setdefault(inode, []).append(name)
        at += rec_len


def _undecodable(raw: Dict[int, List[bytes]], inode: int) -> Optional[str]:
    """The next name of ``inode`` that is not UTF-8, as ``os.scandir`` would give it."""
    for name in raw.get(inode, []):
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            raw[inode].remove(name)
            return name.decode("utf-8", "surrogateescape")
    return None


def _folded(listing: Dict[str, _Node], name: str) -> Tuple[Optional[_Node], str]:
    """The entry named ``name`` without regard to case, and its name as stored."""
    folded = name.casefold()
    for stored, node in listing.items():
        if stored.casefold() == folded:
            return node, stored
    return None, name


INLINE_HEAD = 60
"""Bytes of an ext4 inline-data file held in the inode's block map; the rest is the value of
its ``system.data`` extended attribute (only the kernel can set a ``system.`` attribute)."""
INLINE_CACHE = 65_536
"""Inline files whose content an ext filesystem keeps (each at most an inode's size)."""


class _File:
    """A regular file of a filesystem in the image, read at offsets (nothing copied out)."""

    def __init__(self, host: str, node: _Node, size: int, inline: Optional[bytes] = None) -> None:
        self._host, self._node, self.size, self._pos = host, node, size, 0
        self._inline = inline

    def read(self, size: int) -> bytes:
        want = min(size, self.size - self._pos)
        if want <= 0:
            return b""
        if self._inline is not None:  # at most a block: held in memory
            data = self._inline[self._pos : self._pos + want]
            self._pos += len(data)
            return data
        try:
            with LOCK:
                data = bytes(self._node.entry.read_buffer_at_offset(want, self._pos))
        except LIBYAL_ERRORS as exc:
            raise _corrupt(self._host, self._node.fs, exc) from exc
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._pos = self.size


def _corrupt(host: str, fs: _Fs, exc: BaseException) -> HostReadError:
    detail = f"unreadable {fs.kind} structure in the image: {first_line(exc)}"
    return HostReadError(host, GapReason.PARSE_ERROR, detail)


# -- the door ----------------------------------------------------------------------------------


class DiskDoor:
    """A door backend serving a disk image's host filesystem (see the module docstring).

    Use :func:`open_disk` to build one.
    """

    is_live = False

    def __init__(self, info: DiskInfo, root: Optional[_Fs], media: Media, keep: List[Any]):
        self.info = info
        self.static_gaps: Tuple[Gap, ...] = ()
        """Volumes not scanned and tables not read, known when the image was opened."""
        self._found: Dict[Tuple[str, str], Gap] = {}
        self._media = media
        self._keep = keep
        self._fss: List[_Fs] = [root] if root is not None else []
        self._mounts: Dict[Tuple[str, ...], _Fs] = {}
        self._mounted: Dict[Tuple[str, ...], Dict[str, _Node]] = {}
        """Per directory holding mount points: the mounted roots, by name."""
        self._dirs: OrderedDict[Tuple[int, int], Dict[str, _Node]] = OrderedDict()
        self._cached = 0
        self._parents: OrderedDict[Tuple[str, ...], Tuple[Tuple[str, ...], Tuple[_Node, ...]]] = (
            OrderedDict()
        )
        """Directories resolved by a plain path (no link, no ``..``): their names and nodes."""
        self._root = self._root_node(root) if root is not None else None

    def close(self) -> None:
        with LOCK:
            self._dirs.clear()
            self._cached = 0
            while self._fss:
                with contextlib.suppress(*LIBYAL_ERRORS):
                    self._fss.pop().close()
            while self._keep:
                closer = self._keep.pop()
                with contextlib.suppress(*LIBYAL_ERRORS):
                    closer()
            self._media.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    @property
    def gaps(self) -> Tuple[Gap, ...]:
        """Volumes not scanned, and structures met during the scan that could not be read
        (a directory entry the library cannot open), each naming what and why."""
        with LOCK:
            return (*self.static_gaps, *self._found.values())

    def mount(self, at: str, fs: _Fs, entry: Any = None) -> None:
        """Serve ``fs`` (its directory ``entry``, or its root) at ``at``, a directory path of
        the root filesystem."""
        if fs not in self._fss:
            self._fss.append(fs)
        where = tuple(parts(at))
        if not where:
            return
        self._parents.clear()  # a path resolved before may now cross the mount point
        self._mounts[where] = fs
        if entry is None:
            node = self._root_node(fs)
        else:
            with LOCK:
                node = _Node(fs, entry, fs.kind_of(entry))
        self._mounted.setdefault(where[:-1], {})[where[-1]] = node

    # -- the door ------------------------------------------------------------------------------

    def lstat(self, host: str) -> os.stat_result:
        node = self._node(host, follow=False)
        try:
            with LOCK:
                return node.fs.stat(node.entry, node.kind)
        except LIBYAL_ERRORS as exc:
            raise _corrupt(host, node.fs, exc) from exc

    def readlink(self, host: str) -> str:
        node = self._node(host, follow=False)
        if node.kind != LINK:
            raise HostReadError(host, GapReason.OS_ERROR, "Invalid argument: not a symbolic link")
        with LOCK:
            return node.fs.link(node.entry)

    def scandir(self, host: str, follow: bool = True, inode: int = 0) -> List[Listed]:
        names, node, rest = self._walk(host, follow_last=follow)
        if rest or node is None:
            raise HostReadError(host, GapReason.VANISHED, "No such file or directory")
        if node.kind == LINK:
            raise HostReadError(host, GapReason.SYMLINK_LOOP, "symbolic link: not followed")
        if node.kind != DIR:
            raise HostReadError(host, GapReason.VANISHED, "Not a directory")
        children = self._children(host, tuple(names), node)
        with LOCK:
            return [(n, c.kind, c.fs.inode(c.entry)) for n, c in children.items()]

    def open(self, host: str, follow: bool, seen: Optional[os.stat_result] = None) -> _File:
        # an image does not change while it is read: the lookup is as cheap as lstat, ``seen``
        # needs no comparing
        node = regular_node(host, follow, lambda last: self._node(host, follow=last))
        try:
            with LOCK:
                size = int(node.entry.get_size() or 0)
                inline = node.fs.inline(node.entry, size)
        except LIBYAL_ERRORS as exc:
            raise _corrupt(host, node.fs, exc) from exc
        if inline is not None and len(inline) < size:
            detail = f"inline data of {len(inline)} bytes for a file of {size}: not read"
            raise HostReadError(host, GapReason.PARSE_ERROR, detail)
        return _File(host, node, size, inline)

    def resolve(self, host: str) -> HostPath:
        names, _node, rest = self._walk(host, follow_last=True)
        return HostPath("/" + "/".join([*names, *rest]))

    # -- lookup --------------------------------------------------------------------------------

    def _root_node(self, fs: _Fs) -> _Node:
        with LOCK:
            return _Node(fs, fs.root(), DIR)

    def _children(self, host: str, names: Tuple[str, ...], node: _Node) -> Dict[str, _Node]:
        """The listing of directory ``node`` (at ``names``), mount points laid over it."""
        try:
            with LOCK:
                key = node.key
                if key is None:
                    key = node.key = (node.fs.dev, node.fs.inode(node.entry))
                cached = self._dirs.get(key)
                if cached is None:
                    bad: List[str] = []
                    cached = {
                        name: _Node(node.fs, entry, node.fs.kind_of(entry))
                        for name, entry in node.fs.children(node.entry, bad)
                    }
                    where = "/" + "/".join(names)
                    for what in bad:
                        gap = Gap("image", HostPath(where), GapReason.PARSE_ERROR, what)
                        self._found.setdefault((where, what), gap)
                    self._dirs[key] = cached
                    self._cached += len(cached)
                    while len(self._dirs) > 1 and (
                        len(self._dirs) > MAX_CACHED_DIRS or self._cached > MAX_CACHED_ENTRIES
                    ):
                        self._cached -= len(self._dirs.popitem(last=False)[1])
                else:
                    self._dirs.move_to_end(key)
        except LIBYAL_ERRORS as exc:
            raise _corrupt(host, node.fs, exc) from exc
        mounted = self._mounted.get(names)
        if mounted is None:
            return cached
        here = dict(cached)
        here.update(mounted)
        return here

    def _node(self, host: str, follow: bool) -> _Node:
        _names, node, rest = self._walk(host, follow_last=follow)
        if rest or node is None:
            raise HostReadError(host, GapReason.VANISHED, "No such file or directory")
        return node

    def _start(
        self, given: List[str], parent: Tuple[str, ...]
    ) -> Tuple[List[str], List[_Node], Deque[str]]:
        """Where a walk of ``given`` starts: at its parent when that was resolved before."""
        assert self._root is not None  # noqa: S101 - _walk returns first without a root
        known = self._parents.get(parent) if parent else None
        if known is None:
            return [], [self._root], deque(given)
        self._parents.move_to_end(parent)
        return list(known[0]), list(known[1]), deque(given[-1:])

    def _remember(self, parent: Tuple[str, ...], names: List[str], stack: List[_Node]) -> None:
        self._parents[parent] = (tuple(names), tuple(stack))
        if len(self._parents) > MAX_CACHED_DIRS:
            self._parents.popitem(last=False)

    def _child(
        self, host: str, names: List[str], here: _Node, part: str
    ) -> Tuple[Optional[_Node], str]:
        """The entry ``part`` of directory ``here`` and its name as stored (NTFS and FAT match
        names without case, as Windows does)."""
        listing = self._children(host, tuple(names), here)
        child = listing.get(part)
        if child is None and not here.fs.posix:
            return _folded(listing, part)
        return child, part

    def _walk(self, host: str, follow_last: bool) -> Tuple[List[str], Optional[_Node], List[str]]:
        """Resolve ``host`` inside the image; return the canonical names, the node (``None``
        when missing) and the unresolved tail (kept as given)."""
        if self._root is None:
            return [], None, parts(host) or [""]
        trailing = host.endswith("/") or host.endswith("/.") or host.endswith("/..")
        given = parts(host)
        parent = tuple(given[:-1])
        names, stack, pending = self._start(given, parent)
        plain = len(pending) > 1 and ".." not in parent  # no link nor ".." met in the parent
        hops = 0
        while pending:
            if plain and len(pending) == 1 and len(names) == len(parent):
                self._remember(parent, names, stack)
            part = pending.popleft()
            if part == "..":
                if names:
                    names.pop()
                    stack.pop()
                continue
            child, part = self._child(host, names, stack[-1], part)
            if child is None:
                return names, None, [part, *pending]
            if child.kind == LINK and (pending or follow_last or trailing):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    detail = "too many levels of symbolic links"
                    raise HostReadError(host, GapReason.SYMLINK_LOOP, detail)
                with LOCK:
                    target = child.fs.link(child.entry)
                if target.startswith("/"):
                    del names[:]
                    del stack[1:]
                pending.extendleft(reversed(parts(target)))
                plain = False
                continue
            if pending and child.kind != DIR:
                return [*names, part], None, list(pending)
            names.append(part)
            stack.append(child)
        node = stack[-1]
        if trailing and node.kind != DIR:
            return names, None, [""]
        return names, node, []


# -- opening a disk image ----------------------------------------------------------------------


@dataclass
class _Candidate:
    volume: Volume
    facts: Dict[str, Any]
    fs: Optional[_Fs] = None
    marker: str = ""


def open_disk(path: Path, kind: str, why: str) -> DiskDoor:
    """Open the disk image ``path`` (``kind`` as sniffed) as a door; see the module docstring.

    Raises:
        ImageError: the extra is missing, or the container or its volume system cannot be read
            at all (a single unreadable filesystem is a gap, not an error).
    """
    media = open_media(path, kind)
    keep: List[Any] = []
    try:
        return _assemble(path, kind, why, media, keep)
    except BaseException:
        for closer in reversed(keep):
            with contextlib.suppress(*LIBYAL_ERRORS):
                closer()
        media.close()
        raise


def _assemble(path: Path, kind: str, why: str, media: Media, keep: List[Any]) -> DiskDoor:
    source = str(path)
    found = find_volumes(media.reader, source)
    keep.extend(found.closers)
    gaps: List[Gap] = [
        Gap("image", None, GapReason.PARSE_ERROR, f"{source}: {name}: {what}")
        for name, what in found.problems
    ]
    gaps += [Gap("image", None, GapReason.CHECK_SKIPPED, f"{source}: {p}") for p in media.problems]
    candidates: List[_Candidate] = []
    for volume in found.volumes:
        candidates.extend(_open_volume(volume, source, keep, len(candidates)))
    readable = [c for c in candidates if c.fs is not None]
    if not readable:
        raise ImageError(_nothing_readable(source, candidates))
    root, reason = _pick_root(readable)
    root.facts.update(mount_point="/", scanned=True, note=reason)
    info = _info(path, kind, why, media, found, candidates, root, reason)
    door = DiskDoor(info, root.fs, media, keep)
    _place(door, root, candidates, source, gaps)
    _firmlinks(door, root, readable)
    gaps.extend(_not_scanned(source, c) for c in candidates if not c.facts.get("scanned"))
    gaps.extend(_cut_short(source, c) for c in candidates if c.facts.get("scanned") and _short(c))
    door.info = _info(path, kind, why, media, found, candidates, root, reason)
    door.static_gaps = tuple(gaps)
    return door


def _open_volume(volume: Volume, source: str, keep: List[Any], seq: int) -> List[_Candidate]:
    head = volume.reader.read_at(0, 65536 + 4096)
    fstype, fsuuid, label = probe(head)
    facts: Dict[str, Any] = {
        "name": volume.name,
        "scheme": volume.scheme,
        "type": volume.type,
        "offset": volume.offset,
        "size": volume.size,
        "filesystem": fstype,
        "uuid": fsuuid,
        "label": label,
        "part_uuid": volume.uuid,
        "part_label": volume.label,
        "mount_point": "",
        "scanned": False,
        "note": "",
    }
    cand = _Candidate(volume, facts)
    if len(head) < min(volume.size, 4096):
        facts["note"] = "its first sectors cannot be read (truncated image?)"
        return [cand]
    if fstype == "apfs":
        return _open_apfs(volume, source, facts, keep, seq)
    if fstype not in READERS:
        facts["note"] = _why_not(fstype, str(facts["type"]))
        return [cand]
    module, label_of = {
        "xfs": ("pyfsxfs", None),
        "ntfs": ("pyfsntfs", "get_name"),
        "vfat": ("pyfsfat", None),
    }.get(fstype, ("pyfsext", None))
    try:
        lib = libyal(module, f"{source}: {volume.name} ({fstype})")
    except ImageError as exc:
        facts["note"] = str(exc)
        return [cand]
    try:
        with LOCK:
            handle = lib.volume()
            handle.open_file_object(Stream(volume.reader))
            if fstype == "vfat":
                cand.fs = _Fat(fstype, handle, seq + 1, volume.reader)
            else:
                reader = _Ntfs if fstype == "ntfs" else _Fs
                cand.fs = reader(fstype, handle, seq + 1, volume.reader)
            cand.fs.root()
            if label_of is not None and not facts["label"]:
                facts["label"] = str(getattr(handle, label_of)() or "")
    except LIBYAL_ERRORS as exc:
        facts["note"] = f"{fstype} filesystem unreadable (corrupt or truncated): {first_line(exc)}"
        cand.fs = None
    return [cand]


def _open_apfs(
    volume: Volume, source: str, facts: Dict[str, Any], keep: List[Any], seq: int
) -> List[_Candidate]:
    try:
        pyfsapfs = libyal("pyfsapfs", f"{source}: {volume.name} (apfs)")
    except ImageError as exc:
        facts["note"] = str(exc)
        return [_Candidate(volume, facts)]
    out: List[_Candidate] = []
    try:
        with LOCK:
            container = pyfsapfs.container()
            container.open_file_object(Stream(volume.reader))
            keep.append(container.close)
            for index in range(container.get_number_of_volumes()):
                apfs = container.get_volume(index)
                sub = dict(facts)
                sub.update(
                    name=f"{volume.name}/apfs{index + 1}",
                    scheme="apfs",
                    type=f"APFS volume in {volume.name}",
                    offset=0,
                    size=int(apfs.get_size() or 0),
                    uuid=str(apfs.get_identifier() or ""),
                    label=str(apfs.get_name() or ""),
                )
                cand = _Candidate(volume, sub)
                if apfs.is_locked():
                    sub["note"] = "encrypted APFS volume (locked): not read"
                else:
                    cand.fs = _Apfs("apfs", apfs, seq + len(out) + 1)
                    cand.fs.root()
                out.append(cand)
    except LIBYAL_ERRORS as exc:
        facts["note"] = f"apfs container unreadable (corrupt or truncated): {first_line(exc)}"
        return [*out, _Candidate(volume, facts)]
    return out or [_Candidate(volume, facts)]


BIOS_BOOT = "21686148-6449-6e6f-744e-656564454649"
"""The GPT type of a BIOS boot partition: GRUB's core image, raw, on every cloud image's disk."""
_NO_FILES = "BIOS boot partition: boot loader code, no files"


def _short(cand: _Candidate) -> bool:
    """Whether an ext filesystem's last block (its superblock's block count) lies past the end
    of what the image holds: a truncated acquisition. The files read are right, but whatever
    lay in the missing part (a directory, a file's extents) would not be found."""
    if cand.fs is None or not cand.fs.kind.startswith("ext"):
        return False
    head = cand.volume.reader.read_at(1024, 1024)
    if len(head) < 1024 or head[56:58] != b"\x53\xef":
        return False
    log, blocks = struct.unpack_from("<I", head, 24)[0], struct.unpack_from("<I", head, 4)[0]
    if struct.unpack_from("<I", head, 96)[0] & 0x80:  # 64bit: the count's high half
        blocks |= struct.unpack_from("<I", head, 0x150)[0] << 32
    end = blocks * (1024 << min(log, 16))
    return end > 0 and not cand.volume.reader.read_at(end - 1, 1)


def _cut_short(source: str, cand: _Candidate) -> Gap:
    facts = cand.facts
    detail = (
        f"{source}: volume {facts['name']} ({facts['filesystem']}) is cut short: the image "
        "ends before the filesystem does (a truncated copy?); what lay past its end is unread"
    )
    return Gap("image", None, GapReason.PARSE_ERROR, detail)


def _why_not(fstype: str, part_type: str = "") -> str:
    if not fstype and part_type.lower() == BIOS_BOOT:
        return _NO_FILES
    if fstype in ("crypto_LUKS", "BitLocker"):
        return f"encrypted volume ({fstype}): not read"
    if fstype == "swap":
        return "swap space: no files"
    if fstype:
        return f"{fstype} filesystem: no reader for it"
    return "no filesystem recognised"


def _nothing_readable(source: str, candidates: List[_Candidate]) -> str:
    if not candidates:
        return f"{source}: no volume found on the disk"
    said = "; ".join(f"{c.facts['name']}: {c.facts['note']}" for c in candidates[:6])
    return f"{source}: no filesystem of the disk can be read ({said})"


def _lookup(fs: _Fs, names: Tuple[str, ...]) -> bool:
    """Whether ``names`` exists in ``fs`` (no link followed; names matched without case on
    NTFS and FAT)."""
    return _entry(fs, names) is not None


def _entry(fs: _Fs, names: Tuple[str, ...]) -> Any:
    """The library's entry at ``names`` in ``fs`` (``None`` when missing or unreadable)."""
    try:
        with LOCK:
            entry = fs.root()
            for name in names:
                children = dict(fs.children(entry))
                found = children.get(name)
                if found is None and not fs.posix:
                    folded = {n.casefold(): e for n, e in children.items()}
                    found = folded.get(name.casefold())
                if found is None:
                    return None
                entry = found
            return entry
    except LIBYAL_ERRORS:
        return None


def _pick_root(readable: List[_Candidate]) -> Tuple[_Candidate, str]:
    systems = []
    for cand in readable:
        for marker in OS_MARKERS:
            if cand.fs is not None and _lookup(cand.fs, marker):
                cand.marker = "/" + "/".join(marker)
                systems.append(cand)
                break
    if systems:
        for other in systems[1:]:  # a dual-boot disk: one host per run, the first in disk order
            other.facts["note"] = (
                f"holds another operating system ({other.marker}): not scanned, the scan is of "
                f"the first one on the disk ({systems[0].facts['name']})"
            )
        return systems[0], f"holds {systems[0].marker}"
    if len(readable) == 1:
        return readable[0], "the only filesystem (no operating system file found)"
    largest = max(readable, key=lambda c: int(c.facts["size"]))
    return largest, "the largest filesystem (no operating system file found on any)"


def _place(
    door: DiskDoor, root: _Candidate, candidates: List[_Candidate], source: str, gaps: List[Gap]
) -> None:
    """Mount the other filesystems where the root's ``/etc/fstab`` says; a local filesystem
    it mounts that is not on this disk is a gap at its mount point."""
    others = [c for c in candidates if c is not root]
    for spec, where, fstype, options in _fstab(_read_fstab(door)):
        if where == "/" or not where.startswith("/") or "bind" in options.split(","):
            continue
        match = next((c for c in others if _names(c, spec)), None)
        if match is None:
            if _names(root, spec):
                continue
            reason = GapReason.NOT_CROSSED if _remote(fstype) else GapReason.CHECK_SKIPPED
            detail = f"/etc/fstab mounts {spec} ({fstype}) here: it is not on this disk image"
            gaps.append(Gap("image", HostPath(where), reason, detail))
            continue
        if match.fs is None or match.facts.get("scanned"):
            continue
        try:
            node = door._node(where, follow=True)
        except HostReadError:
            node = None
        if node is None or node.kind != DIR:
            note = f"fstab mounts it at {where}, which is no directory of the root filesystem"
            match.facts["note"] = note
            continue
        door.mount(str(door.resolve(where)), match.fs)
        match.facts.update(mount_point=where, scanned=True, note=f"placed by /etc/fstab ({spec})")


def _remote(fstype: str) -> bool:
    """A network or virtual filesystem (a live scan does not cross those either)."""
    return fstype in _REMOTE or fstype.startswith("fuse")


def _firmlinks(door: DiskDoor, root: _Candidate, readable: List[_Candidate]) -> None:
    """macOS: join the data volume to the system volume as macOS does: each line of the
    system's ``/usr/share/firmlinks`` (``/Users<TAB>Users``) serves that directory of the data
    volume at that path, and the data volume's other top-level entries are served under
    ``/System/Volumes/Data`` (each file once: the firmlinked ones are not repeated there, as a
    live scan prunes ``/System/Volumes/Data``)."""
    text = _read_fstab(door, FIRMLINKS)
    others = [c for c in readable if c is not root and c.fs is not None]
    others = [c for c in others if not c.facts.get("scanned")]
    if not text or not others:
        return
    data = next((c for c in others if str(c.facts["label"]).lower().endswith("data")), None)
    if data is None:
        data = next((c for c in others if c.fs and _lookup(c.fs, ("Users",))), None)
    if data is None or data.fs is None:
        return
    joined: List[str] = []
    for line in text.splitlines():
        at, _, target = line.strip().partition("\t")
        entry = _entry(data.fs, tuple(parts(target))) if at.startswith("/") and target else None
        if entry is not None and data.fs.kind_of(entry) == DIR:
            door.mount(at, data.fs, entry)
            joined.append("/".join(parts(target)))
    try:  # the rest of the data volume, each once: under /System/Volumes/Data, as macOS shows it
        with LOCK:
            rest = [(n, e) for n, e in data.fs.children(data.fs.root()) if n not in joined]
    except LIBYAL_ERRORS:
        rest = []
    for name, entry in rest:
        door.mount(f"{DATA_VOLUME}/{name}", data.fs, entry)
    note = (
        f"data volume joined to the system volume by {FIRMLINKS} ({len(joined)} firmlinks), "
        f"the rest of it under {DATA_VOLUME}"
    )
    data.facts.update(mount_point=DATA_VOLUME, scanned=True, note=note)


def _read_fstab(door: DiskDoor, path: str = "/etc/fstab") -> str:
    try:
        handle = door.open(path, True)
    except HostReadError:
        return ""
    try:
        return handle.read(MAX_FSTAB).decode("utf-8", "replace")
    except HostReadError:
        return ""


def _fstab(text: str) -> List[Tuple[str, str, str, str]]:
    """(what, where, type, options) for each ``/etc/fstab`` line that mounts a filesystem
    (comments, swap and kernel filesystems skipped)."""
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 3 or fields[2] in _NOT_MOUNTS:
            continue
        where = fields[1].replace("\\040", " ")
        out.append((fields[0], where, fields[2], fields[3] if len(fields) > 3 else ""))
    return out


def _names(cand: _Candidate, spec: str) -> bool:
    """Whether fstab's ``spec`` names this volume."""
    facts = cand.facts
    key, _, value = spec.partition("=")
    if value:
        wanted = {
            "UUID": facts["uuid"],
            "LABEL": facts["label"],
            "PARTUUID": facts["part_uuid"],
            "PARTLABEL": facts["part_label"],
        }.get(key.upper(), "")
        return bool(wanted) and wanted.lower() == value.strip('"').lower()
    for prefix, field in (
        ("/dev/disk/by-uuid/", "uuid"),
        ("/dev/disk/by-label/", "label"),
        ("/dev/disk/by-partuuid/", "part_uuid"),
        ("/dev/disk/by-partlabel/", "part_label"),
    ):
        if spec.startswith(prefix):
            have = str(facts[field])
            return bool(have) and have.lower() == spec[len(prefix) :].lower()
    if facts["scheme"] == "lvm" and "/" in facts["name"]:
        group, _, lv = str(facts["name"]).partition("/")
        mapper = f"/dev/mapper/{group.replace('-', '--')}-{lv.replace('-', '--')}"
        return spec in (mapper, f"/dev/{group}/{lv}")
    return False


def _not_scanned(source: str, cand: _Candidate) -> Gap:
    facts = cand.facts
    what = facts["filesystem"] or "unknown content"
    note = facts["note"] or "not mounted by the root filesystem's /etc/fstab: not scanned"
    detail = f"{source}: volume {facts['name']} ({what}, {facts['size']} bytes): {note}"
    reason = GapReason.PARSE_ERROR if "unreadable" in note else GapReason.CHECK_SKIPPED
    if facts["filesystem"] == "swap" or note == _NO_FILES:
        reason = GapReason.NOT_CROSSED  # paged memory, boot code: no files a check could read
    if not facts["note"]:
        facts["note"] = note
    return Gap("image", None, reason, detail)


def _info(
    path: Path,
    kind: str,
    why: str,
    media: Media,
    found: Volumes,
    candidates: List[_Candidate],
    root: _Candidate,
    reason: str,
) -> DiskInfo:
    volumes = tuple(
        VolumeFacts(
            name=str(c.facts["name"]),
            scheme=str(c.facts["scheme"]),
            type=str(c.facts["type"]),
            offset=int(c.facts["offset"]),
            size=int(c.facts["size"]),
            filesystem=str(c.facts["filesystem"]),
            uuid=str(c.facts["uuid"]),
            label=str(c.facts["label"]),
            part_uuid=str(c.facts["part_uuid"]),
            mount_point=str(c.facts["mount_point"]),
            scanned=bool(c.facts["scanned"]),
            note=str(c.facts["note"]),
        )
        for c in candidates
    )
    return DiskInfo(
        source=str(path),
        format=media.format,
        sniffed=why,
        files=media.files,
        media_size=media.reader.size,
        partition_table=found.table,
        volumes=volumes,
        root=str(root.facts["name"]),
        root_reason=reason,
        acquisition=media.acquisition,
    )
