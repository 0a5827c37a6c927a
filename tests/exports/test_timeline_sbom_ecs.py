"""timeline.csv/.jsonl (Timesketch), sbom.cdx.json (CycloneDX 1.6) and findings.jsonl/.csv (ECS)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Dict, List

import cyclonedx.schema
import jsonschema  # type: ignore[import-untyped]  # test-only; no stubs pinned
import pytest
from referencing import Registry, Resource

from builders import FakeRoot
from clirun import RunCli
from evidence_host import (
    INSTALLED_ISO,
    OTHER_VENV,
    PTH_ISO,
    SCRIPT_NAME,
    SITE,
    VENV,
    build_infected,
    build_wide,
    load_json,
    scan_bundle,
)

SCHEMA_DIR = Path(cyclonedx.schema.__file__).parent / "_res"
SCHEMA_BASE = "http://cyclonedx.org/schema/"


@pytest.fixture
def bundle(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> Path:
    build_infected(fake_root)
    return scan_bundle(fake_root, tmp_path / "out", run_cli)


def _jsonl(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_timeline_in_order_with_the_known_install_time(bundle: Path) -> None:
    rows = list(csv.DictReader(io.StringIO((bundle / "timeline.csv").read_text())))
    assert rows, "the fixture has timed observations"
    assert list(rows[0])[:3] == ["datetime", "timestamp_desc", "message"]
    times = [r["datetime"] for r in rows]
    assert times == sorted(times)
    first, second = rows[0], rows[1]
    assert (first["datetime"], first["distribution"], first["version"]) == (
        INSTALLED_ISO,
        "litellm",
        "1.82.8",
    )
    assert first["environment"] == VENV
    assert first["severity"] == "critical"
    assert (second["datetime"], second["path"]) == (PTH_ISO, f"{SITE}/litellm_init.pth")
    assert second["sha256"]
    jsonl = _jsonl(bundle / "timeline.jsonl")
    assert [r["datetime"] for r in jsonl] == times
    assert all({"message", "datetime", "timestamp_desc"} <= set(r) for r in jsonl)
    assert jsonl[0]["timestamp"] == 1774348800 * 1_000_000
    assert "Exposure window" in (bundle / "report.html").read_text()


def _validator() -> Any:
    resources = []
    for name in (
        "bom-1.6.SNAPSHOT.schema.json",
        "spdx.SNAPSHOT.schema.json",
        "jsf-0.82.SNAPSHOT.schema.json",
    ):
        schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        resources.append((SCHEMA_BASE + name, Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    bom = json.loads((SCHEMA_DIR / "bom-1.6.SNAPSHOT.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(bom)
    return cls(bom, registry=registry)


def test_sbom_validates_against_cyclonedx_1_6(bundle: Path) -> None:
    doc = load_json(bundle, "sbom.cdx.json")
    errors = sorted(_validator().iter_errors(doc), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    assert doc["specVersion"] == "1.6"
    assert doc["serialNumber"].startswith("urn:uuid:")
    components = doc["components"]
    refs = [c["bom-ref"] for c in components]
    assert len(refs) == len(set(refs))
    requests = [c for c in components if c["name"] == "requests"]
    assert [c["purl"] for c in requests] == ["pkg:pypi/requests@2.31.0"] * 2
    envs = {
        p["value"]
        for c in requests
        for p in c["properties"]
        if p["name"] == "sitesweep:environment"
    }
    assert envs == {VENV, OTHER_VENV}
    hostile = next(c for c in components if c["name"] == SCRIPT_NAME)
    assert hostile["purl"].startswith("pkg:pypi/%3Cscript%3E")


def test_sbom_is_deterministic_for_a_bundle(bundle: Path) -> None:
    from sitesweep.bundle.reader import read_inventory
    from sitesweep.engine import analyze
    from sitesweep.exports.sbom import render_sbom
    from sitesweep.packs import load_packs

    result = analyze(read_inventory(bundle), load_packs(()))
    one = render_sbom(result, bundle.name, "2026-03-25T00:00:00Z")
    assert one == render_sbom(result, bundle.name, "2026-03-25T00:00:00Z")
    assert (
        json.loads(one)["serialNumber"]
        != json.loads(render_sbom(result, bundle.name + "-2", "2026-03-25T00:00:00Z"))[
            "serialNumber"
        ]
    )


def test_findings_jsonl_uses_ecs_names(bundle: Path) -> None:
    docs = _jsonl(bundle / "findings.jsonl")
    findings = load_json(bundle, "findings.json")["findings"]
    assert [d["event"]["id"] for d in docs] == [f["id"] for f in findings]
    pth = next(d for d in docs if d["rule"]["id"] == "litellm-2026-03/file/litellm-init-pth")
    assert pth["event"]["kind"] == "alert"
    assert pth["event"]["severity"] == 99
    assert pth["rule"]["ruleset"] == "litellm-2026-03"
    assert pth["host"]["name"] == "fixture-host"
    assert pth["host"]["id"] == "0123456789abcdef0123456789abcdef"
    assert pth["file"]["path"] == f"{SITE}/litellm_init.pth"
    assert len(pth["file"]["hash"]["sha256"]) == 64
    assert pth["@timestamp"].endswith("Z")
    assert pth["file"]["mtime"] == PTH_ISO
    rows = list(csv.DictReader(io.StringIO((bundle / "findings.csv").read_text())))
    assert [r["id"] for r in rows] == [f["id"] for f in findings]


def test_sbom_vulnerabilities_and_hashes(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_wide(fake_root)
    doc = load_json(scan_bundle(fake_root, tmp_path / "out", run_cli), "sbom.cdx.json")
    errors = sorted(_validator().iter_errors(doc), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    components = {c["bom-ref"]: c for c in doc["components"]}
    litellm = next(c for c in components.values() if c["name"] == "litellm")
    record = fake_root.host(f"{SITE}/litellm-1.82.8.dist-info/RECORD").read_bytes()
    assert litellm["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(record).hexdigest()}]
    unread = next(
        c
        for c in components.values()
        if c["name"] == "requests"
        and {"name": "sitesweep:environment", "value": OTHER_VENV} in c["properties"]
    )
    assert "hashes" not in unread, "RECORD is read only where a pack targets the site dir"
    [vuln] = doc["vulnerabilities"]
    assert vuln["id"] == "GHSA-5mg7-485q-xm76"
    assert vuln["source"] == {
        "name": "GitHub Advisory Database",
        "url": "https://github.com/advisories/GHSA-5mg7-485q-xm76",
    }
    refs = {r["id"]: r["source"]["name"] for r in vuln["references"]}
    assert refs["MAL-2026-2144"] == "OSV"
    assert "GHSA-92x9-889m-jgmw" in refs
    assert [r["severity"] for r in vuln["ratings"]] == ["critical"]
    assert vuln["affects"] == [
        {"ref": litellm["bom-ref"], "versions": [{"version": "1.82.8", "status": "affected"}]}
    ]
    assert all(a["ref"] in components for v in doc["vulnerabilities"] for a in v["affects"])
    assert any("osv.dev" in a["url"] for a in vuln["advisories"])
