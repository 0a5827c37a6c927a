"""Which kind of image a path holds, told from its first bytes (never from its name alone).

:meth:`sitesweep.hostfs.HostRoot.image` asks :func:`sniff` and opens the backend it names: a
container image (:mod:`sitesweep.door.oci`) or a disk image (:mod:`sitesweep.door.disk`). This
module reads a few sectors of the file with ``pread`` and imports nothing heavy, so the
container path never loads the disk readers and the other way round.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

__all__ = ["OCI", "Sniffed", "sniff", "split_segments"]

OCI = "oci"
"""An OCI image layout directory, an OCI archive or a ``docker save`` tarball (maybe gzip)."""
QCOW2, VMDK, VHD, VHDX, EWF, RAW, OVA = "qcow2", "vmdk", "vhd", "vhdx", "ewf", "raw", "ova"
"""Disk image containers (:mod:`sitesweep.door.disk` reads them)."""

_HEAD = 8192
MAX_SEGMENTS = 999
"""Most segments of a split raw image (``disk.001`` ... ``disk.999``)."""
_SPLIT = re.compile(r"^(?P<stem>.+)\.(?P<num>\d{3})$")


class Sniffed(NamedTuple):
    """What :func:`sniff` found: the kind, and what told it (for messages and ``image.json``)."""

    kind: str
    why: str


def sniff(path: Path) -> Optional[Sniffed]:
    """Tell what ``path`` is from its bytes; ``None`` when it is nothing this tool reads.

    A directory is an OCI layout candidate (the OCI door says whether it is one). A file or a
    block device (an evidence disk attached read-only) is read at its start (and, for a fixed
    VHD, at its last sector); nothing else is touched. A block device is a raw disk unless a
    container format is found on it (a qcow2 on a logical volume).

    Raises:
        OSError: the path cannot be opened or read.
    """
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        return Sniffed(OCI, "a directory (OCI image layout)")
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            return None
        size = os.fstat(fd).st_size if stat.S_ISREG(mode) else os.lseek(fd, 0, os.SEEK_END)
        head = os.pread(fd, _HEAD, 0)
        tail = os.pread(fd, 512, size - 512) if size >= 1024 else b""
    finally:
        os.close(fd)
    found = _kind(head, tail)
    if stat.S_ISBLK(mode) and (found is None or found.kind == OCI):
        return Sniffed(RAW, "a block device (read as a raw disk)")
    return found


_CONTAINERS: Tuple[Tuple[int, bytes, str, str], ...] = (
    (0, b"QFI\xfb", QCOW2, "qcow magic 'QFI\\xfb'"),
    (0, b"KDMV", VMDK, "VMDK sparse extent magic 'KDMV'"),
    (0, b"COWD", VMDK, "VMDK COWD extent magic"),
    (0, b"vhdxfile", VHDX, "VHDX signature 'vhdxfile'"),
    (0, b"conectix", VHD, "VHD footer copy 'conectix'"),
    (0, b"EVF\x09\x0d\x0a\xff\x00", EWF, "EWF (E01) signature"),
    (0, b"EVF2\x0d\x0a\x81\x00", EWF, "EWF2 (Ex01) signature"),
    (0, b"\x1f\x8b", OCI, "gzip stream (compressed image tarball)"),
    (0, b"\x28\xb5\x2f\xfd", OCI, "zstd stream (compressed image tarball)"),
    (257, b"ustar", OCI, "tar archive"),
)
"""(offset, magic, kind, what it is) of the formats told by a signature in the first bytes."""


def _kind(head: bytes, tail: bytes) -> Optional[Sniffed]:
    if head[257:262] == b"ustar" and head[:100].split(b"\0", 1)[0].lower().endswith(b".ovf"):
        return Sniffed(OVA, "OVA (a tar whose first member is an OVF descriptor)")
    for offset, magic, kind, why in _CONTAINERS:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(kind, why)
    if b"# Disk DescriptorFile" in head[:1024]:
        return Sniffed(VMDK, "VMDK descriptor file")
    if tail[:8] == b"conectix":
        return Sniffed(VHD, "VHD footer 'conectix'")
    raw = _raw(head)
    if raw is not None:
        return Sniffed(RAW, raw)
    return None


def _raw(head: bytes) -> Optional[str]:
    """What makes a file a raw disk or volume image (a partition table or a superblock)."""
    if head[512:520] == b"EFI PART" or head[4096:4104] == b"EFI PART":
        return "GPT header 'EFI PART'"
    if head[1080:1082] == b"\x53\xef":
        return "ext2/3/4 superblock"
    if head[:4] == b"XFSB":
        return "XFS superblock"
    if head[3:11] == b"NTFS    ":
        return "NTFS boot sector"
    if head[32:36] == b"NXSB":
        return "APFS container superblock"
    if head[512:520] == b"LABELONE":
        return "LVM physical volume label"
    if head[:6] == b"LUKS\xba\xbe":
        return "LUKS header (encrypted volume)"
    if head[510:512] == b"\x55\xaa":
        return "MBR boot signature"
    return None


def split_segments(path: Path) -> Tuple[Path, ...]:
    """The segments of a split raw image ``path`` names (``disk.001``, ``disk.002`` ...).

    A path that does not end in ``.001`` is one segment. Segments are taken in order while they
    exist (at most :data:`MAX_SEGMENTS`), each a regular file next to the first.
    """
    match = _SPLIT.match(path.name)
    if match is None or match.group("num") != "001":
        return (path,)
    found = [path]
    for number in range(2, MAX_SEGMENTS + 1):
        segment = path.with_name(f"{match.group('stem')}.{number:03d}")
        try:
            if not stat.S_ISREG(os.lstat(segment).st_mode):
                break
        except OSError:
            break
        found.append(segment)
    return tuple(found)
