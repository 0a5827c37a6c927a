"""Every built-in pack loads, and each flags an installed affected release (and not a clean one)."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import pytest

from builders import FakeRoot
from sitesweep.model import Severity
from sitesweep.packs import load_packs
from sitesweep.pipeline import ScanOptions, run_scan

SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"

# pack id -> (distribution, an affected version, the last clean version or None when the pack
# lists every version of the name).
CASES = {
    "aiocpa-2024-11": ("aiocpa", "0.1.14", "0.1.12"),
    "bittensor-wallet-2026-03": ("bittensor-wallet", "4.0.2", "4.0.1"),
    "colorinal-2025-08": ("colorinal", "0.1.7", "0.1.6"),
    "dydx-v4-client-2026-01": ("dydx-v4-client", "1.1.5.post1", "1.1.5"),
    "guardrails-ai-2026-05": ("guardrails-ai", "0.10.1", "0.10.0"),
    "hades-2026-06": ("uprobe", "0.1.3", "0.1.2"),
    "karpatkey-2026-07": ("roles-royce", "2.1.1", None),
    "mrmustard-2026-07": ("mrmustard", "0.7.4", "0.7.3"),
    "ctx-2022-05": ("ctx", "0.1.2-1", "0.1.2"),
    "durabletask-2026-05": ("durabletask", "1.4.2", "1.4.0"),
    "elementary-data-2026-04": ("elementary-data", "0.23.3", "0.23.2"),
    "lightning-2026-04": ("lightning", "2.6.3", "2.6.1"),
    "litellm-2026-03": ("litellm", "1.82.8", "1.82.6"),
    "mistralai-2026-05": ("mistralai", "2.4.6", "2.4.5"),
    "num2words-2025-07": ("num2words", "0.5.15", "0.5.14"),
    "telnyx-2026-03": ("telnyx", "4.87.2", "4.87.0"),
    "torchtriton-2022-12": ("torchtriton", "2.0.0", None),
    "ultralytics-2024-12": ("ultralytics", "8.3.46", "8.3.40"),
    "xinference-2026-04": ("xinference", "2.6.1", "2.5.0"),
}


def test_every_builtin_pack_loads_with_an_affected_release() -> None:
    packs = load_packs().packs
    assert {pack.id for pack in packs} == set(CASES)
    for pack in packs:
        assert pack.affected, pack.id
        assert all(release.specifiers for release in pack.affected), pack.id
        assert pack.remediation.strip(), pack.id


def test_at_least_four_incidents_beyond_litellm() -> None:
    assert len([p for p in load_packs().packs if p.id != "litellm-2026-03"]) >= 4


def _affected_rules(root: Path, name: str, version: str) -> Tuple[Tuple[str, Severity], ...]:
    fake = FakeRoot(root)
    fake.add_venv("/home/alice/app/.venv")
    fake.add_dist(SITE, name, version)
    result = run_scan(ScanOptions(root=root, output=None, strict=True)).result
    assert not fake.marker.exists()
    return tuple((f.rule, f.severity) for f in result.findings if "/affected/" in f.rule and f.pack)


@pytest.mark.parametrize("pack_id", sorted(CASES))
def test_affected_version_installed_is_critical(tmp_path: Path, pack_id: str) -> None:
    name, bad, _ = CASES[pack_id]
    rules = _affected_rules(tmp_path / "host", name, bad)
    # torchtriton: any version is suspect, but only the binary's hash tells the bad upload apart
    expected = Severity.HIGH if pack_id == "torchtriton-2022-12" else Severity.CRITICAL
    assert (f"{pack_id}/affected/{name}", expected) in rules


@pytest.mark.parametrize("pack_id", sorted(k for k, v in CASES.items() if v[2] is not None))
def test_last_clean_version_gives_no_finding(tmp_path: Path, pack_id: str) -> None:
    name, _, clean = CASES[pack_id]
    assert clean is not None
    assert _affected_rules(tmp_path / "host", name, clean) == ()


# Artefacts the packs name from iocs.md 6 (host path, content): each alone is a critical finding of
# its pack, with no affected release installed. The contents are inert stand-ins.
ARTEFACTS = {
    "hades-2026-06": ("/tmp/.bun_ran", b""),
    "elementary-data-2026-04": ("/tmp/.trinny-security-update", b"1\n"),
    "durabletask-2026-05": ("/home/alice/.local/bin/pgmonitor.py", b"# inert stand-in\n"),
    "mrmustard-2026-07": (f"{SITE}/mmcompat.pth", b"# inert stand-in\n"),
    "lightning-2026-04": (f"{SITE}/lightning/_runtime/router_runtime.js", b"// inert\n"),
}


@pytest.mark.parametrize("pack_id", sorted(ARTEFACTS))
def test_published_artefact_alone_is_found(tmp_path: Path, pack_id: str) -> None:
    path, content = ARTEFACTS[pack_id]
    fake = FakeRoot(tmp_path / "host")
    fake.add_passwd([("alice", 1000, "/home/alice")])
    fake.add_venv("/home/alice/app/.venv")
    fake.add_file(path, content)
    result = run_scan(ScanOptions(root=fake.path, output=None, strict=True)).result
    assert not fake.marker.exists()
    found = [(f.severity, f.paths) for f in result.findings if f.pack == pack_id]
    assert any(sev is Severity.CRITICAL and path in paths for sev, paths in found), found


def test_torchtriton_replacement_package_is_not_flagged(tmp_path: Path) -> None:
    """The renamed dependency, pytorch-triton, is what clean nightlies install."""
    assert _affected_rules(tmp_path / "host", "pytorch-triton", "2.0.0") == ()


def test_torchtriton_binary_path_is_hashed_and_another_hash_is_no_match(tmp_path: Path) -> None:
    """The pack's site_path is collected and hashed; a file with another hash is not flagged."""
    fake = FakeRoot(tmp_path / "host")
    fake.add_venv("/home/alice/app/.venv")
    files = {"triton/__init__.py": b"", "triton/runtime/triton": b"\x7fELF not the real binary\n"}
    fake.add_dist(SITE, "pytorch-triton", "2.0.0", files=files)
    result = run_scan(ScanOptions(root=fake.path, output=None, strict=True)).result
    hashed = {str(f.path): f.sha256 for f in result.inventory.files}
    assert hashed.get(f"{SITE}/triton/runtime/triton") is not None
    assert not [f for f in result.findings if f.pack == "torchtriton-2022-12"]
