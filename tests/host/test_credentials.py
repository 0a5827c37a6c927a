"""Exposed credentials: reported by path, never read, never in the bundle; rotation on execution."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from builders import FakeRoot, malicious_pth_content
from clirun import unprivileged
from sitesweep.host.model import CredentialKind
from sitesweep.model import Category, Finding, Severity
from sitesweep.pipeline import ScanOptions, run_scan

SECRET = b"FIXTURE-SECRET-7f3a9c-do-not-leak"
SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"


def plant_secrets(root: FakeRoot) -> Dict[str, bytes]:
    """Credential files of several kinds, each holding the fixture secret."""
    files = {
        "/home/alice/.ssh/id_ed25519": b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + SECRET + b"\n",
        "/home/alice/.aws/credentials": b"[default]\naws_secret_access_key = " + SECRET + b"\n",
        "/home/alice/app/.env": b"DATABASE_URL=postgres://u:" + SECRET + b"@db/app\n",
        "/srv/site/tls/server.key": SECRET,
        "/root/.kube/config": b"users:\n- name: admin\n  user:\n    token: " + SECRET + b"\n",
        "/home/alice/.bashrc": b"export OPENAI_API_KEY=" + SECRET + b"\nalias ll='ls -l'\n",
        "/home/alice/.ssh/authorized_keys": b"ssh-ed25519 AAAA" + SECRET + b" alice@laptop\n",
    }
    for path, data in files.items():
        root.add_file(path, data, mode=0o600)
    root.add_dir("/home/alice/.azure")
    return files


def infect(root: FakeRoot) -> None:
    root.add_venv("/home/alice/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))


def credential_findings(findings: Tuple[Finding, ...]) -> List[Finding]:
    return [f for f in findings if f.category is Category.CREDENTIAL_EXPOSURE]


def bundle_bytes(out: Path) -> List[Tuple[str, bytes]]:
    """Every file of the bundle directory and every member of its archive."""
    found = [(str(p), p.read_bytes()) for p in out.rglob("*") if p.is_file()]
    for archive in out.glob("*.tar.gz"):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    found.append((f"{archive.name}:{member.name}", handle.read()))
    return found


def test_present_credentials_are_info_without_execution(fake_root: FakeRoot) -> None:
    planted = plant_secrets(fake_root)
    result = run_scan(ScanOptions(root=fake_root.path, strict=True)).result
    items = {(i.path, i.kind) for i in result.inventory.credentials}
    for path in planted:
        if path != "/home/alice/.bashrc":
            assert any(p == path for p, _ in items), path
    assert ("/home/alice/.azure", CredentialKind.DIRECTORY) in items
    assert ("/root/.kube/config", CredentialKind.KUBERNETES) in items
    variables = [i for i in result.inventory.credentials if i.kind is CredentialKind.VARIABLE]
    assert [(v.path, v.variable, v.user) for v in variables] == [
        ("/home/alice/.bashrc", "OPENAI_API_KEY", "alice")
    ]
    found = credential_findings(result.findings)
    assert found
    assert {f.severity for f in found} == {Severity.INFO}


def test_rotation_after_execution_and_no_secret_in_bundle(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    plant_secrets(fake_root)
    infect(fake_root)
    out = tmp_path / "out"
    outcome = run_scan(ScanOptions(root=fake_root.path, output=out, strict=True))
    rotate = [f for f in credential_findings(outcome.result.findings) if "/rotate/" in f.rule]
    paths = {p for f in rotate for p in f.paths}
    assert {
        "/home/alice/.ssh/id_ed25519",
        "/home/alice/.aws/credentials",
        "/home/alice/app/.env",
        "/srv/site/tls/server.key",
        "/home/alice/.bashrc",
        "/home/alice/.ssh/authorized_keys",
    } <= paths
    assert {f.severity for f in rotate} == {Severity.HIGH}
    kube = [f for f in outcome.result.findings if f.rule == "litellm-2026-03/kubernetes"]
    assert len(kube) == 1
    assert kube[0].severity is Severity.HIGH
    assert "kubectl get pods -n kube-system -o wide | grep node-setup-" in (
        kube[0].remediation or ""
    )
    assert outcome.bundle is not None
    report = (outcome.bundle.directory / "report.txt").read_text()
    assert "Rotate these secrets" in report
    assert "[ ] /home/alice/.ssh/id_ed25519 (account alice; stolen by litellm-2026-03)" in report
    assert (
        "[ ] the value of OPENAI_API_KEY set in /home/alice/.bashrc "
        "(account alice; stolen by litellm-2026-03)"
    ) in report
    leaks = [name for name, data in bundle_bytes(out) if SECRET in data]
    assert leaks == []
    assert not fake_root.marker.exists()


def test_unreadable_home_is_a_gap(fake_root: FakeRoot, tmp_path: Path) -> None:
    plant_secrets(fake_root)
    fake_root.add_file("/home/bob/.ssh/id_rsa", SECRET, mode=0o600)
    bob = fake_root.host("/home/bob")
    bob.chmod(0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-I", "-m", "sitesweep", "scan", "--root", str(fake_root.path)]
    try:
        proc = subprocess.run(
            unprivileged([*cmd, "--output", str(out)]), capture_output=True, text=True, timeout=300
        )
    finally:
        bob.chmod(0o750)
    assert proc.returncode == 0, proc.stderr
    bundle = next(p for p in out.iterdir() if p.is_dir())
    coverage = json.loads((bundle / "coverage.json").read_text())
    gaps: Set[Tuple[str, str, Optional[str]]] = {
        (g["area"], g["reason"], g["path"]) for g in coverage["gaps"]
    }
    assert ("credentials", "permission_denied", "/home/bob") in gaps
    assert ("persistence", "permission_denied", "/home/bob") in gaps
    assert ("processes", "live_only", None) in gaps
    inventory = json.loads((bundle / "inventory.json").read_text())
    assert "/home/alice/.ssh/id_ed25519" in {c["path"] for c in inventory["credentials"]}
