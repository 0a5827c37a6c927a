"""Acceptance of issue 19: one suspect host (:func:`heldout.build_heldout`: many kinds of
environment, litellm 1.82.8 with its ``.pth`` and 1.82.7, a clean litellm, sysmon and cron
persistence, credentials, histories, a symlinked site-packages, hard links, a non-UTF-8 name, a
large and a sparse file, deep directories, past times), packed as a responder is handed it: a
raw ext4 image, a cloud VM's GPT disk (BIOS boot, EFI system partition placed by fstab, the root
third), that disk as a compressed qcow2, and a ``docker save`` tarball of three layers (whiteouts
deleting a stale ``.pth`` that the last layer re-adds, a clean litellm, an opaque directory),
and the same layers as an OCI archive (gzip layers: podman, skopeo, buildah).

Each must tell the responder what ``scan --root`` of the tree tells: verdict, findings (ids,
rules, severities, titles, paths, evidence), the rotation list, environments, inventory and
coverage gaps. The only differences allowed are the honest ones, listed here:

- every image: each finding about a file of a container image carries ``image`` and ``layer``
  evidence lines; a container image is named after itself (its host name and machine id);
- a disk: its ext4 has ``/lost+found`` (one more directory walked); a BIOS boot partition
  is named in a ``filesystem_not_crossed`` gap (no files); the root filesystem alone (raw ext4)
  lacks the EFI partition its fstab mounts: a gap, and the scan is incomplete for that alone;
- a container layer holds a sparse file's holes as zeros (Docker's and Python's tar writers
  keep no holes), so the sparse wheel is a read cache artifact there, not a ``sparse_file`` gap.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from diskbuild import MIB, convert, ext4, fs_uuid, need, partitioned, vfat, whole_seconds
from diskbuild import _run as mkfs
from heldout import LAYER_HISTORY, PAST, SITE, SPARSE, build_heldout, split_layers
from imagebuild import docker_image, oci_image
from scanrun import load, only_bundle

PACKINGS = [
    "raw-ext4",
    "gpt-disk",
    "gpt-disk-short",
    "qcow2-compressed",
    "docker-save",
    "oci-archive",
]
TAG = "registry.example/suspect:2026-03"


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The tree, its ``--root`` bundle and printed lines, and the images it is packed as."""
    need("mkfs.ext4", "qemu-img", "sfdisk", "mkfs.vfat")
    base = tmp_path_factory.mktemp("heldout")
    root = FakeRoot(base / "host")
    build_heldout(root)
    efi = base / "efi.img"
    serial = vfat([], efi, "EFI", 8)
    root_uuid = fs_uuid()
    fstab = f"UUID={root_uuid} / ext4 defaults 0 1\nUUID={serial} /boot/efi vfat umask=0077 0 1\n"
    root.add_file("/etc/fstab", fstab)
    root.add_dir("/boot/efi")
    for path in ("/etc/fstab", "/boot/efi", "/boot", "/etc"):
        os.utime(root.host(path), (PAST, PAST))
    whole_seconds(root.path)
    out = base / "by-root"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        from sitesweep.cli import main

        code = main(["scan", "--root", str(root.path), "--output", str(out)])
    assert code == 1
    raw = ext4(root.path, base / "root.img", fs_uuid=root_uuid)
    disk = base / "disk.img"
    parts = [("21686148-6449-6E6F-744E-656564454649", 1, None), ("U", 8, efi)]
    partitioned(disk, "gpt", [*parts, ("L", raw.stat().st_size // MIB, raw)])
    tarball = base / "suspect.tar"
    layers = split_layers(root.path, base / "layers")
    config = {"Env": ["OPENAI_API_KEY=sk-x"]}
    docker_image(tarball, layers, LAYER_HISTORY, config, tag=TAG)
    oci_archive = base / "suspect.oci.tar"
    oci_image(oci_archive, layers, LAYER_HISTORY, config, name=TAG)
    images = {
        "raw-ext4": raw,
        "gpt-disk": disk,
        "gpt-disk-short": _short_copy(disk, base / "short.img"),
        "qcow2-compressed": convert(disk, "qcow2", base / "disk.qcow2", "-c"),
        "docker-save": tarball,
        "oci-archive": oci_archive,
    }
    return {"root": root, "bundle": only_bundle(out), "printed": printed.getvalue(), **images}


LONE_EFI = "/etc/fstab mounts UUID="


def _outcome(bundle: Path, lone: bool) -> Dict[str, Any]:
    """The outcome; for a lone root filesystem, the scan is incomplete for one reason only: its
    fstab mounts the EFI system partition, which is not in that image."""
    outcome: Dict[str, Any] = load(bundle, "findings.json")["outcome"]
    if lone:
        assert outcome["incomplete"] == ["check(s) that did not run or finish: image"]
        outcome["incomplete"] = []
        (efi,) = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
        assert (efi["path"], efi["reason"]) == ("/boot/efi", "check_skipped")
        assert efi["detail"].startswith(LONE_EFI)
        assert efi["detail"].endswith("(vfat) here: it is not on this disk image")
    return outcome


def _short_copy(disk: Path, out: Path) -> Path:
    """The disk acquired 33 sectors short: its backup GPT (header and entry array, the disk's
    last sectors) is missing, every partition is whole. libvsgpt refused such a disk, so it
    was 'no volume found', exit 2."""
    data = disk.read_bytes()
    out.write_bytes(data[: len(data) - 33 * 512])
    return out


def _told(printed: str) -> List[str]:
    """What the scan printed for a responder: its verdict, what to rotate, each finding."""
    kinds = ("verdict", "rotate", "finding")
    return sorted(line for line in printed.splitlines() if line.split("\t")[0] in kinds)


def _findings(bundle: Path, container: bool) -> List[Tuple[Any, ...]]:
    rows = []
    for f in load(bundle, "findings.json")["findings"]:
        evidence = [(e["label"], e["value"]) for e in f["evidence"]]
        if container:
            labels = [label for label, _value in evidence]
            assert "image" in labels, f
            assert "layer" in labels or not f["paths"], f
            evidence = [(k, v) for k, v in evidence if k not in ("image", "layer")]
        rows.append(
            (f["id"], f["rule"], f["severity"], f["title"], tuple(f["paths"]), tuple(evidence))
        )
    return sorted(rows)


def _inventory(bundle: Path) -> Dict[str, Any]:
    doc: Dict[str, Any] = load(bundle, "inventory.json")
    doc.pop("identity")
    doc.pop("dirs_walked")
    doc["gaps"] = [g for g in doc["gaps"] if g["path"] != SPARSE]
    doc["cached_artifacts"] = [a for a in doc["cached_artifacts"] if a["path"] != SPARSE]
    return doc


def _gaps(bundle: Path) -> List[str]:
    """Every gap but the sparse wheel's and the disk's volumes without files (image facts)."""
    gaps = load(bundle, "coverage.json")["gaps"]
    return sorted(
        json.dumps(g, sort_keys=True)
        for g in gaps
        if g["path"] != SPARSE
        and (g["area"], g["reason"]) != ("image", "filesystem_not_crossed")
        and not g["detail"].startswith(LONE_EFI)
    )


EXT4_VARIANTS = {
    "no-journal": ("-O", "^has_journal"),
    "64bit-metadata-csum": ("-O", "64bit,metadata_csum"),
    "32bit-no-csum": ("-O", "^64bit,^metadata_csum"),
    "128-byte-inodes": ("-I", "128"),
    "1k-blocks": ("-b", "1024"),
    "inline-data": ("-O", "inline_data"),
    "ext3": ("-t", "ext3"),
}


@pytest.mark.parametrize("variant", list(EXT4_VARIANTS))
def test_every_ext4_variant_mkfs_makes_gives_the_same_detections(
    packed: Dict[str, Any], variant: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """A file system made with other ``mkfs.ext4`` options reads the same. ``inline_data``:
    libfsext gave a file of more than 60 bytes held in its inode cut at byte 60 and zeros (every
    small dist-info file then failed RECORD verification, silently)."""
    image = tmp_path / "variant.img"
    with image.open("wb") as fh:
        fh.truncate(packed["raw-ext4"].stat().st_size)
    options = ("-q", "-F", *EXT4_VARIANTS[variant], "-E", "root_owner")
    mkfs("mkfs.ext4", *options, "-d", str(packed["root"].path), str(image))
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle, by_root = only_bundle(tmp_path / "out"), packed["bundle"]
    assert _outcome(bundle, lone=True) == _outcome(by_root, lone=False)
    assert _findings(bundle, False) == _findings(by_root, False)
    assert _inventory(bundle) == _inventory(by_root)
    assert _gaps(bundle) == _gaps(by_root)


@pytest.mark.parametrize("packing", PACKINGS)
def test_each_packing_tells_what_the_directory_scan_tells(
    packed: Dict[str, Any], packing: str, tmp_path: Path, run_cli: RunCli
) -> None:
    by_root: Path = packed["bundle"]
    image: Path = packed[packing]
    container = packing in ("docker-save", "oci-archive")
    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")

    assert _told(run.out) == _told(packed["printed"])
    lone = packing == "raw-ext4"
    assert _outcome(bundle, lone) == _outcome(by_root, lone=False)
    assert _outcome(by_root, lone=False)["verdict"] == "compromised"
    assert ("not-checked" in run.out) is lone
    assert _findings(bundle, container) == _findings(by_root, False)
    assert load(bundle, "environments.json") == load(by_root, "environments.json")
    assert _inventory(bundle) == _inventory(by_root)
    assert _gaps(bundle) == _gaps(by_root)
    walked = load(bundle, "inventory.json")["dirs_walked"]
    assert walked == load(by_root, "inventory.json")["dirs_walked"] + (0 if container else 1)

    doc = load(bundle, "image.json")
    assert load(bundle, "manifest.json")["scan_root"] == str(image)
    pth = f"{SITE}/litellm_init.pth"
    if container:
        assert "disk" not in doc
        assert (doc["name"], doc["hostname_in_image"]) == (TAG, "build-07")
        digests = [layer["digest"] for layer in doc["layers"]]
        assert len(digests) == 3
        assert doc["files"][pth] == digests[2], "the .pth the last layer re-added"
        assert doc["env_names"] == ["OPENAI_API_KEY"]
        assert "sk-x" not in json.dumps(doc)
        # The sparse wheel, stored in full by the layer, is read like any cached wheel.
        assert SPARSE in {a["path"] for a in load(bundle, "inventory.json")["cached_artifacts"]}
    else:
        disk = doc["disk"]
        scanned = {v["name"]: v["mount_point"] for v in disk["volumes"] if v["scanned"]}
        if packing == "raw-ext4":
            assert scanned == {"disk": "/"}
        else:
            assert scanned == {"p3": "/", "p2": "/boot/efi"}
            assert disk["partition_table"] == "gpt"
            assert disk["root"] == "p3"
            # A BIOS boot partition (every cloud image has one) holds no files: named, not a
            # check that did not run (the outcome above is not incomplete).
            (bios,) = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
            assert bios["reason"] == "filesystem_not_crossed"
            assert "volume p1" in bios["detail"]
            assert "BIOS boot" in bios["detail"]
        sparse = [g for g in load(bundle, "coverage.json")["gaps"] if g["path"] == SPARSE]
        assert [g["reason"] for g in sparse] == ["sparse_file"]
    assert not packed["root"].marker.exists()


def test_a_responder_reads_the_image_named_verifies_and_reports(
    packed: Dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    """``scan --image disk.qcow2 --json`` names the image it scanned (the host is the disk's own
    hostname), each bundle verifies intact, and ``report`` over the bundles of a disk and a
    container image gives one compromised row each, with the affected releases."""
    out = tmp_path / "out"
    qcow2, tarball = packed["qcow2-compressed"], packed["docker-save"]
    run = run_cli("scan", "--image", str(qcow2), "--output", str(out), "--json")
    assert run.code == 1, run.err
    doc = json.loads(run.out)
    assert doc["scan_root"] == str(qcow2)
    assert (doc["verdict"], doc["host"]["hostname"]) == ("compromised", "build-07")
    run = run_cli("scan", "--image", str(tarball), "--output", str(out), "--json")
    assert run.code == 1, run.err
    assert json.loads(run.out)["scan_root"] == str(tarball)
    archives = sorted(out.glob("*.tar.gz"))
    assert len(archives) == 2
    for archive in archives:
        run = run_cli("verify", str(archive))
        assert run.code == 0, run.err
        assert "intact: " in run.err, run.err
    run = run_cli("report", str(out))
    rows = [line.split("\t") for line in run.out.splitlines() if line.startswith("host\t")]
    assert sorted((r[1], r[3]) for r in rows) == [("build-07", "compromised"), (TAG, "compromised")]
    assert all(r[-1] == "litellm 1.82.7; litellm 1.82.8" for r in rows), rows
