"""A pack round-trips through a MISP event and a STIX 2.1 bundle, both built by their libraries.

``signatures export --format misp|stix`` writes the event or bundle; ``signatures import`` reads
it back into a pack that must say the same things: affected releases, file and artifact hashes,
names, network indicators, persistence paths, advisories, references and credentials. An event
from another team (a MISP ``file`` object, an MD5 the pack format cannot hold, no package named)
imports with what it cannot hold listed and an affected release given on the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, FrozenSet, Tuple

import pytest

from clirun import RunCli
from sitesweep.packs import load_packs
from sitesweep.packs.loader import load_pack
from sitesweep.packs.model import Pack

pytest.importorskip("pymisp", reason="the intel extra (requirements-intel.lock) is not installed")
pytest.importorskip("stix2", reason="the intel extra (requirements-intel.lock) is not installed")


def facts(pack: Pack) -> Dict[str, Any]:
    """What a pack says, as comparable sets (ids and comments are the importer's own)."""
    files: FrozenSet[Tuple[Any, ...]] = frozenset(
        (f.name, f.site_path, frozenset(f.sha256), f.name_is_indicator) for f in pack.files
    )
    return {
        "affected": {(a.name, tuple(str(s) for s in a.specifiers)) for a in pack.affected},
        "files": files,
        "artifacts": {(a.sha256, a.filename) for a in pack.artifacts},
        "domains": set(pack.network.domains),
        "ips": set(pack.network.ips),
        "urls": set(pack.network.urls),
        "persistence": {p.path for p in pack.persistence},
        "advisories": set(pack.advisories),
        "references": set(pack.references),
        "credentials": set(pack.credentials),
    }


@pytest.mark.parametrize("fmt", ["misp", "stix"])
@pytest.mark.parametrize("pack_id", ["durabletask-2026-05", "hades-2026-06", "litellm-2026-03"])
def test_pack_round_trips(tmp_path: Path, run_cli: RunCli, fmt: str, pack_id: str) -> None:
    original = load_packs().get(pack_id)
    assert original is not None
    exported = tmp_path / f"{pack_id}.{fmt}.json"
    out = run_cli("signatures", "export", pack_id, "--format", fmt, "--output", str(exported))
    assert out.code == 0, out.err
    doc = json.loads(exported.read_text())
    if fmt == "stix":
        assert doc["type"] == "bundle"
        assert any(o["type"] == "report" for o in doc["objects"])
    else:
        assert doc["Attribute"]
    target = tmp_path / "packs" / f"imported-{fmt}"
    back = run_cli("signatures", "import", str(exported), "--format", fmt, "--output", str(target))
    assert back.code == 0, back.err
    imported = load_pack(target)
    assert facts(imported) == facts(original)
    assert imported.title == original.title


def test_export_refuses_to_overwrite(tmp_path: Path, run_cli: RunCli) -> None:
    existing = tmp_path / "event.json"
    existing.write_text("keep me")
    out = run_cli(
        "signatures", "export", "litellm-2026-03", "--format", "misp", "--output", str(existing)
    )
    assert out.code == 2
    assert existing.read_text() == "keep me"


# A MISP event as another team shares it: a file object, an MD5, a domain, a CVE, no package.
FOREIGN_EVENT: Dict[str, Any] = {
    "Event": {
        "info": "Stealer seen after a compromised PyPI release",
        "Attribute": [
            {"type": "domain", "category": "Network activity", "value": "exfil.example"},
            {
                "type": "md5",
                "category": "Payload delivery",
                "value": "d41d8cd98f00b204e9800998ecf8427e",
            },
            {"type": "vulnerability", "category": "External analysis", "value": "CVE-2026-45758"},
        ],
        "Object": [
            {
                "name": "file",
                "meta-category": "file",
                "Attribute": [
                    {"object_relation": "filename", "type": "filename", "value": "stage2.py"},
                    {
                        "object_relation": "sha256",
                        "type": "sha256",
                        "value": "a" * 64,
                    },
                ],
            }
        ],
    }
}


def test_foreign_event_imports_with_what_it_cannot_hold_listed(
    tmp_path: Path, run_cli: RunCli
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(FOREIGN_EVENT))
    target = tmp_path / "packs" / "shared-event"
    refused = run_cli(
        "signatures", "import", str(event), "--format", "misp", "--output", str(target)
    )
    assert refused.code == 2
    assert "no affected release" in refused.err
    assert not (target / "pack.toml").exists()
    done = run_cli(
        "signatures", "import", str(event), "--format", "misp", "--output", str(target),
        "--affected", "evilpkg==1.2.3",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "skipped attribute md5" in done.err
    pack = load_pack(target)
    assert pack.network.domains == ("exfil.example",)
    assert pack.advisories == ("CVE-2026-45758",)
    assert [(f.name, sorted(f.sha256)) for f in pack.files] == [("stage2.py", ["a" * 64])]
    assert [(a.name, tuple(str(s) for s in a.specifiers)) for a in pack.affected] == [
        ("evilpkg", ("==1.2.3",))
    ]
