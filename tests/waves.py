"""Inert imitations of the 2025-2026 wave mechanics, and their benign twins (test helpers).

Each builder plants one mechanic in a :class:`~builders.FakeRoot`. Planted code could only ever
append to the root's canary (``MARKER_EXECUTED``); network addresses are ``127.0.0.1:9``
(discard, nothing listens). Tests scan with ``--no-builtin-packs`` and assert the mechanic is
high or above and its twin low or below, and that the canary was never written.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from typing import Dict, List, Tuple

from builders import FakeRoot
from scanrun import SITE, VENV, load, scan
from sitesweep.cli import main
from sitesweep.model import Severity

HOME = "/home/alice"
PURE_WHEEL = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\nRoot-Is-Purelib: true\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PE = b"MZ\x90\x00" + b"\x00" * 60


def base_host(root: FakeRoot) -> None:
    """A host with one user and one venv."""
    root.add_passwd([("alice", 1000, HOME)])
    root.add_venv(VENV)


def canary_code(root: FakeRoot) -> str:
    """Python that appends to the canary: the only thing any planted payload does."""
    return f"open({str(root.marker)!r}, 'a').write('executed\\n')\n"


def set_wheel_tag(root: FakeRoot, name: str, version: str, tag: str) -> None:
    """Rewrite a planted distribution's ``WHEEL`` with ``tag``."""
    purelib = "true" if tag.endswith("-none-any") else "false"
    text = PURE_WHEEL.replace("true", purelib) + f"Tag: {tag}\n"
    root.add_file(f"{SITE}/{name}-{version}.dist-info/WHEEL", text)


def scan_severities(root: FakeRoot, out: Path, *extra: str) -> Tuple[int, Dict[str, Severity]]:
    """Scan with no pack; return the exit code and the highest severity per finding path."""
    code, bundle = scan(root.path, out, "--no-builtin-packs", *extra)
    worst: Dict[str, Severity] = {}
    for finding in load(bundle, "findings.json")["findings"]:
        severity = Severity(finding["severity"])
        for path in finding["paths"]:
            if path not in worst or severity.rank > worst[path].rank:
                worst[path] = severity
    return code, worst


def findings(root: FakeRoot, out: Path) -> List[Dict[str, object]]:
    """Every finding of a scan with no pack."""
    _, bundle = scan(root.path, out, "--no-builtin-packs")
    found: List[Dict[str, object]] = load(bundle, "findings.json")["findings"]
    return found


def worst(found: List[Dict[str, object]], rule: str) -> Severity:
    """The highest severity among findings of ``rule`` (info when none)."""
    ranks = [Severity(str(f["severity"])) for f in found if f["rule"] == rule]
    return max(ranks, key=lambda s: s.rank, default=Severity.INFO)


def analyze_rules(bundle: Path, out: Path) -> List[Dict[str, object]]:
    """``analyze`` a bundle with no pack; return its findings."""
    main(["analyze", str(bundle), "--no-builtin-packs", "--output", str(out)])
    analysis = next(p for p in out.iterdir() if p.is_dir())
    found: List[Dict[str, object]] = load(analysis, "findings.json")["findings"]
    return found


def b64_payload(root: FakeRoot) -> str:
    """The canary code, zlib-compressed and base64-encoded (as waves hide their stages)."""
    return base64.b64encode(zlib.compress(canary_code(root).encode())).decode()
