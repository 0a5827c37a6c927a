"""Disk image containers and volume systems: from an image file to the volumes it holds.

Layers, each a :class:`Reader` (``size`` and ``read_at``) over the one below:

- the **container** (:func:`open_media`): raw (one file or a split ``.001``, ``.002`` ... set,
  read with ``pread``), qcow2, VMDK, VHD/VHDX and EWF (E01) through the libyal readers of the
  optional ``images`` extra; every file is opened here, read-only, ``O_NOFOLLOW``, regular files
  only, and handed to the library as a file object (the library never opens a path itself);
- the **volume system** (:func:`find_volumes`): GPT (libvsgpt), MBR with its extended-partition
  chain (parsed here: 4 primary entries, at most :data:`MAX_LOGICAL` logical ones, a loop in the
  chain stops it), LVM2 physical volumes (libvslvm; each logical volume is a volume), or none (a
  bare filesystem);
- :func:`probe` names the filesystem on a volume from its superblock, with its UUID and label
  (what ``/etc/fstab`` names it by).

Nothing is written, mounted or extracted. The libyal objects are not shared between threads:
every call into them holds :data:`LOCK`.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import stat
import struct
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, List, Optional, Protocol, Tuple

from sitesweep.door.oci import FileWindow, ImageError
from sitesweep.door.sniff import EWF, OVA, QCOW2, RAW, VHD, VHDX, VMDK, split_segments

__all__ = [
    "EXTRA_HINT",
    "LOCK",
    "MAX_LOGICAL",
    "Media",
    "Reader",
    "Stream",
    "Volume",
    "find_volumes",
    "libyal",
    "open_media",
    "probe",
]

LOCK = threading.RLock()
"""Held around every call into a libyal object (they are not made to be shared by threads)."""
EXTRA_HINT = "pip install --require-hashes -r requirements-images.lock"
"""How to install the optional ``images`` extra (the libyal readers)."""
MAX_LOGICAL = 128
"""Most logical partitions followed in an MBR extended-partition chain."""
MAX_VOLUMES = 256
"""Most volumes (partitions and logical volumes) taken from one image."""
MAX_SEGMENTS = 999
"""Most segment files of an EWF image."""
SECTOR = 512
_LIBYAL = frozenset(
    (
        "pyewf",
        "pyvmdk",
        "pyvhdi",
        "pyvsgpt",
        "pyvslvm",
        "pyfsext",
        "pyfsntfs",
        "pyfsxfs",
        "pyfsapfs",
        "pyfsfat",
    )
)


def libyal(name: str, what: str) -> ModuleType:
    """Import a libyal binding of the ``images`` extra, or say how to install it.

    Raises:
        ImageError: the binding is not installed (one line naming the extra).
    """
    if name not in _LIBYAL:
        raise ValueError(f"{name} is not a binding of the images extra")
    try:
        return importlib.import_module(name)  # noqa: TID251 - a fixed allowlist, never a scanned name
    except ImportError as exc:
        raise ImageError(
            f"{what} needs the optional 'images' extra ({name} is not installed): {EXTRA_HINT}"
        ) from exc


def first_line(exc: BaseException) -> str:
    """A library error as one short line. A libyal message is the whole call chain, outermost
    call first, then the innermost (the cause), then outwards: keep the first two."""
    text = " ".join(str(exc).split())
    chain = [c for c in text.split(". ") if c]
    said = ". ".join(chain[:2]) if chain else type(exc).__name__
    return said if len(said) <= 240 else said[:237] + "..."


LIBYAL_ERRORS = (OSError, RuntimeError, ValueError, TypeError, MemoryError, OverflowError)
"""What a libyal binding raises on a corrupt or truncated structure."""


class Reader(Protocol):
    """Bytes of a disk, a partition or a logical volume."""

    size: int

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer at the end)."""
        ...


class _Segments:
    """A raw image: one file or several concatenated (``disk.001``, ``disk.002`` ...)."""

    def __init__(self, fds: List[int], sizes: List[int]) -> None:
        self._fds, self._sizes = fds, sizes
        self._starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self.size = sum(sizes)

    def read_at(self, offset: int, size: int) -> bytes:
        out: List[bytes] = []
        want = max(0, min(size, self.size - offset))
        for fd, start, length in zip(self._fds, self._starts, self._sizes):
            if want <= 0:
                break
            if offset >= start + length:
                continue
            inner = offset - start
            data = os.pread(fd, min(want, length - inner), inner)
            if not data:
                break
            out.append(data)
            offset += len(data)
            want -= len(data)
        return b"".join(out)


class _Handle:
    """A libyal object that reads media (``read_buffer_at_offset``): a container, an LV."""

    def __init__(self, handle: Any, size: int) -> None:
        self._handle, self.size = handle, size

    def read_at(self, offset: int, size: int) -> bytes:
        want = max(0, min(size, self.size - offset))
        if want <= 0:
            return b""
        with LOCK:
            return bytes(self._handle.read_buffer_at_offset(want, offset))


class Window:
    """``size`` bytes at ``offset`` of another reader (a partition of a disk)."""

    def __init__(self, base: Reader, offset: int, size: int) -> None:
        self._base, self._offset = base, offset
        self.size = max(0, min(size, base.size - offset))

    def read_at(self, offset: int, size: int) -> bytes:
        want = max(0, min(size, self.size - offset))
        return self._base.read_at(self._offset + offset, want) if want > 0 else b""


class Stream(io.RawIOBase):
    """A reader as the file object a libyal ``open_file_object`` reads (read, seek, tell)."""

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self._reader, self._pos = reader, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def get_size(self) -> int:
        return self._reader.size

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._reader.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: Optional[int] = -1) -> bytes:
        want = self._reader.size - self._pos if size is None or size < 0 else size
        data = self._reader.read_at(self._pos, want)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Media:
    """An opened disk image: its bytes, what it is, and what to release."""

    reader: Reader
    format: str
    files: Tuple[str, ...]
    """The files read (segments, extents), by name."""
    closers: List[Callable[[], None]] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    """What of the image is not read (another disk of an OVA)."""
    acquisition: Tuple[Tuple[str, str], ...] = ()
    """What an EWF image says of itself: its stored hashes (``hash:MD5``) and acquisition
    headers (``case_number``, ``examiner_name``, ``acquiry_date`` ...), redacted."""

    def close(self) -> None:
        while self.closers:
            closer = self.closers.pop()
            with contextlib.suppress(*LIBYAL_ERRORS):
                closer()


def _open_ro(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ImageError(f"{path}: cannot be opened: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
        os.close(fd)
        raise ImageError(f"{path}: not a regular file or a block device")
    return fd


def _size(fd: int) -> int:
    """Bytes of a regular file or a block device (whose ``st_size`` is 0)."""
    st = os.fstat(fd)
    return st.st_size if stat.S_ISREG(st.st_mode) else os.lseek(fd, 0, os.SEEK_END)


def _file_object(path: Path, media: Media) -> io.FileIO:
    fobj = io.FileIO(_open_ro(path), "rb", closefd=True)
    media.closers.append(fobj.close)
    return fobj


def open_media(path: Path, kind: str) -> Media:
    """Open the container of a disk image (``kind`` from :func:`~sitesweep.door.sniff.sniff`).

    Raises:
        ImageError: the extra is missing, or the container is unreadable, truncated, corrupt,
            encrypted or needs a parent image.
    """
    media = Media(_Segments([], []), kind, (path.name,))
    if path.is_symlink():  # the path the analyst gave (/dev/disk/by-id/...): what it names
        path = Path(os.path.realpath(path))
    try:
        if kind == RAW:
            segments = split_segments(path)
            fds = []
            for segment in segments:
                fd = _open_ro(segment)
                media.closers.append(lambda fd=fd: os.close(fd))  # type: ignore[misc]
                fds.append(fd)
            media.reader = _Segments(fds, [_size(fd) for fd in fds])
            media.files = tuple(s.name for s in segments)
            media.format = "raw" if len(segments) == 1 else "split raw"
            return media
        libyal("pyfsext", f"{path}: a {kind} disk image")  # the extra as a whole
        with LOCK:
            media.reader = _open_container(path, kind, media)
        return media
    except ImageError:
        media.close()
        raise
    except LIBYAL_ERRORS as exc:
        media.close()
        raise ImageError(f"{path}: not a readable {kind} image: {first_line(exc)}") from exc


def _open_container(path: Path, kind: str, media: Media) -> Reader:
    what = f"{path}: a {kind} disk image"
    if kind == QCOW2:  # read here: libqcow loses some compressed clusters (door/qcow2.py)
        from sitesweep.door.qcow2 import Qcow2

        fd = _open_ro(path)
        media.closers.append(lambda: os.close(fd))
        return Qcow2(fd, str(path))
    if kind in (VHD, VHDX):
        pyvhdi = libyal("pyvhdi", what)
        handle = pyvhdi.file()
        handle.open_file_object(_file_object(path, media))
        media.closers.append(handle.close)
        if handle.get_parent_identifier():
            raise ImageError(
                f"{path}: a differencing {kind} (it needs its parent disk): scan a merged copy"
            )
        return _Handle(handle, handle.get_media_size())
    if kind == VMDK:
        return _open_vmdk(path, what, media)
    if kind == OVA:
        return _open_ova(path, what, media)
    if kind == EWF:
        return _open_ewf(path, what, media)
    raise ImageError(f"{path}: unknown disk image format {kind}")  # pragma: no cover


def _open_vmdk(path: Path, what: str, media: Media) -> Reader:
    pyvmdk = libyal("pyvmdk", what)
    handle = pyvmdk.handle()
    handle.open_file_object(_file_object(path, media))
    media.closers.append(handle.close)
    if handle.get_parent_filename():
        raise ImageError(f"{path}: a VMDK snapshot of a parent disk: scan a merged copy")
    extents = []
    names = [path.name]
    for number in range(handle.get_number_of_extents()):
        name = handle.get_extent_descriptor(number).get_filename() or ""
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if not base or base in (".", ".."):
            raise ImageError(f"{path}: VMDK extent {number} names no file")
        extents.append(_file_object(path.with_name(base), media))
        names.append(base)
    media.files = tuple(dict.fromkeys(names))
    handle.open_extent_data_files_as_file_objects(extents)
    return _Handle(handle, handle.get_media_size())


def _open_ova(path: Path, what: str, media: Media) -> Reader:
    """The first disk of an OVA: a stream-optimized VMDK member of the tar, read in place."""
    import tarfile

    pyvmdk = libyal("pyvmdk", what)
    fd = _open_ro(path)
    media.closers.append(lambda: os.close(fd))
    size = _size(fd)
    disks: List[Tuple[str, int, int]] = []
    try:
        with io.FileIO(fd, "rb", closefd=False) as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
            for seen, entry in enumerate(tar):
                if entry.isfile() and entry.name.lower().endswith(".vmdk"):
                    disks.append((entry.name, entry.offset_data, entry.size))
                if seen > MAX_SEGMENTS:
                    break
    except (tarfile.TarError, OSError) as exc:
        raise ImageError(f"{path}: not a readable OVA (truncated or corrupt tar): {exc}") from exc
    if not disks:
        raise ImageError(f"{path}: an OVA without a .vmdk disk")
    name, start, length = disks[0]
    if start + length > size:
        raise ImageError(f"{path}: {name} is truncated (the OVA ends before it)")
    media.files = (path.name, name)
    if len(disks) > 1:
        more = ", ".join(d[0] for d in disks[1:])
        media.problems.append(f"the OVA holds more disks, not scanned (one per run): {more}")
    handle = pyvmdk.handle()
    handle.open_file_object(FileWindow(fd, start, length))
    media.closers.append(handle.close)
    handle.open_extent_data_files_as_file_objects([FileWindow(fd, start, length)])
    return _Handle(handle, handle.get_media_size())


def _open_ewf(path: Path, what: str, media: Media) -> Reader:
    pyewf = libyal("pyewf", what)
    names = sorted(pyewf.glob(str(path)))[:MAX_SEGMENTS]
    segments = [Path(n) for n in names if Path(n).parent == path.parent] or [path]
    for number, segment in enumerate(segments[:99], start=1):
        want = f"{segment.suffix[:2]}{number:02d}"
        if segment.suffix.lower() != want.lower():
            raise ImageError(f"{path}: EWF segment {path.stem}{want} is missing")
    handle = pyewf.handle()
    handle.open_file_objects([_file_object(s, media) for s in segments])
    media.closers.append(handle.close)
    media.files = tuple(s.name for s in segments)
    media.acquisition = _ewf_facts(handle)
    return _Handle(handle, handle.get_media_size())


def _ewf_facts(handle: Any) -> Tuple[Tuple[str, str], ...]:
    from sitesweep.redact import redact_text

    facts: List[Tuple[str, str]] = []
    with contextlib.suppress(*LIBYAL_ERRORS):
        hashes = handle.get_hash_values() or {}
        facts += [(f"hash:{k}", str(v)) for k, v in sorted(hashes.items())]
    with contextlib.suppress(*LIBYAL_ERRORS):
        headers = handle.get_header_values() or {}
        facts += [(str(k), redact_text(str(v))[:512]) for k, v in sorted(headers.items())]
    return tuple(facts)


# -- volume systems ----------------------------------------------------------------------------


@dataclass
class Volume:
    """A partition, a logical volume, or the whole disk when it has no partition table.

    Attributes:
        name: how the image facts and gaps name it (``p1``, ``p5``, ``vg0/root``, ``disk``).
        scheme: ``gpt``, ``mbr``, ``lvm`` or ``none``.
        type: the partition type (MBR ``0x83``, a GPT type GUID) or the LV's volume group.
        offset: where it starts on the disk (0 for a logical volume: it may be scattered).
        reader: its bytes.
        uuid: the GPT partition GUID or the MBR ``<disk id>-<nn>`` (fstab's ``PARTUUID=``).
        label: the GPT partition name (``PARTLABEL=``).
    """

    name: str
    scheme: str
    type: str
    offset: int
    reader: Reader
    uuid: str = ""
    label: str = ""

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.reader.size


@dataclass
class Volumes:
    """What :func:`find_volumes` found: the table and its volumes, and what it could not read."""

    table: str
    volumes: List[Volume] = field(default_factory=list)
    problems: List[Tuple[str, str]] = field(default_factory=list)
    """(volume or table name, what is wrong)."""
    closers: List[Callable[[], None]] = field(default_factory=list)


_EXTENDED = (0x05, 0x0F, 0x85)
_GPT_LVM = "e6d6d379-f507-44c2-a23c-238f2a3df928"


def find_volumes(disk: Reader, source: str) -> Volumes:
    """The volumes of a disk: GPT, MBR (with logical partitions), or the disk as one volume;
    LVM physical volumes among them are replaced by their logical volumes.

    Raises:
        ImageError: the disk is empty or its first sectors cannot be read.
    """
    if disk.size < SECTOR:
        raise ImageError(f"{source}: the disk is {disk.size} bytes: nothing to read")
    head = disk.read_at(0, 8192)
    if len(head) < min(disk.size, 8192):
        raise ImageError(f"{source}: the disk's first sectors cannot be read (truncated image)")
    if head[512:520] == b"EFI PART" or head[4096:4104] == b"EFI PART":
        found = _gpt(disk, source)
    elif head[510:512] == b"\x55\xaa" and probe(head)[0] == "" and _mbr_entries(head):
        found = _mbr(disk, head)
    else:
        found = Volumes("none", [Volume("disk", "none", "", 0, disk)])
    expanded: List[Volume] = []
    for volume in found.volumes:
        start = volume.reader.read_at(0, 4096)
        if probe(start)[0] == "lvm2":
            expanded.extend(_lvm(volume, found))
        else:
            expanded.append(volume)
    if len(expanded) > MAX_VOLUMES:
        found.problems.append(("disk", f"{len(expanded)} volumes: only the first {MAX_VOLUMES}"))
    found.volumes = expanded[:MAX_VOLUMES]
    return found


def _gpt(disk: Reader, source: str) -> Volumes:
    pyvsgpt = libyal("pyvsgpt", f"{source}: a GPT-partitioned disk")
    found = Volumes("gpt")
    try:
        with LOCK:
            table = pyvsgpt.volume()
            table.open_file_object(Stream(disk))
            found.closers.append(table.close)
            for index in range(table.get_number_of_partitions()):
                part = table.get_partition(index)
                number = part.get_entry_index() + 1
                volume = Window(disk, part.get_volume_offset(), part.get_size())
                found.volumes.append(
                    Volume(
                        f"p{number}",
                        "gpt",
                        str(
                            part.type_identifier or ""
                        ).lower(),  # get_type_identifier() gives the GUID
                        part.get_volume_offset(),
                        volume,
                        uuid=str(part.get_identifier() or "").lower(),
                        label=_gpt_name(disk, part.get_entry_index()),
                    )
                )
    except LIBYAL_ERRORS as exc:
        found.volumes.clear()
        primary = _gpt_primary(disk)
        if primary is None:
            found.problems.append(("gpt", f"partition table unreadable: {first_line(exc)}"))
            return found
        # libvsgpt 20240504 refuses a table whose backup header (the disk's last sector) it
        # cannot read: an image cut short, or acquired a few sectors short. The primary table,
        # its checksums right, names the partitions; one that ends past the image is a problem.
        for number, type_guid, part_guid, start, end, name in primary:
            volume = Window(disk, start, end - start)
            found.volumes.append(
                Volume(f"p{number}", "gpt", type_guid, start, volume, uuid=part_guid, label=name)
            )
            if end > disk.size:
                what = f"ends at byte {end}, past the image's end ({disk.size}): a truncated copy"
                found.problems.append((f"p{number}", what))
    return found


def _gpt_primary(disk: Reader) -> Optional[List[Tuple[int, str, str, int, int, str]]]:
    """The primary GPT's used entries (number, type GUID, partition GUID, first byte, end
    byte, name), or ``None`` when its header or entry array fails its CRC-32."""
    header = disk.read_at(SECTOR, SECTOR)
    if len(header) < 92 or header[:8] != b"EFI PART":
        return None
    size = struct.unpack_from("<I", header, 12)[0]
    if not 92 <= size <= SECTOR:
        return None
    blank = header[:16] + b"\0\0\0\0" + header[20:size]
    if zlib.crc32(blank) != struct.unpack_from("<I", header, 16)[0]:
        return None
    array_lba, count, entry_size, array_crc = struct.unpack_from("<QIII", header, 72)
    if not 128 <= entry_size <= 4096 or count > 1024:
        return None
    array = disk.read_at(array_lba * SECTOR, count * entry_size)
    if len(array) < count * entry_size or zlib.crc32(array) != array_crc:
        return None
    out = []
    for index in range(count):
        entry = array[index * entry_size : index * entry_size + 128]
        if entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        if last < first:
            continue
        name = entry[56:128].decode("utf-16-le", "replace").split("\x00", 1)[0]
        kind = str(uuid.UUID(bytes_le=bytes(entry[:16])))
        ident = str(uuid.UUID(bytes_le=bytes(entry[16:32])))
        out.append((index + 1, kind, ident, first * SECTOR, (last + 1) * SECTOR, name))
    return out


def _gpt_name(disk: Reader, index: int) -> str:
    """A GPT entry's name (``PARTLABEL``), read from the entry array the header points at."""
    header = disk.read_at(SECTOR, 92)
    if header[:8] != b"EFI PART":
        return ""
    array_lba, _count, entry_size = struct.unpack_from("<QII", header, 72)
    if not 128 <= entry_size <= 4096:
        return ""
    entry = disk.read_at(array_lba * SECTOR + index * entry_size, 128)
    return entry[56:128].decode("utf-16-le", "replace").split("\x00", 1)[0]


def _mbr_entries(sector: bytes) -> List[Tuple[int, int, int, int]]:
    """The used entries of an MBR or EBR sector: (slot, type, first LBA, sectors)."""
    entries = []
    for slot in range(4):
        status, kind, lba, count = struct.unpack_from("<B3xB3xII", sector, 446 + 16 * slot)
        if status not in (0x00, 0x80):
            return []  # not a partition table (a boot sector's code)
        if kind and count:
            entries.append((slot, kind, lba, count))
    return entries


def _mbr(disk: Reader, head: bytes) -> Volumes:
    found = Volumes("mbr")
    disk_id = struct.unpack_from("<I", head, 440)[0]
    for slot, kind, lba, count in _mbr_entries(head):
        if kind in _EXTENDED:
            _logical(disk, lba, found, disk_id)
            continue
        _add_mbr(disk, found, slot + 1, kind, lba, count, disk_id)
    return found


def _add_mbr(
    disk: Reader, found: Volumes, number: int, kind: int, lba: int, count: int, disk_id: int
) -> None:
    start, size = lba * SECTOR, count * SECTOR
    if start >= disk.size:
        found.problems.append((f"p{number}", f"starts at byte {start}, past the disk's end"))
        return
    if start + size > disk.size:
        found.problems.append((f"p{number}", "ends past the disk's end (truncated image)"))
    found.volumes.append(
        Volume(
            f"p{number}",
            "mbr",
            f"0x{kind:02x}",
            start,
            Window(disk, start, size),
            uuid=f"{disk_id:08x}-{number:02x}" if disk_id else "",
        )
    )


def _logical(disk: Reader, extended: int, found: Volumes, disk_id: int) -> None:
    """Follow the chain of extended boot records (logical partitions are numbered from 5)."""
    seen = set()
    ebr = extended
    for number in range(5, 5 + MAX_LOGICAL):
        if ebr in seen:
            found.problems.append(("mbr", f"extended partition chain loops at sector {ebr}"))
            return
        seen.add(ebr)
        sector = disk.read_at(ebr * SECTOR, SECTOR)
        if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
            found.problems.append(("mbr", f"no extended boot record at sector {ebr}"))
            return
        entries = _mbr_entries(sector)
        data = [e for e in entries if e[1] not in _EXTENDED]
        if data:
            _slot, kind, lba, count = data[0]
            _add_mbr(disk, found, number, kind, ebr + lba, count, disk_id)
        links = [e for e in entries if e[1] in _EXTENDED]
        nxt = extended + links[0][2] if links else None
        if nxt is None:
            return
        ebr = nxt
    found.problems.append(("mbr", f"more than {MAX_LOGICAL} logical partitions: not all read"))


def _lvm(volume: Volume, found: Volumes) -> List[Volume]:
    pyvslvm = libyal("pyvslvm", f"LVM physical volume {volume.name}")
    out: List[Volume] = []
    try:
        with LOCK:
            handle = pyvslvm.handle()
            handle.open_file_object(Stream(volume.reader))
            handle.open_physical_volume_files_as_file_objects([Stream(volume.reader)])
            found.closers.append(handle.close)
            group = handle.get_volume_group()
            for index in range(group.get_number_of_logical_volumes()):
                lv = group.get_logical_volume(index)
                out.append(
                    Volume(
                        f"{group.get_name()}/{lv.get_name()}",
                        "lvm",
                        f"LVM logical volume on {volume.name}",
                        0,
                        _Handle(lv, lv.get_size()),
                        uuid=str(lv.get_identifier() or ""),
                    )
                )
    except LIBYAL_ERRORS as exc:
        found.problems.append((volume.name, f"LVM metadata unreadable: {first_line(exc)}"))
        return []
    return out


# -- filesystems on a volume -------------------------------------------------------------------


def probe(head: bytes) -> Tuple[str, str, str]:
    """Name the filesystem (or encrypted or LVM volume) whose first bytes are ``head``.

    Returns ``(type, uuid, label)``: the type as ``mount`` names it (``ext4``, ``xfs``, ``ntfs``,
    ``apfs``, ``vfat``, ``swap``, ``crypto_LUKS``, ``BitLocker``, ``lvm2`` ...; ``""`` when
    unknown), and the UUID and label ``/etc/fstab`` would name it by. ``head`` should hold the
    first 4 KiB at least (the btrfs superblock is at 64 KiB: more is better).
    """
    if len(head) >= 1024 + 264 and head[1080:1082] == b"\x53\xef":
        sb = head[1024:]
        compat, incompat = struct.unpack_from("<II", sb, 92)
        kind = "ext4" if incompat & 0x2C0 else "ext3" if compat & 0x4 else "ext2"
        return kind, str(uuid.UUID(bytes=bytes(sb[104:120]))), _text(sb[120:136])
    if head[:4] == b"XFSB":
        return "xfs", str(uuid.UUID(bytes=bytes(head[32:48]))), _text(head[108:120])
    if head[3:11] == b"NTFS    ":
        serial = struct.unpack_from("<Q", head, 0x48)[0]
        return "ntfs", f"{serial:016X}", ""
    if head[32:36] == b"NXSB":
        return "apfs", str(uuid.UUID(bytes=bytes(head[72:88]))), ""
    return _probe_other(head)


def _probe_other(head: bytes) -> Tuple[str, str, str]:
    """:func:`probe` for what is named but not read (FAT, encrypted, swap, LVM, btrfs, HFS+)."""
    if head[3:11] == b"EXFAT   ":
        return "exfat", "", ""
    if head[82:87] == b"FAT32" or head[54:57] == b"FAT":
        at = 67 if head[82:87] == b"FAT32" else 39
        serial = struct.unpack_from("<I", head, at)[0]
        label = _text(head[at + 4 : at + 15])
        return "vfat", f"{serial >> 16:04X}-{serial & 0xFFFF:04X}", label
    if head[:6] in (b"LUKS\xba\xbe", b"SKUL\xba\xbe"):
        return "crypto_LUKS", _text(head[168:208]), ""
    if head[3:11] == b"-FVE-FS-":
        return "BitLocker", "", ""
    if b"LABELONE" in (head[512:520], head[:8]):
        return "lvm2", "", ""
    if len(head) >= 4096 and head[4086:4096] == b"SWAPSPACE2":
        return "swap", str(uuid.UUID(bytes=bytes(head[1036:1052]))), _text(head[1052:1068])
    if len(head) >= 65536 + 72 and head[65536 + 64 : 65536 + 72] == b"_BHRfS_M":
        return "btrfs", str(uuid.UUID(bytes=bytes(head[65536 + 32 : 65536 + 48]))), ""
    if head[1024:1026] in (b"H+", b"HX"):
        return "hfsplus", "", ""
    return "", "", ""


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
