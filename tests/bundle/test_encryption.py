"""``--encrypt-to``: only an age file is left; ``--identity`` opens it for analyze and verify."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import build_infected

pyrage = pytest.importorskip("pyrage", reason="pyrage is pinned in requirements.lock")


def _keypair(tmp_path: Path) -> Tuple[str, Path]:
    identity = pyrage.x25519.Identity.generate()
    tmp_path.mkdir(parents=True, exist_ok=True)
    keyfile = tmp_path / "responder.key"
    keyfile.write_text(f"# created by the test\n{identity}\n")
    keyfile.chmod(0o600)
    return str(identity.to_public()), keyfile


def test_encrypted_bundle_round_trips(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> None:
    build_infected(fake_root)
    recipient, keyfile = _keypair(tmp_path)
    other, _ = _keypair(tmp_path / "other")
    out = tmp_path / "out"
    scan = run_cli(
        "scan",
        "--root",
        str(fake_root.path),
        "--output",
        str(out),
        "--json",
        "--encrypt-to",
        recipient,
        "--encrypt-to",
        other,
    )
    assert scan.code == 1, scan.err
    left = sorted(p.name for p in out.iterdir())
    assert len(left) == 1, left
    assert left[0].endswith(".tar.gz.age"), left
    sealed = out / left[0]
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert b"litellm" not in sealed.read_bytes()

    analyzed = run_cli(
        "analyze",
        str(sealed),
        "--identity",
        str(keyfile),
        "--json",
        "--output",
        str(tmp_path / "analysis"),
    )
    assert analyzed.code == 1, analyzed.err
    ids = {f["id"] for f in json.loads(analyzed.out)["findings"]}
    assert ids == {f["id"] for f in json.loads(scan.out)["findings"]}
    written = next((tmp_path / "analysis").iterdir())
    assert written.name.startswith(left[0][: -len(".tar.gz.age")] + "-analysis-")
    assert (written / "report.html").is_file()
    assert run_cli("verify", str(written)).code == 0

    assert run_cli("verify", str(sealed), "--identity", str(keyfile)).code == 0
    locked = run_cli("analyze", str(sealed))
    assert locked.code == 2
    assert "--identity" in locked.err
    wrong = tmp_path / "wrong.key"
    wrong.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    assert run_cli("verify", str(sealed), "--identity", str(wrong)).code == 2
    assert not fake_root.marker.exists()


def test_bad_recipient_is_exit_2_before_scanning(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_infected(fake_root)
    out = tmp_path / "out"
    run = run_cli(
        "scan", "--root", str(fake_root.path), "--output", str(out), "--encrypt-to", "age1notakey"
    )
    assert run.code == 2
    assert "age" in run.err
    assert not out.exists() or not list(out.iterdir())


def test_without_pyrage_encryption_fails_and_writes_nothing(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_infected(fake_root)
    recipient, _ = _keypair(tmp_path)
    monkeypatch.setitem(sys.modules, "pyrage", None)  # as if it were not installed
    out = tmp_path / "out"
    run = run_cli(
        "collect", "--root", str(fake_root.path), "--output", str(out), "--encrypt-to", recipient
    )
    assert run.code == 2
    assert "pyrage" in run.err
    assert not out.exists() or not list(out.iterdir())
