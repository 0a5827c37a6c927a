"""``scan --image``: container images read where they lie, layers and whiteouts applied in order.

Every image here is a real archive built by :mod:`imagebuild` from fixture trees: an OCI layout
(tarball and directory, gzip layers) and a legacy ``docker save`` tarball.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from imagebuild import docker_image, oci_image
from scanrun import bundle_mentions, load, only_bundle
from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason
from sitesweep.pipeline import ScanOptions, run_scan

VENV = "/opt/venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
SECRET_ENV = "sk-live-3f9a1c0ffee"  # noqa: S105 - a planted marker, must never leave
INDEX_TOKEN = "tok3n-9d8e7f"  # noqa: S105 - a planted marker, must never leave
HISTORY = [
    "/bin/sh -c #(nop) ADD file:base in /",
    "/bin/sh -c rm -rf /opt/venv/lib/python3.11/site-packages/litellm*",
    f"/bin/sh -c pip install litellm==1.82.8 --index-url https://ci:{INDEX_TOKEN}@pypi.example/simple",
]
CONFIG = {
    "Entrypoint": ["/opt/venv/bin/python", "-m", "app"],
    "Cmd": ["--serve"],
    "Env": ["PATH=/opt/venv/bin:/usr/bin", f"OPENAI_API_KEY={SECRET_ENV}"],
    "Labels": {"org.opencontainers.image.source": "https://git.example/app"},
}


def _layers(tmp_path: Path, marker: Path) -> List[Path]:
    """Base with a clean litellm; a layer whiting it out; a layer adding 1.82.8 and its .pth."""
    base = FakeRoot(tmp_path / "l1")
    base.add_file("/etc/os-release", 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    base.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    base.add_venv(VENV)
    base.add_dist(SITE, "litellm", "1.83.0")
    gone = FakeRoot(tmp_path / "l2")
    gone.add_file(f"{SITE}/.wh.litellm", b"")
    gone.add_file(f"{SITE}/.wh.litellm-1.83.0.dist-info", b"")
    bad = FakeRoot(tmp_path / "l3")
    bad.add_dist(SITE, "litellm", "1.82.8")
    bad.add_pth(SITE, "litellm_init.pth", malicious_pth_content(marker))
    return [base.path, gone.path, bad.path]


def _scan(run_cli: RunCli, image: Path, out: Path, command: str = "scan") -> Any:
    return run_cli(command, "--image", str(image), "--output", str(out))


def _findings(bundle: Path) -> List[Dict[str, Any]]:
    return list(load(bundle, "findings.json")["findings"])


@pytest.mark.parametrize("as_dir", [False, True], ids=["oci-tarball", "oci-layout-dir"])
def test_a_later_layer_adding_the_bad_release_is_found_and_named(
    tmp_path: Path, run_cli: RunCli, as_dir: bool
) -> None:
    marker = tmp_path / "EXECUTED"
    image = tmp_path / ("layout" if as_dir else "image.tar")
    digests = oci_image(image, _layers(tmp_path, marker), HISTORY, CONFIG, as_dir=as_dir)
    run = _scan(run_cli, image, tmp_path / "out")
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")

    inventory = load(bundle, "inventory.json")
    versions = {(d["name"], d["version"]) for d in inventory["distributions"]}
    assert versions == {("litellm", "1.82.8")}, "the whiteout removed 1.83.0"
    pth = f"{SITE}/litellm_init.pth"
    about_pth = [f for f in _findings(bundle) if pth in f["paths"]]
    assert about_pth
    evidence = {(e["label"], e["value"]) for f in about_pth for e in f["evidence"]}
    assert ("image", "registry.example/app:1") in evidence
    layer3 = digests["layers"][2]
    assert any(lab == "layer" and v.startswith(f"{pth}: {layer3}") for lab, v in evidence)

    doc = load(bundle, "image.json")
    assert [layer["digest"] for layer in doc["layers"]] == digests["layers"]
    assert doc["files"][pth] == layer3
    assert doc["config_digest"] == digests["config"]
    assert doc["entrypoint"] == ["/opt/venv/bin/python", "-m", "app"]
    assert doc["env_names"] == ["OPENAI_API_KEY", "PATH"]
    assert doc["labels"] == CONFIG["Labels"]
    (pip_line,) = doc["pip_install_history"]
    assert "pip install litellm==1.82.8" in pip_line
    assert doc["layers"][2]["created_by"] == pip_line
    assert not bundle_mentions(bundle, SECRET_ENV), "an environment value left the image"
    assert not bundle_mentions(bundle, INDEX_TOKEN), "a credentialled index URL left the image"
    assert load(bundle, "manifest.json")["scan_root"] == str(image)
    failed = [g for g in load(bundle, "coverage.json")["gaps"] if g["reason"] == "collector_failed"]
    assert not failed, "every collector reads an image through the door (resolve_host, not real)"
    assert not marker.exists()


def test_a_whiteout_removing_the_bad_release_leaves_the_image_clean(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    base = FakeRoot(tmp_path / "l1")
    base.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    base.add_venv(VENV)
    bad = FakeRoot(tmp_path / "l2")
    bad.add_dist(SITE, "litellm", "1.82.8")
    bad.add_pth(SITE, "litellm_init.pth", malicious_pth_content(marker))
    fixed = FakeRoot(tmp_path / "l3")  # an opaque site-packages, then the clean release in it
    fixed.add_file(f"{SITE}/.wh..wh..opq", b"")
    fixed.add_dist(SITE, "litellm", "1.83.0")
    image = tmp_path / "saved.tar"
    docker_image(image, [base.path, bad.path, fixed.path], HISTORY, CONFIG, tag="app:fixed")

    run = _scan(run_cli, image, tmp_path / "out")
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "out")
    inventory = load(bundle, "inventory.json")
    assert {(d["name"], d["version"]) for d in inventory["distributions"]} == {
        ("litellm", "1.83.0")
    }
    assert not inventory["pth_files"]
    assert load(bundle, "image.json")["name"] == "app:fixed"
    assert not marker.exists()


def test_collect_reads_an_image_too(tmp_path: Path, run_cli: RunCli) -> None:
    image = tmp_path / "image.tar"
    oci_image(image, _layers(tmp_path, tmp_path / "EXECUTED"), HISTORY, CONFIG)
    run = _scan(run_cli, image, tmp_path / "out", command="collect")
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "out")
    assert "image.json" in load(bundle, "manifest.json")["files"]


def _truncated(tmp_path: Path) -> Path:
    """A tarball cut in the middle of its last layer (a copy interrupted)."""
    image = tmp_path / "image.tar"
    digests = oci_image(image, _layers(tmp_path, tmp_path / "EXECUTED"), HISTORY, CONFIG)
    with tarfile.open(image) as tar:
        last = tar.getmember("blobs/sha256/" + digests["layers"][2].split(":")[1])
    data = image.read_bytes()
    image.write_bytes(data[: last.offset_data + last.size // 2])
    return image


def _garbage(tmp_path: Path) -> Path:
    image = tmp_path / "garbage.tar"
    image.write_bytes(b"\x00not an image\xff" * 1000)
    return image


def _bad_gzip_layer(tmp_path: Path) -> Path:
    layout = tmp_path / "layout"
    digests = oci_image(
        layout, _layers(tmp_path, tmp_path / "EXECUTED"), HISTORY, CONFIG, as_dir=True
    )
    blob = layout / "blobs" / "sha256" / digests["layers"][2].split(":")[1]
    blob.write_bytes(blob.read_bytes()[:-40])
    return layout


def _no_manifest(tmp_path: Path) -> Path:
    layout = tmp_path / "layout"
    oci_image(layout, _layers(tmp_path, tmp_path / "EXECUTED"), HISTORY, CONFIG, as_dir=True)
    (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": "sha256:00"}]}))
    return layout


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_truncated, "truncated"),
        (_garbage, "not a readable image tarball"),
        (_bad_gzip_layer, "gzip"),
        (_no_manifest, "missing"),
    ],
    ids=["truncated-tarball", "not-a-tarball", "truncated-gzip-layer", "missing-blob"],
)
def test_a_broken_image_is_exit_2_with_a_message(
    tmp_path: Path, run_cli: RunCli, make: Any, says: str
) -> None:
    image = make(tmp_path)
    run = _scan(run_cli, image, tmp_path / "out")
    assert run.code == 2
    assert "error:" in run.err, run.err
    assert says in run.err, run.err
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err


def test_root_and_image_together_are_refused(tmp_path: Path, run_cli: RunCli) -> None:
    image = _garbage(tmp_path)
    run = run_cli(
        "scan", "--root", str(tmp_path), "--image", str(image), "--output", str(tmp_path / "o")
    )
    assert run.code == 2
    assert "--root and --image" in run.err


def test_the_image_door_resolves_links_inside_the_image(tmp_path: Path) -> None:
    one = FakeRoot(tmp_path / "l1")
    one.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    one.add_file("/srv/old/a.txt", "old\n")
    one.add_file("/srv/keep/b.txt", "kept\n")
    one.add_symlink("/srv/abs", "/etc/passwd")
    one.add_symlink("/srv/climb", "../../../../../etc/passwd")
    one.add_symlink("/srv/loop", "/srv/loop")
    (one.path / "srv" / "hard").hardlink_to(one.path / "srv" / "keep" / "b.txt")
    two = FakeRoot(tmp_path / "l2")
    two.add_file("/srv/.wh.old", b"")  # a directory and what is below it
    two.add_file("/srv/keep/.wh..wh..opq", b"")
    two.add_file("/srv/keep/c.txt", "new\n")
    image = tmp_path / "image.tar"
    docker_image(image, [one.path, two.path], ["ADD base", "RUN tidy"], {})

    root = HostRoot.image(image)
    assert root.read_text("/srv/abs", 100) == root.read_text("/srv/climb", 100)
    assert root.read_text("/srv/abs", 100).startswith("root:x:0:0")
    assert root.resolve_host("/srv/climb") == "/etc/passwd"
    assert root.read_text("/srv/hard", 100) == "kept\n"
    assert [e.name for e in root.listdir("/srv/keep")] == ["c.txt"]
    assert "old" not in {e.name for e in root.listdir("/srv")}
    with pytest.raises(HostReadError) as caught:
        root.read_text("/srv/loop", 100)
    assert caught.value.reason is GapReason.SYMLINK_LOOP
    with pytest.raises(HostReadError) as caught:
        root.open_nofollow("/srv/abs")
    assert caught.value.reason is GapReason.SPECIAL_FILE
    assert root.lstat("/srv/keep/c.txt").size == 4
    root.close()


def test_an_image_gives_the_findings_of_the_same_tree_under_root(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    layers = _layers(tmp_path, marker)
    final = FakeRoot(tmp_path / "final")  # the same filesystem, applied by hand
    final.add_file("/etc/os-release", 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    final.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    final.add_venv(VENV)
    final.add_dist(SITE, "litellm", "1.82.8")
    final.add_pth(SITE, "litellm_init.pth", malicious_pth_content(marker))
    image = tmp_path / "image.tar"
    oci_image(image, layers, HISTORY, CONFIG)

    by_root = run_cli("scan", "--root", str(final.path), "--output", str(tmp_path / "r"))
    by_image = _scan(run_cli, image, tmp_path / "i")
    assert by_root.code == by_image.code == 1

    def seen(out: Path) -> set[tuple[str, str, tuple[str, ...]]]:
        return {(f["rule"], f["severity"], tuple(f["paths"])) for f in _findings(only_bundle(out))}

    assert seen(tmp_path / "i") == seen(tmp_path / "r")
    assert not marker.exists()


def test_members_that_are_no_part_of_the_filesystem_are_gaps(
    tmp_path: Path, run_cli: RunCli
) -> None:
    base = FakeRoot(tmp_path / "l1")
    base.add_venv(VENV)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, link in (
            ("../../escape.pth", tarfile.REGTYPE, ""),
            ("opt/venv/lib/python3.11/site-packages/ghost.pth", tarfile.LNKTYPE, "nowhere.pth"),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info, io.BytesIO(b""))
    image = tmp_path / "odd.tar"
    docker_image(image, [base.path, buf.getvalue()], ["ADD base", "ADD odd"], {})

    run = _scan(run_cli, image, tmp_path / "out")
    assert run.code == 0, run.err
    gaps = {
        (g["area"], g["path"], g["reason"])
        for g in load(only_bundle(tmp_path / "out"), "coverage.json")["gaps"]
    }
    assert ("image", "/../../escape.pth", "parse_error") in gaps
    assert ("image", f"{SITE}/ghost.pth", "parse_error") in gaps
    assert not (tmp_path.parent / "escape.pth").exists()


def test_run_scan_of_an_archive_of_several_images_names_the_others_as_a_gap(
    tmp_path: Path,
) -> None:
    """The library's one-host scan takes the first image; the others are a gap, not silence
    (``scan --image`` scans every one: tests/test_image_multi.py)."""
    base = FakeRoot(tmp_path / "l1")
    base.add_venv(VENV)
    image = tmp_path / "two.tar"
    docker_image(image, [base.path], ["ADD base"], {}, tag="app:1", copies=2)
    outcome = run_scan(ScanOptions(image=image, output=tmp_path / "out"))
    skipped = [g for g in outcome.result.gaps if g.area == "image"]
    assert [g.reason for g in skipped] == [GapReason.CHECK_SKIPPED]
    assert "2 more image(s)" in skipped[0].detail
    doc = load(only_bundle(tmp_path / "out"), "image.json")
    assert (doc["name"], doc["other_images_not_scanned"], doc["images_in_archive"]) == (
        "app:1",
        2,
        3,
    )
