"""findings.jsonl against the Elastic Common Schema's own field definitions (ECS 8.17.0).

Every field name must be an ECS field of the right type (or live under ``sitesweep.*``/``labels``),
and every document's ``event.kind``/``event.category``/``event.type`` must be a combination ECS
allows. The host is the incident's wide shape (package, .pth, systemd persistence, credentials,
lockfiles) plus, as a live scan would see them, the payload's processes.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import (
    AWS_CREDENTIALS,
    PROJECT,
    SITE,
    SYSMON_UNIT,
    build_wide,
    scan_bundle,
)
from sitesweep.engine import ScanResult, analyze
from sitesweep.exports.ecs import findings_jsonl
from sitesweep.host.model import Connection, ProcessInfo
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import collect_inventory
from sitesweep.packs import load_packs
from sitesweep.pipeline import ScanOptions, collect_spec

ECS = json.loads((Path(__file__).parent / "data" / "ecs_fields.json").read_text("utf-8"))
FIELDS: Dict[str, Dict[str, Any]] = ECS["fields"]
OWN_NAMESPACE = "sitesweep."
"""Custom fields go under the product's own name, which ECS reserves no field for."""
TEXT_TYPES = {"keyword", "wildcard", "match_only_text", "text", "constant_keyword", "ip"}
NUMBER_TYPES = {"long", "integer", "short", "byte"}
STAMP = "2026-03-25T12:00:00.000000Z"


def _leaves(doc: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, Any]]:
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in FIELDS:
            yield from _leaves(value, name + ".")
        else:
            yield name, value


def _type_ok(kind: str, value: Any) -> bool:
    if kind in TEXT_TYPES:
        return isinstance(value, str)
    if kind in NUMBER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and bool(datetime.fromisoformat(value.replace("Z", "+00:00")))
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(f"type {kind} not handled by this test")


def ecs_problems(doc: Dict[str, Any]) -> List[str]:
    """Everything in ``doc`` that ECS 8.17.0 does not allow (empty when it conforms)."""
    problems: List[str] = []
    for name, value in _leaves(doc):
        if name.startswith(OWN_NAMESPACE):
            continue
        field = FIELDS.get(name)
        if field is None:
            problems.append(f"{name}: not an ECS field")
            continue
        is_array = "array" in field.get("normalize", [])
        if isinstance(value, list) != is_array:
            problems.append(f"{name}: {'must' if is_array else 'must not'} be an array")
        values = value if isinstance(value, list) else [value]
        if not all(_type_ok(field["type"], v) for v in values):
            problems.append(f"{name}: {value!r} is not of ECS type {field['type']}")
    event = doc.get("event", {})
    kinds = FIELDS["event.kind"]["allowed_values"]
    allowed = FIELDS["event.category"]["allowed_values"]
    if event.get("kind") not in kinds:
        problems.append(f"event.kind {event.get('kind')!r} not allowed")
    for category in event.get("category", []):
        if category not in allowed:
            problems.append(f"event.category {category!r} not allowed")
            continue
        problems.extend(
            f"event.type {kind!r} not expected for category {category!r}"
            for kind in event.get("type", [])
            if kind not in allowed[category]
        )
    return problems


def _proc(pid: int, cmdline: List[str], **extra: object) -> ProcessInfo:
    fields: Dict[str, Any] = {
        "pid": pid,
        "ppid": 1,
        "name": cmdline[0].rsplit("/", 1)[-1],
        "user": "alice",
        "exe": cmdline[0],
        "cmdline": tuple(cmdline),
        "cwd": "/home/alice",
        "create_time": 1774349100.0,
        "exe_deleted": False,
        "connections": (),
    }
    fields.update(extra)
    return ProcessInfo(**fields)


@pytest.fixture
def wide(fake_root: FakeRoot) -> ScanResult:
    """The wide host, analysed as a live scan that saw the payload's processes."""
    build_wide(fake_root)
    packs = load_packs()
    root = HostRoot(fake_root.path)
    static = collect_inventory(root, collect_spec(packs, root, ScanOptions(root=fake_root.path)))
    processes = (
        _proc(4242, ["/usr/bin/python3", "/home/alice/.config/sysmon/sysmon.py"]),
        _proc(
            4243,
            ["/usr/bin/python3", "-c", "import base64;exec(base64.b64decode('cHJpbnQoMSk='))"],
        ),
        _proc(4244, ["/usr/bin/python3"], connections=(Connection("83.142.209.11", 443, "X"),)),
    )
    inventory = dataclasses.replace(static, live=True, processes=processes)
    return analyze(inventory, packs, strict=True)


def _docs(result: ScanResult) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in findings_jsonl(result, STAMP).splitlines()]


def test_every_document_conforms_to_ecs(wide: ScanResult) -> None:
    docs = _docs(wide)
    assert len(docs) == len(wide.findings) > 10
    for doc in docs:
        assert not ecs_problems(doc), (doc["rule"]["id"], ecs_problems(doc))
    categories = {c for d in docs for c in d["event"]["category"]}
    assert {"package", "file", "process", "network", "configuration", "malware"} <= categories
    assert "intrusion_detection" in categories, "heuristic findings say so"
    assert all(d["event"]["kind"] == "alert" and d["event"]["type"] == ["info"] for d in docs)


def test_the_validator_refuses_what_ecs_does_not_allow() -> None:
    bad = {
        "event": {"kind": "alert", "category": ["package"], "type": ["indicator"]},
        "file": {"path": ["/a"], "size": "12"},
        "rule": {"title": "x"},
    }
    problems = ecs_problems(bad)
    assert "event.type 'indicator' not expected for category 'package'" in problems
    assert "file.path: must not be an array" in problems
    assert "file.size: '12' is not of ECS type long" in problems
    assert "rule.title: not an ECS field" in problems


def test_process_findings_fill_process_fields_not_file_path(wide: ScanResult) -> None:
    docs = [d for d in _docs(wide) if "process" in d["event"]["category"]]
    pids = {d["process"]["pid"] for d in docs}
    assert {4242, 4243, 4244} <= pids
    for doc in docs:
        assert "file" not in doc, "a process is not a file: no /proc/PID in file.path"
        proc = doc["process"]
        assert proc["executable"] == "/usr/bin/python3"
        assert proc["name"] == "python3"
        assert proc["parent"] == {"pid": 1}
        assert proc["user"] == {"name": "alice"}
        assert proc["command_line"].startswith("/usr/bin/python3")
    decode = next(d for d in docs if d["process"]["pid"] == 4243)
    assert decode["rule"]["name"] == "heuristic/process-inline-decode-exec"
    assert decode["threat"]["technique"]["subtechnique"]["id"] == ["T1059.006"]
    network = next(d for d in docs if d["process"]["pid"] == 4244)
    assert network["event"]["category"][:2] == ["network", "process"]
    assert "T1041" in network["threat"]["technique"]["id"]


def _by_rule(docs: List[Dict[str, Any]], rule: str) -> List[Dict[str, Any]]:
    return [d for d in docs if d["rule"]["id"] == rule]


def test_rules_techniques_and_advisories(wide: ScanResult) -> None:
    docs = _docs(wide)
    for doc in docs:
        assert doc["rule"]["name"] != doc["message"] or doc["rule"]["name"] == doc["rule"]["id"]
    lockfiles = _by_rule(docs, "litellm-2026-03/lockfile/litellm")
    assert len(lockfiles) == 2, "requirements.txt and uv.lock: two instances of one rule"
    assert {d["rule"]["name"] for d in lockfiles} == {"litellm-2026-03/lockfile/litellm"}
    assert len({d["message"] for d in docs}) > 1

    def subtechniques(rule: str) -> List[str]:
        ids: List[str] = _by_rule(docs, rule)[0]["threat"]["technique"]["subtechnique"]["id"]
        return ids

    assert subtechniques("litellm-2026-03/file/litellm-init-pth") == ["T1546.018"]
    assert subtechniques("heuristic/pth-exec") == ["T1546.018"]
    assert subtechniques("litellm-2026-03/affected/litellm") == ["T1195.001"]
    assert subtechniques("litellm-2026-03/rotate/~/.aws/credentials") == ["T1552.001"]
    assert subtechniques("litellm-2026-03/persistence/sysmon-service") == ["T1543.002"]
    pth = _by_rule(docs, "litellm-2026-03/file/litellm-init-pth")[0]
    assert pth["threat"]["framework"] == "MITRE ATT&CK"
    assert pth["threat"]["technique"]["id"] == ["T1546"]
    assert pth["threat"]["tactic"]["name"] == ["Persistence"]
    assert pth["file"]["path"] == f"{SITE}/litellm_init.pth"
    assert pth["rule"]["reference"].startswith("https://")
    assert pth["vulnerability"]["id"] == "GHSA-5mg7-485q-xm76"
    assert pth["vulnerability"]["reference"] == "https://github.com/advisories/GHSA-5mg7-485q-xm76"
    assert "MAL-2026-2144" in pth["sitesweep"]["advisories"]
    heuristic = _by_rule(docs, "heuristic/pth-exec")[0]
    assert "vulnerability" not in heuristic
    assert "reference" not in heuristic["rule"]
    unit = _by_rule(docs, "litellm-2026-03/persistence/sysmon-service")[0]
    assert unit["file"]["path"].endswith("sysmon.service")
    assert SYSMON_UNIT in unit["sitesweep"]["paths"]
    creds = _by_rule(docs, "litellm-2026-03/rotate/~/.aws/credentials")[0]
    assert creds["file"]["path"] == AWS_CREDENTIALS
    assert "hash" not in creds["file"], "a secret is named, never hashed or copied"
    lock = next(d for d in lockfiles if d["file"]["path"] == f"{PROJECT}/requirements.txt")
    assert lock["package"]["name"] == "litellm"


def test_host_fields_and_bundle_export(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_wide(fake_root)
    bundle = scan_bundle(fake_root, tmp_path / "out", run_cli)
    lines = (bundle / "findings.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    assert docs
    for doc in docs:
        assert not ecs_problems(doc), (doc["rule"]["id"], ecs_problems(doc))
        assert doc["host"]["id"] == "0123456789abcdef0123456789abcdef"
        assert doc["host"]["os"]["full"] == "Ubuntu 22.04"
        assert doc["ecs"]["version"] == ECS["ecs_version"]
