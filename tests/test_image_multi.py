"""Several images in one run (``scan --image A --image B``, ``docker save a b``): each image is a
host of its own, named after the image, with its own bundle and verdict, and the run tells them
in one table (the fleet report's rows). Every image is a real archive built by :mod:`imagebuild`.
"""

from __future__ import annotations

import io
import json
import tarfile
from hashlib import sha256
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from imagebuild import docker_save, oci_image
from scanrun import bundles_by_host, load
from test_image_scan import CONFIG, HISTORY, SITE, VENV, _layers

PTH = f"{SITE}/litellm_init.pth"


def _fixed_layers(tmp_path: Path, marker: Path) -> List[Path]:
    """Base; a layer adding 1.82.8 and its .pth; a layer whose whiteouts remove both."""
    base = FakeRoot(tmp_path / "f1")
    base.add_file("/etc/os-release", 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    base.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    base.add_file("/etc/hostname", "buildkitsandbox\n")
    base.add_venv(VENV)
    bad = FakeRoot(tmp_path / "f2")
    bad.add_dist(SITE, "litellm", "1.82.8")
    bad.add_pth(SITE, "litellm_init.pth", malicious_pth_content(marker))
    gone = FakeRoot(tmp_path / "f3")
    gone.add_file(f"{SITE}/.wh.litellm", b"")
    gone.add_file(f"{SITE}/.wh.litellm-1.82.8.dist-info", b"")
    gone.add_file(f"{SITE}/.wh.litellm_init.pth", b"")
    return [base.path, bad.path, gone.path]


def _rows(stdout: str) -> Dict[str, Dict[str, Any]]:
    doc = json.loads(stdout)
    return {row["name"]: row for row in doc["hosts"]}


def _verdict(bundle: Path) -> str:
    return str(load(bundle, "findings.json")["outcome"]["verdict"])


def test_two_images_in_one_run_give_one_verdict_each_named_after_the_image(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    bad, fixed = tmp_path / "bad.tar", tmp_path / "fixed.tar"
    bad_digests = oci_image(
        bad, _layers(tmp_path, marker), HISTORY, CONFIG, name="registry.example/app:1.4"
    )
    oci_image(
        fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="registry.example/app:1.5"
    )
    out = tmp_path / "out"
    run = run_cli(
        "scan", "--image", str(bad), "--image", str(fixed), "--output", str(out), "--json"
    )
    assert run.code == 1, run.err
    assert "Traceback" not in run.err

    rows = _rows(run.out)
    assert set(rows) == {"registry.example/app:1.4", "registry.example/app:1.5"}
    one, two = rows["registry.example/app:1.4"], rows["registry.example/app:1.5"]
    assert (one["verdict"], one["releases"]) == ("compromised", ["litellm 1.82.8"])
    assert (two["verdict"], two["releases"]) == ("clean", [])
    assert one["environments"] == [VENV]

    bundles = bundles_by_host(out)
    assert set(bundles) == set(rows), "each image is its own host, named after the image"
    bad_bundle, fixed_bundle = (
        bundles["registry.example/app:1.4"],
        bundles["registry.example/app:1.5"],
    )
    assert bad_bundle.name.startswith("sitesweep-registry.example_app_1.4-")
    assert Path(one["bundle"]) == bad_bundle
    assert (_verdict(bad_bundle), _verdict(fixed_bundle)) == ("compromised", "clean")
    evidence = {
        (e["label"], e["value"])
        for f in load(bad_bundle, "findings.json")["findings"]
        if PTH in f["paths"]
        for e in f["evidence"]
    }
    assert ("image", "registry.example/app:1.4") in evidence
    assert any(v.startswith(f"{PTH}: {bad_digests['layers'][2]}") for _, v in evidence)
    machine_id = load(fixed_bundle, "manifest.json")["host"]["machine_id"]
    assert machine_id.startswith("registry.example/app:1.5@sha256:")
    assert load(fixed_bundle, "image.json")["hostname_in_image"] == "buildkitsandbox"
    assert not marker.exists()


def test_the_table_in_a_pipe_answers_which_images_carry_the_release(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    bad, fixed = tmp_path / "bad.tar", tmp_path / "fixed.tar"
    oci_image(bad, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:bad")
    oci_image(fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed")
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(bad), "--image", str(fixed), "--output", str(out))
    assert run.code == 1, run.err
    carrying = [
        line.split("\t")[1] for line in run.out.splitlines() if line.endswith("litellm 1.82.8")
    ]
    assert carrying == ["app:bad"]
    assert "image app:bad: compromised" in run.err
    assert "image app:fixed: clean" in run.err
    assert not marker.exists()


def test_a_docker_save_of_two_images_gives_two_verdicts(tmp_path: Path, run_cli: RunCli) -> None:
    marker = tmp_path / "EXECUTED"
    archive = tmp_path / "saved.tar"  # docker save app:bad app:fixed <untagged id>
    untagged = FakeRoot(tmp_path / "u1")
    untagged.add_venv(VENV)
    found = docker_save(
        archive,
        [
            (["app:bad"], _layers(tmp_path, marker), HISTORY),
            (["app:fixed", "app:latest"], _fixed_layers(tmp_path, marker), HISTORY),
            ([], [untagged.path], ["ADD base"]),
        ],
        CONFIG,
    )
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(archive), "--output", str(out), "--json")
    assert run.code == 1, run.err
    short = "sha256:" + found[2]["config"].split(":")[1][:12]
    rows = _rows(run.out)
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "app:bad": "compromised",
        "app:fixed": "clean",
        short: "incomplete",  # no /etc/os-release: the OS cannot be told, never called clean
    }
    bundles = bundles_by_host(out)
    assert set(bundles) == set(rows)
    for bundle in bundles.values():
        gaps = load(bundle, "coverage.json")["gaps"]
        assert not [g for g in gaps if g["reason"] == "check_skipped" and g["area"] == "image"]
    fixed_doc = load(bundles["app:fixed"], "image.json")
    assert (fixed_doc["position"], fixed_doc["tags"]) == (1, ["app:fixed", "app:latest"])
    assert rows["app:fixed"]["detail"] == "also tagged app:latest"
    assert bundles[short].name.startswith(f"sitesweep-{short.replace(':', '_')}-")
    assert not marker.exists()


def _truncated_copy(image: Path, layer: str, at: Path) -> Path:
    """A copy of ``image`` cut in the middle of ``layer``'s blob (a copy interrupted)."""
    with tarfile.open(image) as tar:
        blob = tar.getmember("blobs/sha256/" + layer.split(":")[1])
    at.write_bytes(image.read_bytes()[: blob.offset_data + blob.size // 2])
    return at


def test_one_good_and_one_truncated_image_write_the_good_bundle_and_exit_2(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    good, whole = tmp_path / "good.tar", tmp_path / "whole.tar"
    oci_image(good, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:good")
    digests = oci_image(whole, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:cut")
    cut = _truncated_copy(whole, digests["layers"][1], tmp_path / "cut.tar")
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(cut), "--image", str(good), "--output", str(out), "--json")
    assert run.code == 2, run.err
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.err
    assert str(cut) in errors[0]
    assert "truncated" in errors[0]

    assert set(bundles_by_host(out)) == {"app:good"}, "the good image's bundle is written"
    rows = _rows(run.out)
    assert rows["app:good"]["verdict"] == "clean"
    broken = rows[str(cut)]
    assert (broken["verdict"], broken["status"]) == ("unchecked", "unreadable")
    assert "truncated" in broken["detail"]
    assert not marker.exists()


def test_a_compromised_image_beside_an_unreadable_one_is_still_exit_1(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    bad = tmp_path / "bad.tar"
    oci_image(bad, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:bad")
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x00not an image\xff" * 1000)
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(garbage), "--image", str(bad), "--output", str(out))
    assert run.code == 1, run.err
    assert f"error: {garbage}" in run.err
    assert set(bundles_by_host(out)) == {"app:bad"}
    assert not marker.exists()


def test_an_unreadable_first_image_of_an_archive_leaves_the_others_scanned(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    whole = tmp_path / "whole.tar"
    found = docker_save(
        whole,
        [
            (["app:bad"], _layers(tmp_path, marker), HISTORY),
            (["app:fixed"], _fixed_layers(tmp_path, marker), HISTORY),
        ],
        CONFIG,
    )
    archive = tmp_path / "missing-layer.tar"  # the first image's last layer lost in transit
    lost = found[0]["layers"][2].split(":")[1]
    with tarfile.open(whole) as src, tarfile.open(archive, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            body = data.read() if data is not None else b""
            if member.name.endswith("layer.tar") and sha256(body).hexdigest() == lost:
                continue
            dst.addfile(member, io.BytesIO(body) if data is not None else None)
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(archive), "--output", str(out), "--json")
    assert run.code == 2, run.err
    assert "Traceback" not in run.err + run.out
    rows = _rows(run.out)
    assert rows["app:fixed"]["verdict"] == "clean"
    assert [r["status"] for name, r in rows.items() if name != "app:fixed"] == ["unreadable"]
    assert set(bundles_by_host(out)) == {"app:fixed"}
    assert not marker.exists()


def test_collect_over_several_images_writes_a_bundle_each(tmp_path: Path, run_cli: RunCli) -> None:
    marker = tmp_path / "EXECUTED"
    bad, fixed = tmp_path / "bad.tar", tmp_path / "fixed.tar"
    oci_image(bad, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:bad")
    oci_image(fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed")
    out = tmp_path / "out"
    run = run_cli("collect", "--image", str(bad), "--image", str(fixed), "--output", str(out))
    assert run.code == 0, run.err
    assert set(bundles_by_host(out)) == {"app:bad", "app:fixed"}
    assert not marker.exists()


def test_a_disk_image_and_a_container_image_in_one_run(tmp_path: Path, run_cli: RunCli) -> None:
    """The loop opens each path through ``HostRoot.image``: a disk image is one more host (its
    name is the hostname its OS gives: a VM's disk is that machine)."""
    from diskbuild import ext4

    marker = tmp_path / "EXECUTED"
    vm = FakeRoot(tmp_path / "vm")
    vm.add_file("/etc/os-release", 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    vm.add_file("/etc/hostname", "web1\n")
    vm.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    vm.add_venv(VENV)
    vm.add_dist(SITE, "litellm", "1.82.7")
    disk = ext4(vm.path, tmp_path / "web1.img")
    fixed = tmp_path / "fixed.tar"
    oci_image(fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed")
    out = tmp_path / "out"
    run = run_cli(
        "scan", "--image", str(disk), "--image", str(fixed), "--output", str(out), "--json"
    )
    assert run.code == 1, run.err
    rows = _rows(run.out)
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "web1": "compromised",
        "app:fixed": "clean",
    }
    assert rows["web1"]["releases"] == ["litellm 1.82.7"]
    assert set(bundles_by_host(out)) == {"web1", "app:fixed"}
    assert load(bundles_by_host(out)["web1"], "image.json")["kind"] == "disk"
    assert not marker.exists()


def test_an_oci_archive_listing_two_images_gives_two_verdicts(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    one, two = tmp_path / "one", tmp_path / "two"
    oci_image(one, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:bad", as_dir=True)
    oci_image(two, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed", as_dir=True)
    index = json.loads((one / "index.json").read_text())  # one layout, both images in its index
    index["manifests"] += json.loads((two / "index.json").read_text())["manifests"]
    (one / "index.json").write_text(json.dumps(index))
    for blob in (two / "blobs" / "sha256").iterdir():
        (one / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(one), "--output", str(out), "--json")
    assert run.code == 1, run.err
    rows = _rows(run.out)
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "app:bad": "compromised",
        "app:fixed": "clean",
    }
    assert set(bundles_by_host(out)) == set(rows)
    assert not marker.exists()


def test_report_over_the_run_s_bundles_tells_the_same_table(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """The images' bundles are ordinary bundles: ``report`` over them gives a row per image
    (its machine id ``<name>@<config digest>`` keeps two images two hosts)."""
    marker = tmp_path / "EXECUTED"
    archive = tmp_path / "saved.tar"
    docker_save(
        archive,
        [
            (["app:bad"], _layers(tmp_path, marker), HISTORY),
            (["app:fixed"], _fixed_layers(tmp_path, marker), HISTORY),
        ],
        CONFIG,
    )
    out = tmp_path / "out"
    scanned = run_cli("scan", "--image", str(archive), "--output", str(out), "--json")
    assert scanned.code == 1, scanned.err
    reported = run_cli("report", str(out), "--output", str(tmp_path / "fleet"), "--json")
    assert reported.code == 1, reported.err

    def table(stdout: str) -> Dict[str, Any]:
        return {n: (r["verdict"], r["releases"]) for n, r in _rows(stdout).items()}

    assert table(reported.out) == table(scanned.out)
    assert table(reported.out) == {
        "app:bad": ("compromised", ["litellm 1.82.8"]),
        "app:fixed": ("clean", []),
    }
    assert not marker.exists()


def test_sarif_over_several_images_is_refused_before_scanning(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    bad, fixed = tmp_path / "bad.tar", tmp_path / "fixed.tar"
    oci_image(bad, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:bad")
    oci_image(fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed")
    out = tmp_path / "out"
    run = run_cli(
        "scan", "--image", str(bad), "--image", str(fixed), "--output", str(out), "--format",
        "sarif",
    )  # fmt: skip
    assert run.code == 2, run.err
    assert "sarif" in run.err
    assert not out.exists(), "nothing scanned"


def test_a_crash_in_one_image_s_scan_leaves_the_others_scanned(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met while scanning one image (injected into the collection of that image only) is
    an error line and row naming it, exit 2, never exit 1 and never the end of the run."""
    from sitesweep.inventory import start_inventory as real

    marker = tmp_path / "EXECUTED"
    crash, fixed = tmp_path / "crash.tar", tmp_path / "fixed.tar"
    oci_image(crash, _layers(tmp_path, marker), HISTORY, CONFIG, name="app:crash")
    oci_image(fixed, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, name="app:fixed")

    def collect(root: Any, *args: Any) -> Any:
        if root.root == crash:
            raise RuntimeError("injected")
        return real(root, *args)

    monkeypatch.setattr("sitesweep.pipeline.start_inventory", collect)
    out = tmp_path / "out"
    run = run_cli(
        "scan", "--image", str(crash), "--image", str(fixed), "--output", str(out), "--json"
    )
    assert run.code == 2, run.err
    assert "Traceback" not in run.err + run.out
    rows = _rows(run.out)
    assert rows["app:fixed"]["verdict"] == "clean"
    assert (rows["app:crash"]["verdict"], rows["app:crash"]["status"]) == ("unchecked", "failed")
    assert "internal error" in rows["app:crash"]["detail"]
    assert "RuntimeError: injected" in run.err
    assert set(bundles_by_host(out)) == {"app:fixed"}
    assert not marker.exists()


def _multi_platform(tmp_path: Path, marker: Path, keep_arm: bool = True) -> Path:
    """An OCI layout whose one index entry is a multi-platform image index (as ``docker buildx
    --platform linux/amd64,linux/arm64 --output type=oci`` writes it): amd64 carries 1.82.8,
    arm64 is clean, and an attestation manifest (platform unknown/unknown) sits beside them."""
    amd, arm = tmp_path / "amd", tmp_path / "arm"
    oci_image(amd, _layers(tmp_path, marker), HISTORY, CONFIG, as_dir=True)
    oci_image(arm, _fixed_layers(tmp_path, marker), HISTORY, CONFIG, as_dir=True)
    entries = []
    for layout, arch in ((amd, "amd64"), (arm, "arm64")):
        (descriptor,) = json.loads((layout / "index.json").read_text())["manifests"]
        del descriptor["annotations"]
        entries.append({**descriptor, "platform": {"os": "linux", "architecture": arch}})
    attestation = json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode()
    (amd / "blobs" / "sha256" / sha256(attestation).hexdigest()).write_bytes(attestation)
    entries.append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{sha256(attestation).hexdigest()}",
            "size": len(attestation),
            "platform": {"os": "unknown", "architecture": "unknown"},
        }
    )
    if keep_arm:
        for blob in (arm / "blobs" / "sha256").iterdir():
            (amd / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    index = json.dumps({"schemaVersion": 2, "manifests": entries}).encode()
    (amd / "blobs" / "sha256" / sha256(index).hexdigest()).write_bytes(index)
    top = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": f"sha256:{sha256(index).hexdigest()}",
        "size": len(index),
        "annotations": {"io.containerd.image.name": "app:1"},
    }
    (amd / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return amd


def test_a_multi_platform_image_gives_a_verdict_per_platform(
    tmp_path: Path, run_cli: RunCli
) -> None:
    marker = tmp_path / "EXECUTED"
    layout = _multi_platform(tmp_path, marker)
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(layout), "--output", str(out), "--json")
    assert run.code == 1, run.err
    rows = _rows(run.out)
    assert {name: row["verdict"] for name, row in rows.items()} == {
        "app:1 [linux/amd64]": "compromised",
        "app:1 [linux/arm64]": "clean",
    }, "every platform the archive holds is scanned; the attestation is no image"
    assert set(bundles_by_host(out)) == set(rows)
    assert not marker.exists()


def test_a_multi_platform_index_with_one_platform_present_is_one_image(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """``docker save`` of a multi-platform image keeps the local platform's blobs only."""
    marker = tmp_path / "EXECUTED"
    layout = _multi_platform(tmp_path, marker, keep_arm=False)
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(layout), "--output", str(out))
    assert run.code == 1, run.err
    assert set(bundles_by_host(out)) == {"app:1"}
    assert not marker.exists()
