"""Real disk images built from fixture trees with the OS's own tools (no mount, no root).

ext4 with ``mkfs.ext4 -d``; containers with ``qemu-img convert`` (qcow2, vmdk, vhdx, vpc) and
``ewfacquire -u`` (E01); partition tables with ``sfdisk`` on a regular file, a filesystem put in
its partition with ``dd conv=notrunc``; XFS with ``mkfs.xfs -p`` and a protofile; NTFS with
``mkntfs -F`` and ``ntfscp``. A test needing a tool that is not installed is skipped, naming it
(``.ci/run`` installs them all).
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import string
import struct
import subprocess
import uuid
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

MIB = 1 << 20


def need(*tools: str) -> None:
    """Skip the test unless every tool is on PATH (or in /sbin, /usr/sbin)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [t for t in tools if shutil.which(t, path=path) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: e2fsprogs, qemu-utils, fdisk, ...)")


def _run(*argv: str, env: Optional[Dict[str, str]] = None) -> None:
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    tool = shutil.which(argv[0], path=path) or argv[0]
    env = {**os.environ, "PATH": path, **(env or {})}
    proc = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"


def tree_bytes(tree: Path) -> int:
    """Bytes of the files under ``tree`` (to size an image)."""
    total = 0
    for base, _dirs, files in os.walk(tree):
        for name in files:
            st = (Path(base) / name).lstat()
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def whole_seconds(tree: Path) -> None:
    """Drop the sub-second part of every time under ``tree`` (mkfs.ext4 1.47.0 ``-d`` keeps
    seconds only, so a scan of the tree and of its image would differ by that alone)."""
    for base, dirs, files in os.walk(tree):
        for name in [*dirs, *files]:
            path = Path(base) / name
            st = path.lstat()
            os.utime(path, (int(st.st_atime), int(st.st_mtime)), follow_symlinks=False)
    st = os.lstat(tree)
    os.utime(tree, (int(st.st_atime), int(st.st_mtime)))


def ext4(tree: Path, image: Path, fs_uuid: str = "", label: str = "") -> Path:
    """An ext4 filesystem image holding ``tree`` (``mkfs.ext4 -d``), sized to fit."""
    need("mkfs.ext4")
    size = max(8 * MIB, (tree_bytes(tree) * 2 + 6 * MIB) // MIB * MIB)
    with open(image, "wb") as fh:
        fh.truncate(size)
    extra: List[str] = []
    if fs_uuid:
        extra += ["-U", fs_uuid]
    if label:
        extra += ["-L", label]
    _run(
        "mkfs.ext4",
        "-q",
        "-F",
        "-I",
        "256",
        "-E",
        "root_owner",
        *extra,
        "-d",
        str(tree),
        str(image),
    )
    return image


def convert(raw: Path, fmt: str, out: Path, *options: str) -> Path:
    """``qemu-img convert -O fmt`` (qcow2, vmdk, vhdx, vpc): ``-o`` each of ``options``, but
    a flag (``-c``: compressed) as it is."""
    need("qemu-img")
    extra = [arg for o in options for arg in ((o,) if o.startswith("-") else ("-o", o))]
    _run("qemu-img", "convert", "-f", "raw", "-O", fmt, *extra, str(raw), str(out))
    return out


def qemu_img(*args: str) -> None:
    """Run ``qemu-img`` with ``args``."""
    need("qemu-img")
    _run("qemu-img", *args)


def partitioned(
    out: Path, label: str, parts: Sequence[Tuple[str, int, Path | None]], extended: bool = False
) -> List[int]:
    """A disk with a partition table (``sfdisk``) and filesystems copied into its partitions.

    Args:
        label: ``gpt`` or ``dos``.
        parts: (sfdisk type, size in MiB, filesystem image or ``None``) per partition, in order.
        extended: (``dos`` only) the first partition is primary, the others logical partitions
            in an extended one.

    Returns:
        The first sector of each partition given (in order).
    """
    need("sfdisk")
    total = sum(p[1] for p in parts) + 2 + len(parts)
    with open(out, "wb") as fh:
        fh.truncate(total * MIB)
    lines = [f"label: {label}", "unit: sectors"]
    starts: List[int] = []
    at = 2048
    for number, (kind, size, _image) in enumerate(parts):
        if extended and number == 1:
            rest = (total * MIB // 512) - at - 2048
            lines.append(f"start={at}, size={rest}, type=5")
            at += 2048
        lines.append(f"start={at}, size={size * MIB // 512}, type={kind}")
        starts.append(at)
        at += size * MIB // 512 + 2048
    script = "\n".join(lines) + "\n"
    proc = subprocess.run(
        [
            shutil.which("sfdisk", path="/usr/sbin:/sbin:" + os.environ["PATH"]) or "sfdisk",
            "--no-reread",
            "--no-tell-kernel",
            "-q",
            str(out),
        ],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for start, (_kind, size, image) in zip(starts, parts):
        if image is not None:
            assert image.stat().st_size <= size * MIB, (image, size)
            _run(
                "dd",
                f"if={image}",
                f"of={out}",
                "bs=512",
                f"seek={start}",
                "conv=notrunc",
                "status=none",
            )
    return starts


def ewf(raw: Path, target: Path, segment_bytes: int = MIB) -> Path:
    """An E01 set made by ``ewfacquire -u`` (segments .E01, .E02 ... of ``segment_bytes``)."""
    need("ewfacquire")
    _run(
        "ewfacquire",
        "-u",
        "-q",
        "-c",
        "fast",
        "-S",
        str(segment_bytes),
        "-t",
        str(target),
        str(raw),
    )
    return target.with_suffix(".E01")


def debugfs_write(image: Path, *requests: str) -> None:
    """Change an ext4 image file in place with ``debugfs -w`` (no mount), one request each."""
    need("debugfs")
    for request in requests:
        _run("debugfs", "-w", "-R", request, str(image))


def fs_uuid() -> str:
    """A fresh filesystem UUID."""
    return str(uuid.uuid4())


def xfs(tree: Path, image: Path) -> Path:
    """An XFS filesystem image holding ``tree``, built from a protofile (``mkfs.xfs -p``)."""
    need("mkfs.xfs")
    proto = image.with_suffix(".proto")
    lines = ["/dev/null", "0 0", _proto_mode(tree)]
    _proto(tree, lines, 1)
    lines.append("$")
    proto.write_text("\n".join(lines) + "\n")
    with open(image, "wb") as fh:
        fh.truncate(32 * MIB)
    # Below 300 MiB mkfs.xfs wants fstests' variables (a 64 MiB log otherwise: 65 MB written).
    small = {"TEST_DIR": "1", "TEST_DEV": "1", "QA_CHECK_FS": "1"}
    _run("mkfs.xfs", "-q", "-f", "-p", str(proto), str(image), env=small)
    return image


def _proto_mode(path: Path) -> str:
    st = os.lstat(path)
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "-"
    perm = stat.S_IMODE(st.st_mode)
    setuid = "u" if perm & stat.S_ISUID else "-"
    setgid = "g" if perm & stat.S_ISGID else "-"
    return f"{kind}{setuid}{setgid}{perm & 0o777:03o} {st.st_uid} {st.st_gid}"


def _proto(directory: Path, lines: List[str], depth: int) -> None:
    pad = " " * depth
    for child in sorted(directory.iterdir()):
        mode = _proto_mode(child)
        if child.is_symlink():
            lines.append(f"{pad}{child.name} {mode} {child.readlink()}")
        elif child.is_dir():
            lines.append(f"{pad}{child.name} {mode}")
            _proto(child, lines, depth + 1)
            lines.append(f"{pad}$")
        elif child.is_file():
            lines.append(f"{pad}{child.name} {mode} {child}")


def ntfs(files: Sequence[Tuple[Path, str]], image: Path, size_mib: int = 8) -> Path:
    """An NTFS image (``mkntfs -F``) holding ``files`` copied in with ``ntfscp`` (no mount)."""
    need("mkntfs", "ntfscp")
    with open(image, "wb") as fh:
        fh.truncate(size_mib * MIB)
    _run("mkntfs", "-q", "-F", "-f", str(image))
    for source, dest in files:
        _run("ntfscp", "-f", str(image), str(source), dest)
    return image


def _lvm_crc(data: bytes, init: int = 0xF597A6CF) -> int:
    """LVM2's CRC-32 (zlib's polynomial, its own start value, no final inversion)."""
    return zlib.crc32(data, init ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def _lvm_id() -> Tuple[str, str]:
    chars = string.ascii_letters + string.digits
    raw = "".join(random.choice(chars) for _ in range(32))
    return raw, "-".join(
        [raw[:6], raw[6:10], raw[10:14], raw[14:18], raw[18:22], raw[22:26], raw[26:]]
    )


def lvm_pv(lvs: Sequence[Tuple[str, bytes]], out: Path, vg: str = "vg0") -> Path:
    """An LVM2 physical volume written by hand (pvcreate needs a block device): one volume
    group ``vg`` holding each ``(name, content)`` as a linear logical volume (4 MiB extents),
    with the label, metadata area header and text metadata LVM2 itself writes."""
    ext = 4 << 20
    pe_start = 1 << 20
    counts = [(len(d) + ext - 1) // ext for _, d in lvs]
    size = pe_start + sum(counts) * ext
    disk = bytearray(size)
    pv_raw, pv_id = _lvm_id()
    _, vg_id = _lvm_id()
    lines = [
        f"{vg} {{",
        f'id = "{vg_id}"',
        "seqno = 1",
        'format = "lvm2"',
        'status = ["RESIZEABLE", "READ", "WRITE"]',
        "flags = []",
        f"extent_size = {ext // 512}",
        "max_lv = 0",
        "max_pv = 0",
        "metadata_copies = 0",
        "",
        "physical_volumes {",
        "",
        "pv0 {",
        f'id = "{pv_id}"',
        'device = "/dev/sda2"',
        'status = ["ALLOCATABLE"]',
        "flags = []",
        f"dev_size = {size // 512}",
        f"pe_start = {pe_start // 512}",
        f"pe_count = {sum(counts)}",
        "}",
        "}",
        "",
        "logical_volumes {",
        "",
    ]
    at = 0
    for (name, data), count in zip(lvs, counts):
        _, lv_id = _lvm_id()
        lines += [
            f"{name} {{",
            f'id = "{lv_id}"',
            'status = ["READ", "WRITE", "VISIBLE"]',
            "flags = []",
            "segment_count = 1",
            "",
            "segment1 {",
            "start_extent = 0",
            f"extent_count = {count}",
            "",
            'type = "striped"',
            "stripe_count = 1",
            "",
            "stripes = [",
            f'"pv0", {at}',
            "]",
            "}",
            "}",
            "",
        ]
        disk[pe_start + at * ext : pe_start + at * ext + len(data)] = data
        at += count
    lines += [
        "}",
        "}",
        "# Generated by LVM2",
        'contents = "Text Format Volume Group"',
        "version = 1",
        'description = ""',
        'creation_host = "fixture"',
        "creation_time = 1774348800",
        "",
    ]
    text = "\n".join(lines).encode() + b"\0"
    mda_start, mda_size = 4096, pe_start - 4096
    # label
    pvh = pv_raw.encode() + struct.pack("<Q", size)
    pvh += struct.pack("<QQ", pe_start, 0) + struct.pack("<QQ", 0, 0)  # data area, end
    pvh += struct.pack("<QQ", mda_start, mda_size) + struct.pack("<QQ", 0, 0)  # metadata area, end
    label = bytearray(512)
    label[0:8] = b"LABELONE"
    struct.pack_into("<Q", label, 8, 1)
    struct.pack_into("<I", label, 20, 32)
    label[24:32] = b"LVM2 001"
    label[32 : 32 + len(pvh)] = pvh
    struct.pack_into("<I", label, 16, _lvm_crc(bytes(label[20:])))
    disk[512:1024] = label
    # metadata area header
    hdr = bytearray(512)
    hdr[4:20] = b" LVM2 x[5A%r0N*>"
    struct.pack_into("<IQQ", hdr, 20, 1, mda_start, mda_size)
    struct.pack_into("<QQII", hdr, 40, 512, len(text), _lvm_crc(text), 0)
    struct.pack_into("<I", hdr, 0, _lvm_crc(bytes(hdr[4:])))
    disk[mda_start : mda_start + 512] = hdr
    disk[mda_start + 512 : mda_start + 512 + len(text)] = text
    out.write_bytes(bytes(disk))
    return out


def vfat(files: Sequence[Tuple[Path, str]], image: Path, label: str, size_mib: int = 8) -> str:
    """A FAT filesystem image (``mkfs.vfat -C``) holding ``files`` (``mcopy -m``, directories
    made with ``mmd``), no mount; returns its serial as fstab's ``UUID=`` says it."""
    need("mkfs.vfat", "mmd", "mcopy")
    _run("mkfs.vfat", "-C", "-n", label, str(image), str(size_mib * 1024))
    made = set()
    for source, dest in files:
        parent = dest.rsplit("/", 1)[0]
        steps = [p for p in parent.split("/") if p]
        for depth in range(1, len(steps) + 1):
            folder = "::/" + "/".join(steps[:depth])
            if folder not in made:
                _run("mmd", "-i", str(image), folder)
                made.add(folder)
        _run("mcopy", "-m", "-i", str(image), str(source), f"::{dest}")
    serial = struct.unpack_from("<I", image.read_bytes()[:512], 39)[0]
    return f"{serial >> 16:04X}-{serial & 0xFFFF:04X}"


def vfat_tree(tree: Path, image: Path, label: str = "WINDOWS", size_mib: int = 32) -> Path:
    """A FAT image holding the whole of ``tree`` (``mcopy -s -m``, times kept), no mount."""
    need("mkfs.vfat", "mcopy")
    _run("mkfs.vfat", "-C", "-n", label, str(image), str(size_mib * 1024))
    for child in sorted(tree.iterdir()):
        _run("mcopy", "-s", "-m", "-i", str(image), str(child), "::/")
    return image
