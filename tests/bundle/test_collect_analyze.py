"""``collect`` then ``analyze`` equals ``scan``; hostile bundle archives are refused."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any, List, Set, Tuple

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from sitesweep.bundle.reader import open_bundle
from sitesweep.errors import BundleError

SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"


def _infected(root: FakeRoot) -> None:
    root.add_venv("/home/alice/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    root.add_pth(SITE, "_virtualenv.pth", "import _virtualenv\n")
    root.add_file(f"{SITE}/sitecustomize.py", "import os\n")
    root.add_conda("/opt/conda")
    root.add_dist("/opt/conda/lib/python3.11/site-packages", "LiteLLM", "1.82.7")


def _finding_set(findings: List[Any]) -> Set[Tuple[str, str, str, Tuple[str, ...]]]:
    return {(f["id"], f["rule"], f["severity"], tuple(f["paths"])) for f in findings}


def test_analyze_of_collect_equals_scan(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _infected(fake_root)
    scan = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "s"), "--json")
    assert scan.code == 1
    collect = run_cli("collect", "--root", str(fake_root.path), "--output", str(tmp_path / "c"))
    assert collect.code == 0, collect.err
    bundles = sorted((tmp_path / "c").glob("*.tar.gz"))
    assert len(bundles) == 1
    assert not (bundles[0].with_suffix("").with_suffix("") / "findings.json").exists()
    for target in (bundles[0], bundles[0].with_suffix("").with_suffix("")):
        analyzed = run_cli("analyze", str(target), "--json", "--output", str(tmp_path / "a"))
        assert analyzed.code == 1, analyzed.err
        assert _finding_set(json.loads(analyzed.out)["findings"]) == _finding_set(
            json.loads(scan.out)["findings"]
        )
    written = list((tmp_path / "a").glob("*-analysis-*"))
    assert len(written) == 2
    assert {p.name for p in written[0].iterdir()} == {
        "findings.json",
        "coverage.json",
        "report.txt",
        "manifest.json",
        "report.html",
        "timeline.csv",
        "timeline.jsonl",
        "sbom.cdx.json",
        "findings.jsonl",
        "findings.csv",
        "inventory.csv",
        "findings.sarif",
    }
    assert not fake_root.marker.exists()


def _archive(path: Path, members: List[Tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_member("b/../../escape.txt"), "'..'"),
        (_member("/tmp/sitesweep-absolute-escape.txt"), "absolute path"),
        (_member("b/link", tarfile.SYMTYPE, "/etc/passwd"), "link or device"),
        (_member("b/hard", tarfile.LNKTYPE, "/etc/shadow"), "link or device"),
        (_member("b/dev", tarfile.CHRTYPE), "link or device"),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink", "device"],
)
def test_hostile_archives_are_refused(
    tmp_path: Path, member: tarfile.TarInfo, message: str
) -> None:
    archive = _archive(
        tmp_path / "evil.tar.gz", [(_member("b/manifest.json"), b"{}"), (member, b"pwned")]
    )
    with pytest.raises(BundleError, match=message), open_bundle(archive):
        pass
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/sitesweep-absolute-escape.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]


def test_hostile_archive_through_cli_is_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    archive = _archive(tmp_path / "evil.tar.gz", [(_member("../escape.txt"), b"x")])
    run = run_cli("analyze", str(archive))
    assert run.code == 2
    assert "refusing" in run.err
    assert not (tmp_path.parent / "escape.txt").exists()


def test_garbage_bundle_is_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    garbage = tmp_path / "junk.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    assert run_cli("analyze", str(garbage)).code == 2
    bad_dir = tmp_path / "dir-bundle"
    bad_dir.mkdir()
    (bad_dir / "manifest.json").write_text('{"schema_version": "2.0", "scan_root": "/"}')
    (bad_dir / "inventory.json").write_text('{"live": "yes"}')
    run = run_cli("analyze", str(bad_dir))
    assert run.code == 2
    assert "inventory.json" in run.err
