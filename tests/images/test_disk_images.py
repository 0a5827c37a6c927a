"""``scan --image`` on disk images: raw, qcow2, VMDK, VHD(X), E01, partitioned (GPT, MBR with
logical partitions) and filesystems placed by ``/etc/fstab``, read without mounting.

The suspect host is :func:`evidence_host.build_wide` (litellm 1.82.8 and its ``.pth`` at known
times, the sysmon unit through a symlink, AWS credentials at 0600) plus a hard link and a 3 MiB
file, packed with the OS's own tools (:mod:`diskbuild`). Each image must give what ``scan
--root`` gives on the same tree: the same findings, the same verdict, the same inventory.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Set, Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from diskbuild import MIB, convert, ewf, ext4, fs_uuid, partitioned, whole_seconds
from evidence_host import SITE, VENV, build_wide
from scanrun import gap_paths, load, only_bundle

BIG = f"{SITE}/litellm/proxy/big_model_map.bin"
HARD = "/home/alice/.config/sysmon/sysmon-copy.py"
WHEELS = "/home/alice/.cache/pip/wheels/ab/cd"
SPARSE = f"{WHEELS}/pkg-1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def suspect(tmp_path_factory: pytest.TempPathFactory) -> Tuple[FakeRoot, Path, Path]:
    """The suspect tree, its ``--root`` bundle and its raw ext4 image (built once)."""
    base = tmp_path_factory.mktemp("suspect")
    root = FakeRoot(base / "host")
    build_wide(root)
    root.add_file(BIG, os.urandom(3 * MIB))
    os.link(root.host("/home/alice/.config/sysmon/sysmon.py"), root.host(HARD))
    root.add_dir(WHEELS)
    odd = os.fsencode(root.host(SITE)) + b"/odd-\xff-name.pth"  # not UTF-8: Linux allows it
    with open(odd, "wb") as fh:
        fh.write(b"import os; os.system('true')\n")
    with root.host(SPARSE).open("wb") as fh:  # a hole: mkfs.ext4 -d keeps it one
        fh.truncate(16 * MIB)
    whole_seconds(root.path)
    raw = ext4(root.path, base / "disk.img")
    out = base / "by-root"
    code = _main("scan", "--root", str(root.path), "--output", str(out))
    assert code == 1
    return root, only_bundle(out), raw


def _main(*args: str) -> int:
    from sitesweep.cli import main

    return main(list(args))


def _findings(bundle: Path) -> Set[Tuple[str, str, str, Tuple[str, ...]]]:
    return {
        (f["id"], f["rule"], f["severity"], tuple(f["paths"]))
        for f in load(bundle, "findings.json")["findings"]
    }


def _same_scan(by_root: Path, by_image: Path, skipped_volumes: bool = False) -> None:
    """Same findings, verdict and inventory (the image's ext4 adds only /lost+found); volumes
    not scanned make the outcome say the scan is incomplete, never silently clean."""
    assert _findings(by_image) == _findings(by_root)
    outcome = load(by_root, "findings.json")["outcome"]
    told = load(by_image, "findings.json")["outcome"]
    if skipped_volumes:
        assert told.pop("incomplete") == ["check(s) that did not run or finish: image"]
        outcome = {k: v for k, v in outcome.items() if k != "incomplete"}
    assert told == outcome
    assert outcome["verdict"] == "compromised"
    inv_root, inv_image = load(by_root, "inventory.json"), load(by_image, "inventory.json")
    assert inv_image.pop("dirs_walked") == inv_root.pop("dirs_walked") + 1  # /lost+found
    assert inv_image == inv_root


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("raw", ()),
        ("qcow2", ()),
        ("qcow2", ("-c",)),
        ("qcow2", ("-c", "compression_type=zstd")),
        ("qcow2", ("compat=0.10", "cluster_size=4096")),
        ("vmdk", ()),
        ("vmdk", ("subformat=monolithicFlat",)),
        ("vhdx", ()),
        ("vpc", ()),
    ],
    ids=[
        "raw",
        "qcow2",
        "qcow2-compressed",
        "qcow2-zstd",
        "qcow2-v2-small-clusters",
        "vmdk",
        "vmdk-descriptor-and-flat-extent",
        "vhdx",
        "vhd",
    ],
)
def test_a_disk_image_gives_the_scan_of_its_tree(
    suspect: Tuple[FakeRoot, Path, Path],
    tmp_path: Path,
    run_cli: RunCli,
    fmt: str,
    options: Tuple[str, ...],
) -> None:
    root, by_root, raw = suspect
    image = raw if fmt == "raw" else convert(raw, fmt, tmp_path / f"disk.{fmt}", *options)
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    _same_scan(by_root, bundle)

    inventory = load(bundle, "inventory.json")
    files = {f["path"]: f for f in inventory["files"]}
    pth = f"{SITE}/litellm_init.pth"
    assert pth in {p["file"]["path"] for p in inventory["pth_files"]}
    big = root.host(BIG)
    if BIG in files:  # hashed as a file of interest: the 3 MiB read back whole
        import hashlib

        assert files[BIG]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert SPARSE in gap_paths(bundle, "sparse_file"), "st_blocks read from the extents"
    odd = f"{SITE}/odd-\udcff-name.pth"  # as os.scandir names it
    assert odd in {p["file"]["path"] for p in inventory["pth_files"]}
    doc = load(bundle, "image.json")
    assert doc["kind"] == "disk"
    disk = doc["disk"]
    assert disk["format"] == {"vpc": "vhd"}.get(fmt, fmt)
    assert disk["partition_table"] == "none"
    (volume,) = disk["volumes"]
    assert (volume["filesystem"], volume["mount_point"], volume["scanned"]) == ("ext4", "/", True)
    assert load(bundle, "manifest.json")["scan_root"] == str(image)
    assert not root.marker.exists()


def test_the_disk_door_reads_what_the_tree_holds(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path
) -> None:
    """Times, modes, owners, symlinks, hard links and a large file read back as on the tree."""
    from sitesweep.hostfs import HostRoot

    root, _bundle, raw = suspect
    tree = HostRoot(root.path)
    image = HostRoot.image(convert(raw, "qcow2", tmp_path / "disk.qcow2"))
    try:
        for host in (
            "/etc/os-release",
            f"{SITE}/litellm_init.pth",
            "/home/alice/.aws/credentials",
            "/home/alice/.config/systemd/user/default.target.wants/sysmon.service",
            BIG,
            HARD,
            SPARSE,
        ):
            a, b = tree.stat_result(host), image.stat_result(host)
            assert (b.st_mode, b.st_uid, b.st_gid, b.st_size) == (
                a.st_mode,
                a.st_uid,
                a.st_gid,
                a.st_size,
            ), host
            assert b.st_mtime == a.st_mtime, host
            assert b.st_mtime_ns == a.st_mtime_ns, host
            assert b.st_nlink == a.st_nlink, host
            assert b.st_blocks * 512 < 1 * MIB if host == SPARSE else b.st_blocks > 0, host
        link = "/home/alice/.config/systemd/user/default.target.wants/sysmon.service"
        assert image.readlink(link) == tree.readlink(link)
        assert image.resolve_host(link) == tree.resolve_host(link)
        assert image.digest(BIG, 64 * MIB) == tree.digest(BIG, 64 * MIB)
        original = image.stat_result("/home/alice/.config/sysmon/sysmon.py")
        assert image.stat_result(HARD).st_ino == original.st_ino
        assert image.read_bytes(HARD, 4096) == root.host(HARD).read_bytes()
    finally:
        image.close()
        tree.close()


def test_a_gpt_disk_scans_its_root_partition_and_names_the_others(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    _root, by_root, raw = suspect
    size = raw.stat().st_size // MIB
    disk = tmp_path / "gpt.img"
    partitioned(disk, "gpt", [("U", 1, None), ("L", size, raw), ("L", 1, None)])
    run = run_cli("scan", "--image", str(disk), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    _same_scan(by_root, bundle, skipped_volumes=True)
    disk_doc = load(bundle, "image.json")["disk"]
    assert disk_doc["partition_table"] == "gpt"
    assert disk_doc["root"] == "p2"
    by_name = {v["name"]: v for v in disk_doc["volumes"]}
    assert set(by_name) == {"p1", "p2", "p3"}
    assert by_name["p2"]["offset"] == 2048 * 512 + MIB + 2048 * 512
    assert by_name["p1"]["type"] == "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"  # EFI system
    assert not by_name["p1"]["scanned"]
    assert not by_name["p3"]["scanned"]
    skipped = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert {g["detail"].split(": ")[1] for g in skipped} == {
        "volume p1 (unknown content, 1048576 bytes)",
        "volume p3 (unknown content, 1048576 bytes)",
    }


def test_an_mbr_disk_with_logical_partitions_mounts_home_by_fstab(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """Root and /home on two logical partitions: the venv under /home is found only if the
    second filesystem is placed where the root's fstab mounts it."""
    whole = FakeRoot(tmp_path / "whole")
    build_wide(whole)
    whole_seconds(whole.path)
    by_root = tmp_path / "by-root"
    assert _main("scan", "--root", str(whole.path), "--output", str(by_root)) == 1

    home_id, other_id = fs_uuid(), fs_uuid()
    rootfs = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(whole.path), str(rootfs)], check=True)
    homefs = tmp_path / "homefs"
    (rootfs / "home").rename(homefs)
    (rootfs / "home").mkdir()
    fstab = (
        "# <file system> <mount point> <type> <options> <dump> <pass>\n"
        "UUID=00000000-0000-0000-0000-000000000001 / ext4 errors=remount-ro 0 1\n"
        f"UUID={home_id} /home ext4 defaults 0 2\n"
        "/dev/sdb1 /srv/backup ext4 defaults 0 2\n"
        "nas:/export /mnt/nas nfs4 defaults 0 0\n"
        "proc /proc proc defaults 0 0\n"
    )
    (rootfs / "etc" / "fstab").write_text(fstab)
    whole_seconds(rootfs)
    whole_seconds(homefs)
    root_img = ext4(rootfs, tmp_path / "root.img", "00000000-0000-0000-0000-000000000001")
    home_img = ext4(homefs, tmp_path / "home.img", home_id)
    spare = ext4(tmp_path / "whole" / "etc", tmp_path / "spare.img", other_id, label="spare")
    disk = tmp_path / "mbr.img"
    sizes = [p.stat().st_size // MIB for p in (root_img, home_img, spare)]
    partitioned(
        disk,
        "dos",
        [
            ("83", 1, None),
            ("83", sizes[0], root_img),
            ("83", sizes[1], home_img),
            ("83", sizes[2], spare),
        ],
        extended=True,
    )
    run = run_cli("scan", "--image", str(disk), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    assert _findings(bundle) == _findings(only_bundle(by_root))

    doc = load(bundle, "image.json")["disk"]
    assert doc["partition_table"] == "mbr"
    by_name = {v["name"]: v for v in doc["volumes"]}
    assert set(by_name) == {"p1", "p5", "p6", "p7"}
    assert doc["root"] == "p5"
    assert (by_name["p6"]["mount_point"], by_name["p6"]["uuid"]) == ("/home", home_id)
    assert by_name["p7"]["label"] == "spare"
    assert not by_name["p7"]["scanned"]
    gaps = [g["detail"] for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert any("volume p7 (ext4" in d and "not mounted" in d for d in gaps), gaps
    assert any("volume p1 (unknown content" in d for d in gaps), gaps
    elsewhere = [g for g in load(bundle, "coverage.json")["gaps"] if g["path"] == "/srv/backup"]
    assert [g["reason"] for g in elsewhere] == ["check_skipped"], elsewhere
    assert "/dev/sdb1 (ext4)" in elsewhere[0]["detail"]
    nas = [g["reason"] for g in load(bundle, "coverage.json")["gaps"] if g["path"] == "/mnt/nas"]
    assert nas == ["filesystem_not_crossed"]  # as a live scan records a network mount


def test_an_e01_set_in_segments_is_read(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    _root, by_root, raw = suspect
    first = ewf(raw, tmp_path / "evidence")
    assert first.with_suffix(".E02").exists(), "expected a set of several segments"
    run = run_cli("scan", "--image", str(first), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    _same_scan(by_root, bundle)
    disk = load(bundle, "image.json")["disk"]
    assert disk["format"] == "ewf"
    assert len(disk["files"]) >= 2
    import hashlib

    assert disk["acquisition"]["hash:MD5"] == hashlib.md5(raw.read_bytes()).hexdigest()  # noqa: S324 - what EWF stores


def test_a_split_raw_image_is_read_as_one_disk(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    _root, by_root, raw = suspect
    data = raw.read_bytes()
    step = 5 * MIB
    for number, start in enumerate(range(0, len(data), step), start=1):
        (tmp_path / f"disk.{number:03d}").write_bytes(data[start : start + step])
    run = run_cli("scan", "--image", str(tmp_path / "disk.001"), "--output", str(tmp_path / "o"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "o")
    _same_scan(by_root, bundle)
    assert load(bundle, "image.json")["disk"]["format"] == "split raw"


def _cut(raw: Path, tmp_path: Path) -> Path:
    image = convert(raw, "qcow2", tmp_path / "cut.qcow2")
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 3])
    return image


def _garbled_inodes(raw: Path, tmp_path: Path) -> Path:
    """The ext4 superblock kept, its group descriptors and inode tables overwritten."""
    data = bytearray(raw.read_bytes())
    junk = bytes(range(256)) * 4096
    data[4096 : 4096 + 2 * MIB] = junk[: 2 * MIB]
    image = tmp_path / "garbled.img"
    image.write_bytes(bytes(data))
    return image


def _truncated_raw(raw: Path, tmp_path: Path) -> Path:
    image = tmp_path / "short.img"
    image.write_bytes(raw.read_bytes()[: 3 * MIB])
    return image


def _bad_qcow_header(raw: Path, tmp_path: Path) -> Path:
    image = convert(raw, "qcow2", tmp_path / "bad.qcow2")
    data = bytearray(image.read_bytes())
    data[8:64] = b"\xff" * 56
    image.write_bytes(bytes(data))
    return image


def _e01_without_its_second_segment(raw: Path, tmp_path: Path) -> Path:
    first = ewf(raw, tmp_path / "evidence")
    first.with_suffix(".E02").unlink()
    return first


def _qcow2_overlay(raw: Path, tmp_path: Path) -> Path:
    from diskbuild import qemu_img

    overlay = tmp_path / "overlay.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(raw), "-F", "raw", str(overlay))
    return overlay


@pytest.mark.parametrize(
    "make",
    [
        _cut,
        _garbled_inodes,
        _truncated_raw,
        _bad_qcow_header,
        _e01_without_its_second_segment,
        _qcow2_overlay,
    ],
    ids=[
        "truncated-qcow2",
        "garbled-inode-tables",
        "truncated-raw",
        "corrupt-qcow2-header",
        "e01-segment-missing",
        "qcow2-overlay-of-a-backing-file",
    ],
)
def test_a_broken_disk_image_is_exit_2_or_a_scan_with_gaps(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli, make: Any
) -> None:
    _root, _bundle, raw = suspect
    image = make(raw, tmp_path)
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err, run.err
    if run.code == 2:
        lines = [line for line in run.err.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: ")
        assert str(image) in lines[0], lines
        return
    assert run.code in (0, 1), run.err
    gaps = load(only_bundle(tmp_path / "out"), "coverage.json")["gaps"]
    assert any(g["reason"] in ("parse_error", "vanished") for g in gaps), gaps


_NO_EXTRA = """
import sys
for name in ("pyewf", "pyqcow", "pyvmdk", "pyvhdi", "pyvsgpt", "pyvslvm", "pyfsext", "pyfsntfs",
             "pyfsxfs", "pyfsapfs"):
    sys.modules[name] = None  # an import of it fails, as when the extra is not installed
from sitesweep.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_the_extra_a_disk_image_is_one_line_naming_it(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path
) -> None:
    from imagebuild import docker_image

    _root, _bundle, raw = suspect
    for image in (raw, convert(raw, "qcow2", tmp_path / "disk.qcow2")):
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _NO_EXTRA,
                "scan",
                "--image",
                str(image),
                "--output",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert "'images' extra" in lines[0]
        assert "pip install --require-hashes -r requirements-images.lock" in lines[0]
    layer = FakeRoot(tmp_path / "layer")
    layer.add_file("/etc/os-release", "ID=debian\n")
    oci = tmp_path / "image.tar"
    docker_image(oci, [layer.path], ["ADD base"], {})
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _NO_EXTRA,
            "scan",
            "--image",
            str(oci),
            "--output",
            str(tmp_path / "oci-out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_links_resolve_inside_the_disk_image(tmp_path: Path) -> None:
    from sitesweep.errors import HostReadError
    from sitesweep.hostfs import HostRoot
    from sitesweep.model import GapReason

    tree = FakeRoot(tmp_path / "tree")
    tree.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    tree.add_symlink("/srv/abs", "/etc/passwd")
    tree.add_symlink("/srv/climb", "../../../../../etc/passwd")
    tree.add_symlink("/srv/loop", "/srv/loop")
    tree.add_symlink("/srv/dir", "/etc")
    os.mkfifo(tree.host("/srv/fifo"))
    image = HostRoot.image(ext4(tree.path, tmp_path / "links.img"))
    try:
        assert image.read_text("/srv/abs", 100).startswith("root:x:0:0")
        assert image.read_text("/srv/climb", 100) == image.read_text("/srv/abs", 100)
        assert image.resolve_host("/srv/climb") == "/etc/passwd"
        assert image.resolve_host("/srv/dir/../srv/abs") == "/etc/passwd"
        assert image.resolve_host("/srv/dir/../../srv") == "/srv"
        assert [e.name for e in image.listdir("/srv/dir")] == ["passwd"]
        with pytest.raises(HostReadError) as caught:
            image.read_text("/srv/loop", 100)
        assert caught.value.reason is GapReason.SYMLINK_LOOP
        with pytest.raises(HostReadError) as caught:
            image.open_nofollow("/srv/abs")
        assert caught.value.reason is GapReason.SPECIAL_FILE
        with pytest.raises(HostReadError) as caught:
            image.read_bytes("/srv/fifo", 100)
        assert caught.value.reason is GapReason.SPECIAL_FILE
        kinds = {e.name: e for e in image.listdir("/srv")}
        assert kinds["abs"].is_symlink()
        assert not kinds["fifo"].is_file()
    finally:
        image.close()


def test_nanoseconds_and_owners_are_read_from_the_inode(tmp_path: Path) -> None:
    """mkfs.ext4 1.47.0 keeps whole seconds only: set an inode's sub-second time and owner
    with debugfs and read them back through the door."""
    from diskbuild import debugfs_write
    from sitesweep.hostfs import HostRoot

    tree = FakeRoot(tmp_path / "tree")
    tree.add_file("/srv/a.py", "x = 1\n", mode=0o640)
    image = ext4(tree.path, tmp_path / "ns.img")
    debugfs_write(
        image,
        "sif /srv/a.py mtime @1774348800",
        f"sif /srv/a.py mtime_extra {123456789 << 2}",
        "sif /srv/a.py uid 1000",
        "sif /srv/a.py gid 1001",
    )
    root = HostRoot.image(image)
    try:
        info = root.lstat("/srv/a.py")
        assert info.mtime == 1774348800 + 123456789 * 1e-9
        assert (info.uid, info.gid, info.mode & 0o7777) == (1000, 1001, 0o640)
    finally:
        root.close()


def test_an_xfs_filesystem_gives_the_same_detections(tmp_path: Path, run_cli: RunCli) -> None:
    """XFS built from a protofile (it sets its own times and has no hard links: the findings
    and verdict are compared, not the inventory)."""
    from builders import malicious_pth_content
    from diskbuild import xfs

    tree = FakeRoot(tmp_path / "host")  # no names with spaces: a protofile cannot say them
    tree.add_os_release()
    tree.add_passwd([("alice", 1000, "/home/alice")])
    tree.add_venv(VENV)
    tree.add_dist(SITE, "litellm", "1.82.8")
    tree.add_pth(SITE, "litellm_init.pth", malicious_pth_content(tree.marker))
    tree.add_symlink("/home/alice/app/current", ".venv")
    by_root = tmp_path / "by-root"
    assert _main("scan", "--root", str(tree.path), "--output", str(by_root)) == 1
    image = convert(xfs(tree.path, tmp_path / "xfs.img"), "qcow2", tmp_path / "xfs.qcow2")
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")

    def seen(b: Path) -> Set[Tuple[str, str, Tuple[str, ...]]]:
        return {(f[1], f[2], f[3]) for f in _findings(b)}

    assert seen(bundle) == seen(only_bundle(by_root))
    verdict = load(bundle, "findings.json")["outcome"]["verdict"]
    assert verdict == load(only_bundle(by_root), "findings.json")["outcome"]["verdict"]
    (volume,) = load(bundle, "image.json")["disk"]["volumes"]
    assert (volume["filesystem"], volume["mount_point"]) == ("xfs", "/")
    assert not tree.marker.exists()


def test_an_ntfs_volume_is_read_without_mounting(tmp_path: Path) -> None:
    """ntfscp copies files into a fresh NTFS (it makes no directories): the door lists and
    reads them, and hides the filesystem's own records ($MFT ...)."""
    from diskbuild import ntfs
    from sitesweep.hostfs import HostRoot

    pth = tmp_path / "litellm_init.pth"
    pth.write_bytes(b"import os\n" * 1000)
    readme = tmp_path / "readme.txt"
    readme.write_text("hello\n")
    image = ntfs([(pth, "/litellm_init.pth"), (readme, "/readme.txt")], tmp_path / "ntfs.img")
    root = HostRoot.image(convert(image, "vhdx", tmp_path / "ntfs.vhdx"))
    try:
        assert [e.name for e in root.listdir("/")] == ["litellm_init.pth", "readme.txt"]
        assert root.read_bytes("/litellm_init.pth", 1 << 20) == pth.read_bytes()
        assert root.lstat("/readme.txt").size == 6
        assert root.lstat("/readme.txt").mtime == pytest.approx(readme.stat().st_mtime, abs=1)
        (volume,) = root.door.info.volumes  # type: ignore[attr-defined]
        assert volume.filesystem == "ntfs"
    finally:
        root.close()


def test_a_looping_extended_partition_chain_stops_and_is_a_gap(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """A hand-made MBR whose second extended boot record points back at the first: the first
    logical partition is read, the loop is a parse_error gap, the scan ends."""
    import struct

    tree = FakeRoot(tmp_path / "tree")
    tree.add_os_release()
    tree.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    fs = ext4(tree.path, tmp_path / "fs.img")
    sectors = fs.stat().st_size // 512

    def entry(kind: int, lba: int, count: int) -> bytes:
        return struct.pack("<B3xB3xII", 0, kind, lba, count)

    def boot(*entries: bytes) -> bytes:
        table = b"".join(entries).ljust(64, b"\0")
        return b"\0" * 440 + b"\x01\x02\x03\x04" + b"\0\0" + table + b"\x55\xaa"

    ext_start = 2048
    disk = bytearray(b"\0" * ((ext_start + 2048 + sectors + 2048) * 512))
    disk[0:512] = boot(entry(0x05, ext_start, 2048 + sectors))
    disk[ext_start * 512 : ext_start * 512 + 512] = boot(
        entry(0x83, 2048, sectors), entry(0x05, 0, 2048 + sectors)
    )
    disk[(ext_start + 2048) * 512 : (ext_start + 2048) * 512 + fs.stat().st_size] = fs.read_bytes()
    image = tmp_path / "loop.img"
    image.write_bytes(bytes(disk))
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "out")
    doc = load(bundle, "image.json")["disk"]
    assert [v["name"] for v in doc["volumes"]] == ["p5"]
    assert doc["volumes"][0]["part_uuid"] == "04030201-05"
    details = [g["detail"] for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert any("chain loops" in d for d in details), details


def test_a_corrupt_directory_is_a_gap_for_its_path_and_the_scan_goes_on(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """One directory's extent header overwritten (debugfs, in place): the rest is scanned."""
    import shutil

    from diskbuild import debugfs_write

    _root, _bundle, raw = suspect
    image = tmp_path / "damaged.img"
    shutil.copyfile(raw, image)
    debugfs_write(image, "sif /home/alice/.aws block[0] 0")
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    assert f"{SITE}/litellm_init.pth" in {f[3][0] for f in _findings(bundle) if f[3]}
    gaps = load(bundle, "coverage.json")["gaps"]
    damaged = [g for g in gaps if g["area"] == "image" and g["path"] == "/home/alice"]
    assert [g["reason"] for g in damaged] == ["parse_error"], gaps
    assert "unreadable" in damaged[0]["detail"]


def test_a_vmdk_descriptor_cannot_name_a_file_outside_its_directory(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """An extent named ``../elsewhere/disk-flat.vmdk`` is looked for next to the descriptor
    only (its base name): the file outside is never opened."""
    _root, _bundle, raw = suspect
    made = tmp_path / "made"
    made.mkdir()
    descriptor = convert(raw, "vmdk", made / "disk.vmdk", "subformat=monolithicFlat")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (made / "disk-flat.vmdk").rename(elsewhere / "disk-flat.vmdk")
    text = descriptor.read_text().replace('"disk-flat.vmdk"', '"../elsewhere/disk-flat.vmdk"')
    descriptor.write_text(text)
    run = run_cli("scan", "--image", str(descriptor), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    assert str(made / "disk-flat.vmdk") in run.err
    assert "cannot be opened" in run.err


def test_a_directory_scan_loads_no_disk_reader(tmp_path: Path) -> None:
    """Start-up cost: ``scan --root`` and a container image never import the disk door or a
    libyal binding; a disk image loads only the readers it needs."""
    from test_lazy_imports import imported_after

    tree = FakeRoot(tmp_path / "tree")
    tree.add_os_release()
    modules = ("sitesweep.door.disk", "sitesweep.door.diskvol", "pyfsext", "pyqcow", "pyewf")
    code = (
        "from pathlib import Path\n"
        "from sitesweep.pipeline import ScanOptions, run_scan\n"
        f"run_scan(ScanOptions(root=Path({str(tree.path)!r})))\n"
    )
    assert imported_after(code, modules) == []
    image = ext4(tree.path, tmp_path / "fs.img")
    code = code.replace("root=", "image=").replace(str(tree.path), str(image))
    assert imported_after(code, modules) == [
        "pyfsext",
        "sitesweep.door.disk",
        "sitesweep.door.diskvol",
    ]


def test_lvm_logical_volumes_on_an_mbr_partition_are_read_and_placed(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """Root and /home as logical volumes of vg0 on a type 8e partition; fstab names /home by
    its device-mapper name."""
    from diskbuild import lvm_pv

    whole = FakeRoot(tmp_path / "whole")
    build_wide(whole)
    whole_seconds(whole.path)
    by_root = tmp_path / "by-root"
    assert _main("scan", "--root", str(whole.path), "--output", str(by_root)) == 1
    rootfs = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(whole.path), str(rootfs)], check=True)
    homefs = tmp_path / "homefs"
    (rootfs / "home").rename(homefs)
    (rootfs / "home").mkdir()
    (rootfs / "etc" / "fstab").write_text(
        "/dev/mapper/vg0-root / ext4 defaults 0 1\n/dev/mapper/vg0-home /home ext4 defaults 0 2\n"
    )
    whole_seconds(rootfs)
    root_img, home_img = ext4(rootfs, tmp_path / "root.img"), ext4(homefs, tmp_path / "home.img")
    pv = lvm_pv([("root", root_img.read_bytes()), ("home", home_img.read_bytes())], tmp_path / "pv")
    disk = tmp_path / "lvm.img"
    partitioned(disk, "dos", [("8e", pv.stat().st_size // MIB + 1, pv)])
    run = run_cli("scan", "--image", str(disk), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    assert _findings(bundle) == _findings(only_bundle(by_root))
    doc = load(bundle, "image.json")["disk"]
    by_name = {v["name"]: v for v in doc["volumes"]}
    assert set(by_name) == {"vg0/root", "vg0/home"}
    assert doc["root"] == "vg0/root"
    assert by_name["vg0/home"]["mount_point"] == "/home"
    assert by_name["vg0/home"]["scheme"] == "lvm"


def test_an_efi_system_partition_is_read_and_placed_at_boot_efi(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """A UEFI disk: a FAT EFI system partition and the root; fstab mounts the ESP at /boot/efi
    by its serial. Nothing is left unscanned, so the verdict is not made incomplete by it."""
    from diskbuild import vfat

    tree = FakeRoot(tmp_path / "root")
    build_wide(tree)
    tree.add_dir("/boot/efi")
    grub = tmp_path / "grub.cfg"
    grub.write_text("search.fs_uuid 0000 root\n")
    os.utime(grub, (1774348800, 1774348800))
    esp = tmp_path / "esp.img"
    serial = vfat([(grub, "/EFI/debian/grub.cfg")], esp, "ESP")
    tree.add_file("/etc/fstab", f"UUID={serial} /boot/efi vfat umask=0077 0 1\n")
    whole_seconds(tree.path)
    rootfs = ext4(tree.path, tmp_path / "root.img")
    disk = tmp_path / "uefi.img"
    partitioned(disk, "gpt", [("U", 8, esp), ("L", rootfs.stat().st_size // MIB, rootfs)])
    image = convert(disk, "qcow2", tmp_path / "uefi.qcow2")

    from sitesweep.hostfs import HostRoot

    root = HostRoot.image(image)
    try:
        assert root.read_text("/boot/efi/EFI/debian/grub.cfg", 100) == grub.read_text()
        assert root.lstat("/boot/efi/EFI/debian/grub.cfg").mtime == 1774348800
        assert root.stat_result("/boot/efi").st_dev != root.stat_result("/").st_dev
        assert root.door.gaps == ()  # type: ignore[attr-defined]
    finally:
        root.close()
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    assert load(bundle, "findings.json")["outcome"]["incomplete"] == []
    by_name = {v["name"]: v for v in load(bundle, "image.json")["disk"]["volumes"]}
    assert (by_name["p1"]["filesystem"], by_name["p1"]["mount_point"]) == ("vfat", "/boot/efi")
    assert by_name["p1"]["uuid"] == serial
    assert by_name["p2"]["mount_point"] == "/"


def test_a_second_operating_system_on_the_disk_is_named_not_scanned(
    tmp_path: Path, run_cli: RunCli
) -> None:
    first = FakeRoot(tmp_path / "first")
    first.add_os_release("debian", "12")
    second = FakeRoot(tmp_path / "second")
    second.add_os_release("ubuntu", "22.04")
    images = [ext4(t.path, tmp_path / f"{t.path.name}.img") for t in (first, second)]
    disk = tmp_path / "two.img"
    partitioned(disk, "gpt", [("L", i.stat().st_size // MIB, i) for i in images])
    run = run_cli("scan", "--image", str(disk), "--output", str(tmp_path / "out"))
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "out")
    doc = load(bundle, "image.json")["disk"]
    assert (doc["root"], doc["root_reason"]) == ("p1", "holds /etc/os-release")
    gaps = [g["detail"] for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert any("volume p2 (ext4" in d and "another operating system" in d for d in gaps), gaps
    assert load(bundle, "findings.json")["outcome"]["verdict"] == "incomplete"


def test_a_windows_system_drive_is_the_root_and_gives_the_same_findings(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """A Windows layout (hives, profiles, a venv with litellm 1.82.8 and its .pth) on a FAT
    volume in a VHDX (no NTFS writer without mounting: FAT stands in, also read without case):
    the root is told by /Windows/System32/config and the findings are those of --root."""
    from builders import malicious_pth_content
    from diskbuild import vfat_tree
    from osimages import windows_image

    tree = windows_image(FakeRoot(tmp_path / "win"))
    venv = "/Users/alice/projects/api/.venv"
    tree.add_venv(venv, python="3.12", windows=True)
    tree.add_dist(f"{venv}/Lib/site-packages", "litellm", "1.82.8")
    tree.add_pth(
        f"{venv}/Lib/site-packages", "litellm_init.pth", malicious_pth_content(tree.marker)
    )
    by_root = tmp_path / "by-root"
    assert _main("scan", "--root", str(tree.path), "--output", str(by_root)) == 1
    image = convert(vfat_tree(tree.path, tmp_path / "c.img"), "vhdx", tmp_path / "c.vhdx")
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")

    def seen(b: Path) -> Set[Tuple[str, str, Tuple[str, ...]]]:
        return {(f[1], f[2], f[3]) for f in _findings(b)}

    assert seen(bundle) == seen(only_bundle(by_root))
    doc = load(bundle, "image.json")["disk"]
    assert doc["root_reason"] == "holds /Windows/System32/config"
    host = load(bundle, "findings.json")["host"]
    assert host == load(only_bundle(by_root), "findings.json")["host"]
    assert not tree.marker.exists()


@pytest.mark.parametrize(
    "options",
    [(), ("-c",), ("-c", "compression_type=zstd"), ("compat=0.10", "cluster_size=4096")],
    ids=["plain", "compressed", "zstd", "v2-small-clusters"],
)
def test_the_qcow2_reader_gives_every_byte_of_the_disk(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, options: Tuple[str, ...]
) -> None:
    """door/qcow2.py against the raw image qemu-img converted, byte for byte (libqcow lost a
    compressed cluster of such an image: that is why the format is read here)."""
    from sitesweep.door.qcow2 import Qcow2

    _root, _bundle, raw = suspect
    image = convert(raw, "qcow2", tmp_path / "disk.qcow2", *options)
    fd = os.open(image, os.O_RDONLY)
    try:
        disk = Qcow2(fd, str(image))
        assert disk.size == raw.stat().st_size
        with raw.open("rb") as fh:
            for offset in range(0, disk.size, 3 * MIB + 4097):  # across cluster boundaries
                fh.seek(offset)
                assert disk.read_at(offset, 3 * MIB + 4097) == fh.read(3 * MIB + 4097), offset
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("vmdk", ("subformat=streamOptimized",)),
        ("vmdk", ("subformat=twoGbMaxExtentSparse",)),
        ("vhdx", ()),
        ("vpc", ()),
        ("vpc", ("subformat=fixed",)),
        ("e01", ()),
    ],
    ids=["vmdk-stream-optimized", "vmdk-split-sparse", "vhdx", "vhd", "vhd-fixed", "e01"],
)
def test_every_container_gives_every_byte_of_the_disk(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, fmt: str, options: Tuple[str, ...]
) -> None:
    """Each container reader against the raw disk it was made from, byte for byte (a VHD is
    padded to its geometry: the bytes past the raw disk are zeros)."""
    from sitesweep.door.diskvol import open_media
    from sitesweep.door.sniff import sniff

    _root, _bundle, raw = suspect
    if fmt == "e01":
        image = ewf(raw, tmp_path / "best", segment_bytes=4 * MIB)
    else:
        image = convert(raw, fmt, tmp_path / f"disk.{fmt}", *options)
    found = sniff(image)
    assert found is not None
    media = open_media(image, found.kind)
    try:
        size = raw.stat().st_size
        assert media.reader.size >= size
        with raw.open("rb") as fh:
            for offset in range(0, size, 3 * MIB + 4097):
                want = fh.read(3 * MIB + 4097)
                assert media.reader.read_at(offset, len(want)) == want, offset
        assert media.reader.read_at(size, 1 << 20).count(0) == media.reader.size - size
    finally:
        media.close()


def _tree_facts(root: Any, skip: Tuple[str, ...] = ()) -> Dict[str, Tuple[Any, ...]]:
    """Every entry under ``/`` read through the door: its lstat facts, a link's target, a
    file's SHA-256 (what a scan can know of each)."""
    import stat as stat_

    facts: Dict[str, Tuple[Any, ...]] = {}
    pending = ["/"]
    while pending:
        directory = pending.pop()
        for entry in root.listdir(directory):
            path = f"{directory.rstrip('/')}/{entry.name}"
            if path in skip:
                continue
            st = root.stat_result(path)
            what: Any = None
            if stat_.S_ISLNK(st.st_mode):
                what = root.readlink(path)
            elif stat_.S_ISREG(st.st_mode):
                what = root.digest(path, 1 << 30).sha256
            elif stat_.S_ISDIR(st.st_mode):
                pending.append(path)
            size = 0 if stat_.S_ISDIR(st.st_mode) else st.st_size
            facts[path] = (
                st.st_mode,
                st.st_uid,
                st.st_gid,
                size,
                st.st_mtime_ns,
                st.st_nlink,
                what,
            )
    return facts


def test_every_file_round_trips_through_the_disk_door(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path
) -> None:
    """The whole suspect tree, entry by entry: mode, owner, size, mtime (ns), link count, link
    target and content are what the directory door reads (directory link counts aside: ext4
    counts lost+found in /)."""
    from sitesweep.hostfs import HostRoot

    root, _bundle, raw = suspect
    tree = HostRoot(root.path)
    image = HostRoot.image(convert(raw, "qcow2", tmp_path / "disk.qcow2", "-c"))
    try:
        want = _tree_facts(tree)
        got = _tree_facts(image, skip=("/lost+found",))
        assert set(got) == set(want)
        for path, facts in want.items():
            same = got[path]
            if stat.S_ISDIR(facts[0]):
                assert same[:5] == facts[:5], path
            else:
                assert same == facts, path
    finally:
        image.close()
        tree.close()


@pytest.mark.parametrize("seed", range(6))
def test_random_damage_in_the_metadata_never_crashes_the_scan(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli, seed: int
) -> None:
    """20-200 small runs of random bytes in the first MiB of the ext4 image (superblock, group
    descriptors, bitmaps, inode tables): exit 1 or 2, never a traceback (80 such images were
    tried by hand: all exit 1 but one, exit 2 with one line)."""
    import random

    _root, _bundle, raw = suspect
    rnd = random.Random(seed)
    data = bytearray(raw.read_bytes())
    for _ in range(rnd.randint(20, 200)):
        offset, length = rnd.randrange(1024, MIB), rnd.choice([1, 2, 4, 8])
        data[offset : offset + length] = bytes(rnd.randrange(256) for _ in range(length))
    image = tmp_path / "damaged.img"
    image.write_bytes(bytes(data))
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code in (0, 1, 2), run.err
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err, run.err
    if run.code == 2:
        assert len([line for line in run.err.splitlines() if line.strip()]) == 1, run.err


def test_a_macos_data_volume_is_joined_by_the_firmlinks(tmp_path: Path, run_cli: RunCli) -> None:
    """macOS keeps /Users, /private, /Library on a data volume that /usr/share/firmlinks joins
    to the system volume. Two ext4 volumes stand in for the APFS pair (no APFS writer here):
    the scan sees the merged tree, as --root sees it."""
    from builders import malicious_pth_content
    from osimages import macos_image

    whole = macos_image(FakeRoot(tmp_path / "whole"))
    venv = "/Users/alice/app/.venv"
    site = f"{venv}/lib/python3.11/site-packages"
    whole.add_venv(venv)
    whole.add_dist(site, "litellm", "1.82.8")
    whole.add_pth(site, "litellm_init.pth", malicious_pth_content(whole.marker))
    whole_seconds(whole.path)
    by_root = tmp_path / "by-root"
    assert _main("scan", "--root", str(whole.path), "--output", str(by_root)) == 1

    system, data = tmp_path / "system", tmp_path / "data"
    subprocess.run(["cp", "-a", str(whole.path), str(system)], check=True)
    data.mkdir()
    firmlinks = []
    for name in ("Users", "private", "Library"):
        (system / name).rename(data / name)
        (system / name).mkdir()
        firmlinks.append(f"/{name}\t{name}\n")
    (system / "usr" / "share").mkdir(parents=True)
    (system / "usr" / "share" / "firmlinks").write_text("".join(firmlinks))
    (system / "System" / "Volumes" / "Data").mkdir(parents=True)
    (data / ".fseventsd").mkdir()  # reached through no firmlink
    images = [
        ext4(system, tmp_path / "system.img"),
        ext4(data, tmp_path / "data.img", label="HD - Data"),
    ]
    disk = tmp_path / "mac.img"
    partitioned(disk, "gpt", [("L", i.stat().st_size // MIB, i) for i in images])
    run = run_cli("scan", "--image", str(disk), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")

    def seen(b: Path) -> Set[Tuple[str, str, Tuple[str, ...]]]:
        return {(f[1], f[2], f[3]) for f in _findings(b)}

    assert seen(bundle) == seen(only_bundle(by_root))
    assert (
        load(bundle, "findings.json")["host"] == load(only_bundle(by_root), "findings.json")["host"]
    )
    by_name = {v["name"]: v for v in load(bundle, "image.json")["disk"]["volumes"]}
    assert by_name["p2"]["mount_point"] == "/System/Volumes/Data"
    assert "3 firmlinks" in by_name["p2"]["note"]
    from sitesweep.hostfs import HostRoot

    door = HostRoot.image(disk)
    try:
        assert [e.name for e in door.listdir("/System/Volumes/Data")] == [
            ".fseventsd",
            "lost+found",
        ]
        assert door.resolve_host("/etc/passwd") == "/private/etc/passwd"
        assert door.stat_result("/Users").st_dev != door.stat_result("/").st_dev
    finally:
        door.close()
    assert not [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert not whole.marker.exists()


def test_collect_reads_a_disk_image_and_analyze_gives_its_findings(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    _root, by_root, raw = suspect
    run = run_cli("collect", "--image", str(raw), "--output", str(tmp_path / "c"))
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "c")
    assert "image.json" in load(bundle, "manifest.json")["files"]
    run = run_cli("analyze", str(bundle), "--output", str(tmp_path / "a"))
    assert run.code == 1, run.err
    analysis = only_bundle(tmp_path / "a")
    assert {f[1:] for f in _findings(analysis)} == {f[1:] for f in _findings(by_root)}


def test_a_block_device_is_read_as_a_raw_disk(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """An evidence disk attached read-only (here: the raw image on a read-only loop device,
    ``losetup -r``; root only), named through a symlink as /dev/disk/by-id names it."""
    import shutil

    _root, by_root, raw = suspect
    losetup = shutil.which("losetup", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if os.geteuid() != 0 or losetup is None:
        pytest.skip("needs root and losetup (util-linux) to attach a read-only loop device")
    attach = subprocess.run(
        [losetup, "-r", "-f", "--show", str(raw)], capture_output=True, text=True, check=False
    )
    if attach.returncode != 0:
        pytest.skip(f"no loop device here: {attach.stderr.strip()}")
    device = attach.stdout.strip()
    try:
        link = tmp_path / "by-id-disk"
        link.symlink_to(device)
        run = run_cli("scan", "--image", str(link), "--output", str(tmp_path / "out"))
        assert run.code == 1, run.err
        bundle = only_bundle(tmp_path / "out")
        _same_scan(by_root, bundle)
        disk = load(bundle, "image.json")["disk"]
        assert disk["sniffed"].startswith("ext2/3/4 superblock")
        assert disk["media_size"] == raw.stat().st_size
    finally:
        subprocess.run([losetup, "-d", device], check=False)


def test_an_ova_is_read_from_its_vmdk_member_in_place(
    suspect: Tuple[FakeRoot, Path, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    """An OVA (a tar: the OVF descriptor first, then a stream-optimized VMDK, then a second
    disk): the first disk is scanned where it lies in the tar, the second is a gap."""
    import tarfile

    _root, by_root, raw = suspect
    vmdk = convert(raw, "vmdk", tmp_path / "disk1.vmdk", "subformat=streamOptimized")
    ovf = tmp_path / "vm.ovf"
    ovf.write_text('<?xml version="1.0"?><Envelope/>\n')
    ova = tmp_path / "vm.ova"
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as tar:
        tar.add(ovf, "vm.ovf")
        tar.add(vmdk, "disk1.vmdk")
        tar.add(vmdk, "disk2.vmdk")
    run = run_cli("scan", "--image", str(ova), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    _same_scan(by_root, bundle, skipped_volumes=True)
    disk = load(bundle, "image.json")["disk"]
    assert (disk["format"], disk["files"]) == ("ova", ["vm.ova", "disk1.vmdk"])
    details = [g["detail"] for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert any("more disks" in d and "disk2.vmdk" in d for d in details), details
