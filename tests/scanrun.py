"""Run ``sitesweep scan`` on a fixture root and read back what the bundle says (test helpers)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from sitesweep.cli import main

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"


def scan(root: Path, out: Path, *extra: str) -> Tuple[int, Path]:
    """Scan ``root`` in-process into ``out``; return the exit code and the bundle directory."""
    code = main(["scan", "--root", str(root), "--output", str(out), *extra])
    return code, only_bundle(out)


def only_bundle(out: Path) -> Path:
    """The one bundle directory under ``out``."""
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def bundles_by_host(out: Path) -> Dict[str, Path]:
    """Bundle directories under ``out`` by the host name their manifest records."""
    found = {}
    for path in out.iterdir():
        if path.is_dir() and (path / "manifest.json").is_file():
            found[load(path, "manifest.json")["host"]["hostname"]] = path
    return found


def load(bundle: Path, name: str) -> Any:
    """A JSON file of the bundle."""
    return json.loads((bundle / name).read_text(encoding="utf-8"))


def gaps(bundle: Path) -> Set[Tuple[str, str]]:
    """Every coverage gap as (reason, host path)."""
    return {(g["reason"], g["path"]) for g in load(bundle, "coverage.json")["gaps"] if g["path"]}


def gap_paths(bundle: Path, reason: str) -> Set[str]:
    """The host paths of the gaps with ``reason``."""
    return {path for why, path in gaps(bundle) if why == reason}


def bundle_bytes(bundle: Path) -> List[bytes]:
    """The content of every file of the bundle directory, and of its ``.tar.gz`` unpacked."""
    contents = [p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()]
    archive = bundle.parent / f"{bundle.name}.tar.gz"
    if archive.is_file():
        contents.append(gzip.decompress(archive.read_bytes()))
    return contents


def bundle_mentions(bundle: Path, token: str) -> bool:
    """Whether ``token`` appears anywhere in the bundle (plain or JSON-escaped)."""
    needles = {token.encode(), json.dumps(token)[1:-1].encode()}
    return any(n in blob for blob in bundle_bytes(bundle) for n in needles)


LATER_PACK = """format = 1
id = "later-2026-12"
title = "A pack published after the bundle was made"
version = "1"

[[affected]]
name = "litellm"
specifiers = ["==9.9.9"]
severity = "critical"
note = "A later bad release."

[[files]]
id = "router"
site_path = "litellm/router.py"
sha256 = ["{digest}"]
severity = "high"
description = "router.py as shipped in the later bad release."

[remediation]
text = "Remove it."
"""
"""A pack published after a bundle was made: it names ``litellm/router.py`` by SHA-256 (its
file rule is ``later-2026-12/file/router``)."""


def write_later_pack(packs: Path, router: bytes) -> Path:
    """Write :data:`LATER_PACK` naming ``router``'s SHA-256 under ``packs``; return its folder."""
    pack = packs / "later-2026-12"
    pack.mkdir(parents=True)
    digest = hashlib.sha256(router).hexdigest()
    (pack / "pack.toml").write_text(LATER_PACK.format(digest=digest), encoding="utf-8")
    return pack
