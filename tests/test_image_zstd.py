"""zstd image layers (``application/vnd.oci.image.layer.v1.tar+zstd``) and zstd-compressed image
tarballs: real zstd frames written by the zstandard library (the extra ``images``), read as a
stream into an unlinked temporary file like gzip layers."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

from clirun import RunCli
from imagebuild import compress, oci_image
from scanrun import load, only_bundle
from test_image_scan import CONFIG, HISTORY, SITE, _layers

pytest.importorskip("zstandard")


def test_a_zstd_layer_image_is_scanned_and_its_finding_names_the_layer(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    image = tmp_path / "image.tar"
    digests = oci_image(image, _layers(tmp_path, marker), HISTORY, CONFIG, layers="zstd")
    with tarfile.open(image) as tar:
        blob = tar.extractfile("blobs/sha256/" + digests["layers"][2].split(":")[1])
        assert blob is not None
        assert blob.read(4) == b"\x28\xb5\x2f\xfd", "a real zstd frame"

    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    inventory = load(bundle, "inventory.json")
    assert {(d["name"], d["version"]) for d in inventory["distributions"]} == {
        ("litellm", "1.82.8")
    }, "the zstd whiteout layer removed 1.83.0"
    pth = f"{SITE}/litellm_init.pth"
    layer3 = digests["layers"][2]
    evidence = {
        (e["label"], e["value"])
        for f in load(bundle, "findings.json")["findings"]
        if pth in f["paths"]
        for e in f["evidence"]
    }
    assert any(lab == "layer" and v.startswith(f"{pth}: {layer3}") for lab, v in evidence)
    doc = load(bundle, "image.json")
    assert {layer["media_type"] for layer in doc["layers"]} == {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    }
    assert doc["files"][pth] == layer3
    assert not marker.exists()


def test_a_zstd_compressed_image_tarball_is_read_as_a_whole(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    plain = tmp_path / "image.tar"
    oci_image(plain, _layers(tmp_path, marker), HISTORY, CONFIG)
    image = tmp_path / "image.tar.zst"  # docker save app | zstd
    image.write_bytes(compress(plain.read_bytes(), "zstd"))

    run = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    assert load(only_bundle(tmp_path / "out"), "image.json")["name"] == "registry.example/app:1"
    assert not marker.exists()


def _zstd_layout(tmp_path: Path) -> tuple[Path, Path]:
    layout = tmp_path / "layout"
    digests = oci_image(
        layout,
        _layers(tmp_path, tmp_path / "EXECUTED"),
        HISTORY,
        CONFIG,
        as_dir=True,
        layers="zstd",
    )
    return layout, layout / "blobs" / "sha256" / digests["layers"][2].split(":")[1]


def test_a_truncated_zstd_layer_is_exit_2_naming_it(tmp_path: Path, run_cli: RunCli) -> None:
    layout, blob = _zstd_layout(tmp_path)
    blob.write_bytes(blob.read_bytes()[:-40])
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    assert "truncated zstd stream" in run.err, run.err
    assert blob.name in run.err
    assert "Traceback" not in run.err + run.out


def test_a_corrupt_zstd_layer_is_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    layout, blob = _zstd_layout(tmp_path)
    data = bytearray(blob.read_bytes())
    data[12:40] = b"\xff" * 28
    blob.write_bytes(bytes(data))
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    assert "zstd stream" in run.err, run.err
    assert "Traceback" not in run.err + run.out


def test_without_the_images_extra_a_zstd_layer_is_exit_2_naming_the_extra(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, _blob = _zstd_layout(tmp_path)
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if the extra were not installed
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    lines = [line for line in run.err.splitlines() if "requirements-images.lock" in line]
    assert len(lines) == 1, run.err
    assert "'images'" in lines[0]
    assert "Traceback" not in run.err + run.out


def test_a_gzip_image_scan_does_not_import_zstandard(tmp_path: Path) -> None:
    from test_lazy_imports import imported_after

    image = tmp_path / "image.tar"
    oci_image(image, _layers(tmp_path, tmp_path / "EXECUTED"), HISTORY, CONFIG)
    code = (
        "from pathlib import Path\n"
        "from sitesweep.pipeline import ScanOptions, run_scan\n"
        f"assert run_scan(ScanOptions(image=Path({str(image)!r}))).result.findings\n"
    )
    assert imported_after(code, ("zstandard",)) == []


def test_a_zstd_layer_of_several_frames_is_read_whole(tmp_path: Path, run_cli: RunCli) -> None:
    """``cat a.zst b.zst`` is one zstd stream of two frames: both are read (like gzip members)."""
    import zstandard

    marker = tmp_path / "EXECUTED"
    layout, blob = _zstd_layout(tmp_path)
    whole = zstandard.ZstdDecompressor().decompressobj().decompress(blob.read_bytes())
    half = len(whole) // 2
    packer = zstandard.ZstdCompressor(write_checksum=True)
    blob.write_bytes(packer.compress(whole[:half]) + packer.compress(whole[half:]))
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    inventory = load(only_bundle(tmp_path / "out"), "inventory.json")
    assert f"{SITE}/litellm_init.pth" in {p["file"]["path"] for p in inventory["pth_files"]}
    assert not marker.exists()


def test_a_zstd_layer_over_the_size_cap_is_exit_2(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitesweep.door import oci

    layout, _blob = _zstd_layout(tmp_path)
    monkeypatch.setattr(oci, "MAX_LAYER_BYTES", 4096)  # the 64 GiB cap, lowered
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    assert "decompresses to more than 4096 bytes" in run.err
    assert "Traceback" not in run.err + run.out
