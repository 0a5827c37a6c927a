"""Hostile bundles and outputs (issue 18 item 6).

Each bundle here is a real one written by ``scan``, then edited the way an attacker who
controls the host (or the transfer) would, and made hash-consistent again: the manifest lists
the edited files' new SHA-256 and the archive is re-packed. ``analyze``, ``verify``, ``report``
and ``sweep``'s summary must refuse or record it with a message, never crash, never follow a
planted link out of the output directory, and never write into a bundle.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from builders import FakeRoot
from clirun import RunCli
from scanrun import VENV, only_bundle
from sitesweep.bundle.writer import bundle_name
from sitesweep.outputs import open_new, write_new


def _bundle(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> Path:
    fake_root.add_venv(VENV)
    fake_root.add_pth(f"{VENV}/lib/python3.11/site-packages", "ok.pth", "/opt/extra\n")
    out = tmp_path / "out"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(out)).code == 0
    return only_bundle(out)


def _reseal(bundle: Path) -> Path:
    """Make the manifest list the files as they are now, and re-pack the archive."""
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2))
    archive = bundle.parent / f"{bundle.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=bundle.name)
    return archive


def _edit(bundle: Path, name: str, change: Callable[[Any], Any]) -> None:
    path = bundle / name
    path.write_text(json.dumps(change(json.loads(path.read_text())), allow_nan=True))


def _mtimes(value: float) -> Callable[[Any], Any]:
    def change(inv: Dict[str, Any]) -> Dict[str, Any]:
        for pth in inv["pth_files"]:
            pth["file"]["mtime"] = value
        return inv

    return change


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "mtime", [float("nan"), float("inf"), float("-inf"), 1e300, -1e300], ids=str
)
def test_non_finite_or_huge_mtimes_are_refused_with_a_message(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, mtime: float
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    _edit(bundle, "inventory.json", _mtimes(mtime))
    archive = _reseal(bundle)
    for target in (bundle, archive):
        run = run_cli("analyze", str(target))
        assert run.code == 2, run.err
        assert "out of range" in run.err or "not a number" in run.err
        assert "Traceback" not in run.err


@pytest.mark.parametrize("mtime", [1e18, -1e17, 253402300800.0])
def test_in_range_but_unrepresentable_mtimes_still_render(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, mtime: float
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    _edit(bundle, "inventory.json", _mtimes(mtime))
    _reseal(bundle)
    run = run_cli("analyze", str(bundle), "--output", str(tmp_path / "a"), "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["verdict"] in {"clean", "incomplete"}
    written = next((tmp_path / "a").iterdir())
    assert (written / "report.html").is_file()


@pytest.mark.parametrize("name", ["evidence/index.json", "manifest.json", "inventory.json"])
def test_deeply_nested_documents_are_refused_not_crashed_on(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, name: str
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    if name == "manifest.json":
        manifest = json.loads((bundle / name).read_text())
        text = json.dumps(manifest)[:-1] + f', "x": {_nested(100_000)}}}'
        (bundle / name).write_text(text)
        archive = bundle.parent / f"{bundle.name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(bundle, arcname=bundle.name)
    else:
        (bundle / name).write_text(_nested(100_000))
        _reseal(bundle)
    run = run_cli("analyze", str(bundle))
    assert run.code == 2, run.err
    assert "nested deeper" in run.err
    report = run_cli("report", str(bundle.parent), "--output", str(tmp_path / "r"))
    assert report.code == 3, report.err  # a bad bundle is a host status, never clean
    hosts = json.loads((tmp_path / "r" / "fleet.json").read_text())["hosts"]
    assert [h["verdict"] for h in hosts] == ["unchecked"]
    assert "Traceback" not in report.err


def test_report_goes_on_past_a_bad_bundle(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    good = _bundle(fake_root, tmp_path, run_cli)
    bad = tmp_path / "out" / "sitesweep-bad-20260101T000000Z"
    shutil.copytree(good, bad)
    (bad / "evidence" / "index.json").write_text("[" * 50_000)
    (bad / "inventory.json").write_text('{"dirs_walked": NaN}')
    _reseal(bad)
    run = run_cli("report", str(tmp_path / "out"), "--output", str(tmp_path / "r"))
    assert run.code == 3, run.err
    verdicts = sorted(
        h["verdict"] for h in json.loads((tmp_path / "r" / "fleet.json").read_text())["hosts"]
    )
    assert verdicts == ["clean", "unchecked"]


def test_unknown_schema_version_is_refused_with_a_message(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["schema_version"] = "999.0"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    for command in (("analyze", str(bundle)), ("verify", str(bundle))):
        run = run_cli(*command)
        assert run.code == 2, run.err
        assert "schema_version '999.0' is not one this sitesweep reads" in run.err


def test_verify_refuses_a_manifest_that_lists_nothing(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"] = {}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    run = run_cli("verify", str(bundle))
    assert run.code == 2, run.err
    assert "lists no file" in run.err
    assert "intact" not in run.err.replace("NOT INTACT", "")


def test_an_inflating_inventory_is_refused_in_proportion_to_its_archive(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    inventory = json.loads((bundle / "inventory.json").read_text())
    inventory["padding"] = " " * (100 << 20)  # 100 MB of JSON that gzip makes ~100 KB
    (bundle / "inventory.json").write_text(json.dumps(inventory))
    archive = _reseal(bundle)
    assert archive.stat().st_size < 1 << 20
    run = run_cli("analyze", str(archive))
    assert run.code == 2, run.err
    assert "bytes of JSON in an archive" in run.err


def test_report_never_follows_planted_links_nor_writes_into_a_bundle(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    out = tmp_path / "out"
    victims = {name: tmp_path / f"victim-{name}" for name in ("fleet.json", "fleet.html")}
    for name, victim in victims.items():
        victim.write_text("precious\n")
        (out / name).symlink_to(victim)
    run = run_cli("report", str(out))
    assert run.code == 0, run.err
    assert all(v.read_text() == "precious\n" for v in victims.values())
    assert not (out / "fleet.json").is_symlink()
    assert json.loads((out / "fleet.json").read_text())["hosts"]
    into = run_cli("report", str(bundle), "--output", str(bundle))
    assert into.code == 2
    assert "is a bundle directory" in into.err
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)  # the default output for one bundle is the current directory
    alone = run_cli("report", str(bundle))  # the default output is never the bundle itself
    assert not (bundle / "fleet.json").exists()
    assert (here / "fleet.json").is_file()
    assert alone.code == 0, alone.err
    assert run_cli("verify", str(bundle)).code == 0


def test_gzip_member_header_lies_are_refused(tmp_path: Path, run_cli: RunCli) -> None:
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        info = tarfile.TarInfo("sitesweep-x/manifest.json")
        data = b"{" * 10
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "sitesweep-x.tar.gz"
    archive.write_bytes(gzip.compress(payload.getvalue()))
    run = run_cli("analyze", str(archive))
    assert run.code == 2, run.err
    assert "Traceback" not in run.err


def _plant_bundle_names(out: Path, outside: Path, seconds: int = 180) -> None:
    """Dangling links at every name the next scans could choose (``sitesweep-fixture-host-<UTC
    second>`` and its suffixes), each aimed at a file that does not exist yet outside."""
    now = datetime.now(timezone.utc)
    for second in range(-5, seconds):
        name = bundle_name("fixture-host", now + timedelta(seconds=second))
        for suffix in ("", ".tar.gz", ".partial", ".tar.gz.age"):
            (out / f"{name}{suffix}").symlink_to(outside / f"{name}{suffix}")


def test_scan_and_analyze_never_write_through_planted_links(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    """A shared output directory with links at the names a scan will choose: the scan picks
    another name (``-2``) and writes nothing through a link; so does ``analyze``."""
    fake_root.add_venv(VENV)
    out, outside = tmp_path / "shared", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    _plant_bundle_names(out, outside)
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out))
    assert run.code == 0, run.err
    assert list(outside.iterdir()) == []
    made = [p for p in out.iterdir() if not p.is_symlink()]
    assert {p.name.endswith("-2") or p.name.endswith("-2.tar.gz") for p in made} == {True}
    bundle = next(p for p in made if p.is_dir())
    assert run_cli("verify", str(bundle)).code == 0
    analysis = run_cli("analyze", str(bundle), "--output", str(out))
    assert analysis.code == 0, analysis.err
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("command", ["scan", "collect", "analyze", "report", "sweep"])
def test_no_command_writes_into_a_bundle_directory(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, command: str
) -> None:
    bundle = _bundle(fake_root, tmp_path, run_cli)
    before = sorted(p.name for p in bundle.rglob("*"))
    argv = {
        "scan": ["scan", "--root", str(fake_root.path)],
        "collect": ["collect", "--root", str(fake_root.path)],
        "analyze": ["analyze", str(bundle)],
        "report": ["report", str(bundle)],
        "sweep": ["sweep", "--host", "nobody@127.0.0.1:1"],  # refused before any host or agent
    }[command]
    run = run_cli(*argv, "--output", str(bundle))
    assert run.code == 2, run.out
    assert "is a bundle directory" in run.err
    assert sorted(p.name for p in bundle.rglob("*")) == before
    assert run_cli("verify", str(bundle)).code == 0


def test_rewritten_outputs_replace_a_planted_link_never_follow_it(tmp_path: Path) -> None:
    """``write_new`` (fleet.json, sweep.json, packs, index cache) and ``open_new`` (archives,
    the agent) with links planted at their names."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "sweep.json"
    link.symlink_to(victim)
    write_new(link, "{}\n")
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink()
    assert link.read_text() == "{}\n"
    dangling = tmp_path / "bundle.tar.gz"
    dangling.symlink_to(tmp_path / "elsewhere.tar.gz")
    with pytest.raises(OSError, match=r"Too many levels of symbolic links|File exists"):
        open_new(dangling)
    assert not (tmp_path / "elsewhere.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
