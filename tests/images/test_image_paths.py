"""The path a responder gives ``scan --image``: a symbolic link (an evidence store's name for
the file) or a name with spaces reads the image it names, for a container image as for a disk
image (a link to a ``docker save`` tarball was 'Too many levels of symbolic links')."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from diskbuild import convert, ext4
from imagebuild import docker_image, oci_image
from scanrun import load, only_bundle

SITE = "/opt/app/.venv/lib/python3.11/site-packages"


def _tree(base: Path) -> FakeRoot:
    root = FakeRoot(base / "host")
    root.add_os_release()
    root.add_venv("/opt/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    return root


@pytest.mark.parametrize("kind", ["docker-save", "qcow2"])
@pytest.mark.parametrize("how", ["symlink", "spaces"])
def test_a_linked_or_spaced_image_path_is_read(
    tmp_path: Path, run_cli: RunCli, kind: str, how: str
) -> None:
    root = _tree(tmp_path)
    store = tmp_path / "evidence store"
    store.mkdir()
    if kind == "docker-save":
        image = store / "case 42 image.tar"
        docker_image(image, [root.path], ["ADD rootfs /"], {})
    else:
        image = convert(ext4(root.path, tmp_path / "raw.img"), "qcow2", store / "case 42.qcow2")
    given = image
    if how == "symlink":
        given = tmp_path / f"latest.{image.suffix}"
        given.symlink_to(image)
    run = run_cli("scan", "--image", str(given), "--output", str(tmp_path / "out"))
    assert run.code == 1, run.err
    bundle = only_bundle(tmp_path / "out")
    assert load(bundle, "findings.json")["outcome"]["verdict"] == "compromised"
    assert load(bundle, "manifest.json")["scan_root"] == str(given)
    assert not root.marker.exists()


@pytest.mark.parametrize("link", ["blob", "blobs-directory"])
def test_a_layout_link_leading_outside_it_is_refused_and_named(
    tmp_path: Path, run_cli: RunCli, link: str
) -> None:
    """An OCI layout directory whose blob, or whose whole ``blobs`` directory, is a link to
    bytes outside it: not read, one line naming it, exit 2 (``O_NOFOLLOW`` guards the last name
    only: a linked ``blobs`` directory was followed, reading outside what was given)."""
    root = _tree(tmp_path)
    layout = tmp_path / "layout"
    digest = oci_image(layout, [root.path], ["ADD rootfs /"], {}, as_dir=True)["layers"][0]
    blob = layout / "blobs" / "sha256" / digest.split(":")[1]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    if link == "blob":
        blob.rename(outside / blob.name)
        blob.symlink_to(outside / blob.name)
    else:
        (layout / "blobs").rename(outside / "blobs")
        (layout / "blobs").symlink_to(outside / "blobs")
    run = run_cli("scan", "--image", str(layout), "--output", str(tmp_path / "out"))
    assert run.code == 2, run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.err
    assert "a link leading outside the image layout: not read" in errors[0]
    assert "Traceback" not in run.err
