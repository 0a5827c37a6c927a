"""The bundle's documents: typed both ways, and their published JSON Schemas hold for real bundles.

Bundles are written by ``scan``, ``collect`` and ``analyze --output`` on a fixture host; the
sweep record and a journal line by the fleet's own writers. Each document validates against its
schema in ``schemas/`` (with ``jsonschema``, draft 2020-12) and decodes into its type.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # test-only

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from scanrun import SITE, VENV, only_bundle
from sitesweep.bundle import documents
from sitesweep.bundle.serialize import _plain

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _validate(name: str, doc: Any) -> None:
    schema = json.loads((SCHEMAS / documents.schema_file(name)).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _load(bundle: Path, name: str) -> Dict[str, Any]:
    doc: Dict[str, Any] = json.loads((bundle / name).read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize("name", sorted(documents.DOCUMENTS))
def test_published_schemas_are_the_generated_ones(name: str) -> None:
    published = (SCHEMAS / documents.schema_file(name)).read_text(encoding="utf-8")
    assert published == documents.schema_text(name), (
        "schemas/ is stale: run `python -m sitesweep.bundle.documents schemas/`"
    )


def test_real_bundles_validate_and_decode(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "litellm", "1.82.8")
    fake_root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(fake_root.marker))
    fake_root.add_file("/home/alice/.aws/credentials", b"[default]\n", 0o600)
    scanned = tmp_path / "s"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(scanned)).code == 1
    collected = tmp_path / "c"
    assert run_cli("collect", "--root", str(fake_root.path), "--output", str(collected)).code == 0
    analysed = tmp_path / "a"
    bundle = only_bundle(scanned)
    assert run_cli("analyze", str(bundle), "--output", str(analysed)).code == 1
    analysis = next(analysed.iterdir())
    checked = 0
    for directory in (bundle, only_bundle(collected), analysis):
        for name, (cls, _extra) in documents.DOCUMENTS.items():
            if not (directory / name).is_file():
                continue
            doc = _load(directory, name)
            _validate(name, doc)
            root = {"root": ""} if name == "inventory.json" else {}  # the root is the manifest's
            typed: Any = documents.load(cls, {**doc, **root}, name)
            if name in ("findings.json", "coverage.json"):
                assert _plain(typed) == doc  # both ways: the type holds the whole document
            checked += 1
    assert checked == 4 + 3 + 3  # scan: all four; collect: no findings; analysis: no inventory
    findings = documents.load(
        documents.FindingsDocument, _load(bundle, "findings.json"), "findings.json"
    )
    assert findings.outcome.verdict.value == "compromised"
    assert [r.secret for r in findings.outcome.rotation] == ["/home/alice/.aws/credentials"]


def test_sweep_record_and_journal_lines_validate(tmp_path: Path) -> None:
    from sitesweep.fleet.journal import Attempt, append, journal_files
    from sitesweep.fleet.sweep import write_sweep_file

    append(tmp_path, Attempt("web1", "10.0.0.1", "ok", "", bundle="b.tar.gz", sha256="0" * 64))
    append(tmp_path, Attempt("web2", "10.0.0.2", "unreachable", "no route to host"))
    for path in journal_files(tmp_path):
        for line in path.read_text(encoding="utf-8").splitlines():
            _validate(documents.ATTEMPT_LINE, json.loads(line))
    sweep = write_sweep_file(tmp_path, datetime.now(timezone.utc), "f" * 64, 4)
    doc = json.loads(sweep.read_text(encoding="utf-8"))
    _validate(documents.SWEEP_FILE, doc)
    record = documents.load(documents.SweepRecord, doc, "sweep.json")
    assert sorted(a.host for a in record.hosts) == ["web1", "web2"]
