"""A handed-over image cut short (an interrupted copy or download): at every size it is exit 2
with one line naming it, or a scan whose verdict says what is missing; never a traceback, and
never "clean" when part of the filesystem was not in the image.

The host is clean (nothing to find), so a scan that silently missed the cut part would say
"clean": a raw ext4 image cut at 99% still opens, and the filesystem's last block lies past the
image's end: before, nothing said so. A GPT disk cut anywhere lost its backup table, which
libvsgpt requires: the primary table is read, and a partition ending past the image is named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from builders import FakeRoot
from clirun import RunCli
from diskbuild import MIB, convert, ext4, partitioned
from imagebuild import docker_image
from scanrun import load, only_bundle

SITE = "/opt/app/.venv/lib/python3.11/site-packages"
WHOLE_UP_TO: Dict[str, int] = {}
"""Where the last partition of a disk ends: a cut past it loses only free space and the
backup table, and nothing of the host."""


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    base = tmp_path_factory.mktemp("cut")
    root = FakeRoot(base / "host")
    root.add_os_release()
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv("/opt/app/.venv")
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_dist(SITE, "litellm", "1.40.0")
    raw = ext4(root.path, base / "disk.img")
    disk = base / "gpt.img"
    (start,) = partitioned(disk, "gpt", [("L", raw.stat().st_size // MIB, raw)])
    WHOLE_UP_TO["gpt"] = start * 512 + raw.stat().st_size
    return {
        "raw": raw,
        "gpt": disk,
        "qcow2": convert(raw, "qcow2", base / "disk.qcow2"),
        "docker-save": _docker(root.path, base / "image.tar"),
    }


def _docker(tree: Path, out: Path) -> Path:
    docker_image(out, [tree], ["ADD rootfs /"], {})
    return out


@pytest.mark.parametrize("kind", ["raw", "gpt", "qcow2", "docker-save"])
@pytest.mark.parametrize("percent", [1, 30, 60, 90, 99])
def test_a_cut_image_is_exit_2_or_a_scan_that_is_not_clean(
    images: Dict[str, Path], kind: str, percent: int, tmp_path: Path, run_cli: RunCli
) -> None:
    whole = images[kind].read_bytes()
    cut = tmp_path / f"cut-{images[kind].name}"
    kept = len(whole) * percent // 100
    cut.write_bytes(whole[:kept])
    lost = whole[kept:].strip(b"\0")
    run = run_cli("scan", "--image", str(cut), "--output", str(tmp_path / "out"))
    assert "Traceback" not in run.err
    if run.code == 2:
        errors = [line for line in run.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, run.err
        assert str(cut) in errors[0]
        return
    assert run.code in (0, 1), run.err
    outcome = load(only_bundle(tmp_path / "out"), "findings.json")["outcome"]
    if kind == "docker-save" and not lost:  # only the closing zero blocks: all is there
        assert outcome["verdict"] == "clean"
        return
    if kept >= WHOLE_UP_TO.get(kind, len(whole)):  # every partition whole
        assert outcome["verdict"] == "clean"
        return
    assert outcome["verdict"] != "clean", "a cut image is never called clean"
    assert outcome["incomplete"], outcome


def test_a_raw_filesystem_image_cut_near_its_end_says_so(
    images: Dict[str, Path], tmp_path: Path, run_cli: RunCli
) -> None:
    whole = images["raw"].read_bytes()
    cut = tmp_path / "cut.img"
    cut.write_bytes(whole[: len(whole) - 4096])
    run = run_cli("scan", "--image", str(cut), "--output", str(tmp_path / "out"))
    assert run.code == 0, run.err
    bundle = only_bundle(tmp_path / "out")
    outcome = load(bundle, "findings.json")["outcome"]
    assert outcome["verdict"] == "incomplete"
    (gap,) = [g for g in load(bundle, "coverage.json")["gaps"] if g["area"] == "image"]
    assert gap["reason"] == "parse_error"
    assert "volume disk (ext4) is cut short" in gap["detail"]
    assert outcome["incomplete"] == [
        "1 part(s) of the disk image unread, e.g. " + gap["detail"].split(": ", 1)[1]
    ]
    # The whole image is clean and says nothing of the kind.
    run = run_cli("scan", "--image", str(images["raw"]), "--output", str(tmp_path / "whole"))
    assert run.code == 0, run.err
    assert load(only_bundle(tmp_path / "whole"), "findings.json")["outcome"]["verdict"] == "clean"
