"""The path a responder gives ``scan --image``: a symbolic link (an evidence store's name for
the file) or a name with spaces reads the image it names, for a container image as for a disk
image (a link to a ``docker save`` tarball was 'Too many levels of symbolic links')."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from diskbuild import convert, ext4
from imagebuild import docker_image
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
