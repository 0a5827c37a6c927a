"""findings.sarif against the official SARIF 2.1.0 JSON Schema: project files, relative URIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import jsonschema  # type: ignore[import-untyped]  # test-only; no stubs pinned
import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import AWS_CREDENTIALS, PROJECT, SITE, SYSMON_UNIT, build_wide, scan_bundle
from sitesweep.engine import ScanResult
from sitesweep.exports.sarif import render_sarif
from sitesweep.outcome import Verdict, outcome_of
from sitesweep.packs import load_packs
from sitesweep.pipeline import ScanOptions, run_scan

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def sarif_errors(doc: Dict[str, Any]) -> List[str]:
    """Every way ``doc`` breaks the SARIF 2.1.0 schema (empty when valid)."""
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.fixture
def wide(fake_root: FakeRoot) -> ScanResult:
    build_wide(fake_root)
    return run_scan(ScanOptions(root=fake_root.path, output=None)).result


def test_sarif_validates_and_holds_the_project_findings(
    wide: ScanResult, fake_root: FakeRoot
) -> None:
    doc = json.loads(render_sarif(wide))
    assert not sarif_errors(doc)
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    assert "uri" not in run["originalUriBaseIds"]["SCANROOT"], "the root is in the manifest only"
    assert str(fake_root.path) not in json.dumps(doc)
    by_uri = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]
    }
    rel = PROJECT.lstrip("/")
    pth_uri = f"{SITE.lstrip('/')}/litellm_init.pth"
    assert pth_uri in by_uri
    pth = next(r for r in run["results"] if r["ruleId"] == "litellm-2026-03/file/litellm-init-pth")
    assert pth["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == pth_uri
    assert pth["level"] == "error"
    requirements = by_uri[f"{rel}/requirements.txt"]
    assert requirements["ruleId"] == "litellm-2026-03/lockfile/litellm"
    assert requirements["level"] == "warning"
    assert requirements["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    assert f"{rel}/uv.lock" in by_uri
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "SCANROOT"
        and not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
        for r in run["results"]
    )
    hostile = [u for u in by_uri if "onerror" in u]
    assert hostile == [f"{SITE.lstrip('/')}/%3Cimg%20src%3Dx%20onerror%3Dalert%282%29%3E.pth"]
    host_only = (AWS_CREDENTIALS, SYSMON_UNIT, "/etc/passwd")
    assert not [u for u in by_uri if "/" + u in host_only], "secrets and persistence stay out"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(dict.fromkeys(r["ruleId"] for r in run["results"]))
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    lock_rule = rules[requirements["ruleIndex"]]
    assert lock_rule["helpUri"].startswith("https://")
    assert "GHSA-5mg7-485q-xm76" in lock_rule["properties"]["tags"]
    assert float(rules[pth["ruleIndex"]]["properties"]["security-severity"]) >= 9.0
    assert "external/mitre/T1546.018" in rules[pth["ruleIndex"]]["properties"]["tags"]


def test_a_clean_project_gives_an_empty_valid_log(fake_root: FakeRoot) -> None:
    fake_root.add_venv("/src/app/.venv")
    fake_root.add_file("/src/app/requirements.txt", "requests==2.31.0\n")
    result = run_scan(ScanOptions(root=fake_root.path, output=None)).result
    doc = json.loads(render_sarif(result))
    assert not sarif_errors(doc)
    assert doc["runs"][0]["results"] == []
    [invocation] = doc["runs"][0]["invocations"]
    verdict = outcome_of(result).verdict
    assert invocation["properties"]["verdict"] == verdict.value, "no results is not 'clean'"
    assert bool(invocation["toolExecutionNotifications"]) == (verdict is Verdict.INCOMPLETE)
    assert load_packs().packs, "the packs were loaded: nothing matched"


def test_the_schema_refuses_a_broken_log() -> None:
    assert sarif_errors({"version": "2.1.0", "runs": [{"results": []}]})
    assert sarif_errors({"version": "2.0.0", "runs": []})


def test_the_bundle_holds_findings_sarif(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_wide(fake_root)
    bundle = scan_bundle(fake_root, tmp_path / "out", run_cli)
    doc = json.loads((bundle / "findings.sarif").read_text(encoding="utf-8"))
    assert not sarif_errors(doc)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert f"{PROJECT.lstrip('/')}/requirements.txt" in uris


def test_format_sarif_prints_the_log_on_stdout(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_wide(fake_root)
    run = run_cli(
        "scan", "--root", str(fake_root.path), "--output", str(tmp_path / "o"), "--format", "sarif"
    )
    assert run.code == 1, run.err
    doc = json.loads(run.out)
    assert not sarif_errors(doc)
    [invocation] = doc["runs"][0]["invocations"]
    assert invocation["properties"]["verdict"] == "compromised"
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert "litellm-2026-03/lockfile/litellm" in rules
