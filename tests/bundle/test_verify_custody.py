"""Chain of custody in the manifest, and ``sitesweep verify`` naming every altered file."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Dict

import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import build_infected, load_json, scan_bundle
from sitesweep.host.live_identity import read_live_host

CUSTODY = ("--case-id", "IR-2026-0042", "--examiner", "Dana Responder", "--note", "rack 4 <b>")


@pytest.fixture
def bundle(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> Path:
    build_infected(fake_root)
    out = tmp_path / "out"
    args = ("scan", "--root", str(fake_root.path), "--output", str(out), *CUSTODY)
    monkeypatch.setattr(sys, "argv", ["sitesweep", *args])  # what a shell would have set
    return scan_bundle(fake_root, out, run_cli, *CUSTODY)


def _listed(bundle: Path) -> Dict[str, str]:
    files: Dict[str, str] = load_json(bundle, "manifest.json")["files"]
    return files


def test_manifest_records_custody(bundle: Path) -> None:
    manifest = load_json(bundle, "manifest.json")
    assert manifest["custody"] == {
        "case_id": "IR-2026-0042",
        "examiner": "Dana Responder",
        "note": "rack 4 <b>",
    }
    assert manifest["command"].startswith("sitesweep scan --root ")
    assert manifest["command"].endswith("--examiner 'Dana Responder' --note 'rack 4 <b>'")
    assert manifest["host"]["machine_id"] == "0123456789abcdef0123456789abcdef"
    assert "boot_time" not in manifest["host"], "boot time is for live scans only"
    assert manifest["started"].endswith("Z")
    import sitesweep

    package = Path(sitesweep.__file__).parent
    tool_files = manifest["tool"]["files"]
    assert (
        tool_files["bundle/verify.py"]
        == hashlib.sha256((package / "bundle/verify.py").read_bytes()).hexdigest()
    )
    assert "exports/templates/report.html.j2" in tool_files
    assert all(len(p["sha256"]) == 64 for p in manifest["packs"])
    expected = {"report.html", "timeline.csv", "timeline.jsonl", "sbom.cdx.json"}
    assert expected | {"findings.jsonl", "findings.csv"} <= set(manifest["files"])


@pytest.mark.live
def test_live_host_has_boot_time_and_addresses() -> None:
    live = read_live_host()
    assert live.boot_time is not None
    assert live.boot_time > 0
    assert all("=" in a for a in live.addresses)


def test_intact_bundle_verifies(bundle: Path, run_cli: RunCli) -> None:
    run = run_cli("verify", str(bundle))
    assert run.code == 0, run.err
    assert "intact" in run.err
    archive = bundle.with_name(bundle.name + ".tar.gz")
    assert run_cli("verify", str(archive)).code == 0


def test_one_changed_byte_in_any_file_is_named(bundle: Path, run_cli: RunCli) -> None:
    names = sorted(_listed(bundle))
    assert len(names) > 10
    for name in names:
        path = bundle / name
        original = path.read_bytes()
        mode = path.stat().st_mode
        path.chmod(0o600)
        path.write_bytes(bytes([original[0] ^ 1]) + original[1:])
        run = run_cli("verify", str(bundle))
        assert run.code == 1, name
        assert f"altered: {name}" in run.err
        path.write_bytes(original)
        path.chmod(mode)
    assert run_cli("verify", str(bundle)).code == 0


def test_missing_and_extra_files_are_named(bundle: Path, run_cli: RunCli) -> None:
    (bundle / "timeline.csv").unlink()
    (bundle / "evidence" / "planted.txt").write_text("x")
    run = run_cli("verify", str(bundle))
    assert run.code == 1
    assert "missing: timeline.csv" in run.err
    assert "extra: evidence/planted.txt" in run.err


def test_symlinked_file_is_altered_and_not_read(
    bundle: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    outside = tmp_path / "outside-copy.json"
    outside.write_bytes((bundle / "findings.json").read_bytes())  # same content: still altered
    (bundle / "findings.json").unlink()
    (bundle / "findings.json").symlink_to(outside)
    evidence = bundle / "evidence"
    moved = tmp_path / "evidence-moved"
    evidence.rename(moved)
    evidence.symlink_to(moved)
    run = run_cli("verify", str(bundle))
    assert run.code == 1
    assert "altered: findings.json" in run.err
    assert "altered: evidence/index.json" in run.err


def test_tampered_archive_is_named(bundle: Path, tmp_path: Path, run_cli: RunCli) -> None:
    archive = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(bundle.rglob("*")):
            arcname = f"{bundle.name}/{path.relative_to(bundle).as_posix()}"
            if path.is_dir():
                continue
            data = path.read_bytes()
            if path.name == "sbom.cdx.json":
                data = data.replace(b'"library"', b'"Library"', 1)
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    run = run_cli("verify", str(archive))
    assert run.code == 1
    assert "altered: sbom.cdx.json" in run.err


def test_unreadable_manifest_is_exit_2(bundle: Path, run_cli: RunCli) -> None:
    (bundle / "manifest.json").write_text(
        json.dumps({"schema_version": "2.0", "files": {"../../etc/passwd": "zz"}})
    )
    run = run_cli("verify", str(bundle))
    assert run.code == 2
    (bundle / "manifest.json").write_text(
        json.dumps({"schema_version": "2.0", "files": {"../../etc/passwd": "0" * 64}})
    )
    run = run_cli("verify", str(bundle))
    assert run.code == 1
    assert "altered: ../../etc/passwd" in run.err
