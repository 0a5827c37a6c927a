"""OSV malicious-package records become packs that load and flag installs (``packs.osv``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from sitesweep.errors import OsvImportError
from sitesweep.model import Severity
from sitesweep.packs.loader import load_pack
from sitesweep.packs.osv import ALL_VERSIONS, read_records
from sitesweep.packs.osv_pack import import_osv
from sitesweep.pipeline import ScanOptions, run_scan

SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"

# Shaped like ossf/malicious-packages osv/malicious/pypi/litellm/MAL-2026-2144.json (OSV 1.7).
LITELLM_RECORD: Dict[str, Any] = {
    "modified": "2026-03-26T09:53:17Z",
    "published": "2026-03-24T11:15:14Z",
    "schema_version": "1.7.4",
    "id": "MAL-2026-2144",
    "aliases": ["PYSEC-2026-2"],
    "summary": "Malicious code in litellm (PyPI)",
    "details": "\n---\n_-= Per source details. Do not edit below this line.=-_\n",
    "affected": [
        {"package": {"ecosystem": "PyPI", "name": "litellm"}, "versions": ["1.82.7", "1.82.8"]}
    ],
    "references": [
        {"type": "REPORT", "url": "https://github.com/BerriAI/litellm/issues/24518"},
        {"type": "WEB", "url": "ftp://not-http.example/x"},
    ],
    "database_specific": {
        "iocs": {"domains": ["litellm.cloud"], "urls": ["https://models.litellm.cloud/"]},
        "malicious-packages-origins": [
            {"source": "google-open-source-security", "versions": ["1.82.7", "1.82.8"]}
        ],
    },
}


def ranged_record(ident: str, name: str, events: List[Dict[str, str]]) -> Dict[str, Any]:
    """An OSV record whose only PyPI package is affected over one ECOSYSTEM range."""
    return {
        "id": ident,
        "modified": "2025-01-02T00:00:00Z",
        "published": "2025-01-01T00:00:00Z",
        "summary": f"Malicious code in {name} (PyPI)",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }


def write_json(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def specifiers_of(tmp_path: Path, record: Dict[str, Any]) -> Tuple[str, ...]:
    records, _ = read_records(write_json(tmp_path / f"{record['id']}.json", record))
    assert len(records) == 1
    return records[0].affected[0].specifiers


def scan_rules(
    tmp_path: Path, pack_dir: Path, name: str, version: str
) -> Tuple[Tuple[str, Severity], ...]:
    """Install ``name==version`` in a fake venv and scan it with only ``pack_dir``."""
    root = FakeRoot(tmp_path / f"host-{name}-{version}")
    root.add_venv("/home/alice/app/.venv")
    root.add_dist(SITE, name, version)
    opts = ScanOptions(root=root.path, signatures=(pack_dir,), builtin_packs=False, strict=True)
    result = run_scan(opts).result
    assert not root.marker.exists()
    return tuple((f.rule, f.severity) for f in result.findings)


# --- ranges and versions -------------------------------------------------------------------------


def test_versions_become_exact_specifiers(tmp_path: Path) -> None:
    assert specifiers_of(tmp_path, LITELLM_RECORD) == ("==1.82.7", "==1.82.8")


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([{"introduced": "0"}], (ALL_VERSIONS,)),
        ([{"introduced": "0"}, {"fixed": "1.2"}], ("<1.2",)),
        ([{"introduced": "1.0"}, {"fixed": "1.2"}], (">=1.0,<1.2",)),
        ([{"introduced": "2.0"}, {"last_affected": "2.0.5"}], (">=2.0,<=2.0.5",)),
        ([{"introduced": "3.1"}], (">=3.1",)),
        (
            [{"fixed": "1.2"}, {"introduced": "1.0"}, {"introduced": "2.0"}, {"fixed": "2.1"}],
            (">=1.0,<1.2", ">=2.0,<2.1"),
        ),
    ],
)
def test_ecosystem_ranges_become_specifiers(
    tmp_path: Path, events: List[Dict[str, str]], expected: Tuple[str, ...]
) -> None:
    assert specifiers_of(tmp_path, ranged_record("MAL-2025-1", "evil", events)) == expected


def test_unusable_ranges_and_versions_are_skipped_with_reasons(tmp_path: Path) -> None:
    record = ranged_record("MAL-2025-2", "evil", [{"introduced": "0"}])
    record["affected"].append(
        {
            "package": {"ecosystem": "PyPI", "name": "evil2"},
            "versions": ["not a version", "1.0"],
            "ranges": [
                {"type": "GIT", "repo": "https://x.example/r", "events": [{"introduced": "abc"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "zzz"}]},
            ],
        }
    )
    records, skipped = read_records(write_json(tmp_path / "r.json", record))
    assert [(a.name, a.specifiers) for a in records[0].affected] == [
        ("evil", (ALL_VERSIONS,)),
        ("evil2", ("==1.0",)),
    ]
    reasons = " | ".join(str(s) for s in skipped)
    assert "versions[0]" in reasons
    assert "'GIT'" in reasons
    assert "'zzz' is not a PEP 440 version" in reasons


def test_directory_import_skips_other_ecosystems_and_non_malicious_records(tmp_path: Path) -> None:
    src = tmp_path / "osv"
    write_json(src / "pypi" / "litellm" / "MAL-2026-2144.json", LITELLM_RECORD)
    npm = ranged_record("MAL-2025-3", "left-pad-evil", [{"introduced": "0"}])
    npm["affected"][0]["package"]["ecosystem"] = "npm"
    write_json(src / "npm" / "MAL-2025-3.json", npm)
    vuln = ranged_record("PYSEC-2025-9", "requests", [{"introduced": "0"}, {"fixed": "2.0"}])
    write_json(src / "pypi" / "PYSEC-2025-9.json", vuln)
    withdrawn = dict(LITELLM_RECORD, id="MAL-2026-9", withdrawn="2026-03-25T00:00:00Z")
    write_json(src / "pypi" / "MAL-2026-9.json", withdrawn)
    (src / "broken.json").write_text("{not json", encoding="utf-8")
    records, skipped = read_records(src)
    assert [r.id for r in records] == ["MAL-2026-2144"]
    reasons = " | ".join(str(s) for s in skipped)
    assert "'npm' is not PyPI" in reasons
    assert "PYSEC-2025-9: not a malicious-package record" in reasons
    assert "MAL-2026-9: withdrawn record" in reasons
    assert "broken.json: (file)" in reasons


# --- the pack ------------------------------------------------------------------------------------


def test_litellm_record_becomes_a_working_pack(tmp_path: Path) -> None:
    source = write_json(tmp_path / "MAL-2026-2144.json", LITELLM_RECORD)
    out = tmp_path / "packs" / "osv-litellm"
    result = import_osv(source, out)
    pack = load_pack(out)
    assert result.pack == pack
    assert result.records == ("MAL-2026-2144",)
    assert pack.title == "MAL-2026-2144: Malicious code in litellm (PyPI)"
    assert pack.version == "2026-03-26T09:53:17Z"
    assert pack.references == (
        "https://osv.dev/vulnerability/MAL-2026-2144",
        "https://github.com/BerriAI/litellm/issues/24518",
    )
    assert pack.network.domains == ("litellm.cloud",)
    assert pack.network.urls == ("https://models.litellm.cloud/",)
    assert pack.affected[0].severity is Severity.CRITICAL
    assert "PYSEC-2026-2" in pack.affected[0].note
    assert pack.advisories == ("MAL-2026-2144", "PYSEC-2026-2")
    bad = scan_rules(tmp_path, out, "litellm", "1.82.8")
    assert ("osv-litellm/affected/litellm", Severity.CRITICAL) in bad
    assert scan_rules(tmp_path, out, "litellm", "1.82.6") == ()


def test_range_record_becomes_a_working_pack(tmp_path: Path) -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.2"}]
    source = write_json(tmp_path / "r.json", ranged_record("MAL-2025-4", "evillib", events))
    out = tmp_path / "osv-evillib"
    import_osv(source, out)
    rule = ("osv-evillib/affected/evillib", Severity.CRITICAL)
    assert rule in scan_rules(tmp_path, out, "evillib", "1.1.3")
    assert scan_rules(tmp_path, out, "evillib", "1.2") == ()
    assert scan_rules(tmp_path, out, "evillib", "0.9") == ()


def test_untrusted_strings_are_escaped(tmp_path: Path) -> None:
    record = ranged_record("MAL-2025-5", "evil", [{"introduced": "0"}])
    record["summary"] = 'Bad "quoted" \\path\\ \x01ctl\nnew line ] # not a comment \u00e9 \ud800'
    record["database_specific"] = {"iocs": {"domains": ["EVIL.example.", "not a domain"]}}
    out = tmp_path / "osv-escape"
    result = import_osv(write_json(tmp_path / "e.json", record), out)
    note = result.pack.affected[0].note
    assert 'Bad "quoted" \\path\\ \x01ctl new line ] # not a comment \u00e9 \ufffd' in note
    assert result.pack.network.domains == ("evil.example",)
    assert any("'not a domain'" in str(s) for s in result.skipped)


def test_several_records_share_one_pack(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_json(src / "a.json", LITELLM_RECORD)
    write_json(src / "b.json", [ranged_record("MAL-2025-6", "evil", [{"introduced": "0"}])])
    result = import_osv(src, tmp_path / "osv-two")
    assert [a.name for a in result.pack.affected] == ["litellm", "evil"]
    assert result.pack.title == "2 OSV malicious-package records: evil, litellm"


def test_nothing_importable_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    npm = ranged_record("MAL-2025-7", "x", [{"introduced": "0"}])
    npm["affected"][0]["package"]["ecosystem"] = "npm"
    out = tmp_path / "osv-none"
    with pytest.raises(OsvImportError, match="no malicious PyPI package"):
        import_osv(write_json(tmp_path / "n.json", npm), out)
    assert not out.exists()


@pytest.mark.parametrize("name", ["Bad_Name", "-x", "a b"])
def test_output_name_must_be_a_pack_id(tmp_path: Path, name: str) -> None:
    source = write_json(tmp_path / "l.json", LITELLM_RECORD)
    with pytest.raises(OsvImportError, match="not a valid pack id"):
        import_osv(source, tmp_path / name)


def test_existing_pack_needs_overwrite(tmp_path: Path) -> None:
    source = write_json(tmp_path / "l.json", LITELLM_RECORD)
    out = tmp_path / "osv-litellm"
    import_osv(source, out)
    with pytest.raises(OsvImportError, match="exists"):
        import_osv(source, out)
    evil = write_json(
        tmp_path / "e.json", ranged_record("MAL-2025-8", "evil", [{"introduced": "0"}])
    )
    assert import_osv(evil, out, overwrite=True).pack.affected[0].name == "evil"


# --- the command ---------------------------------------------------------------------------------


def test_import_osv_command_then_scan(run_cli: RunCli, tmp_path: Path) -> None:
    source = write_json(tmp_path / "MAL-2026-2144.json", LITELLM_RECORD)
    out = tmp_path / "osv-litellm"
    res = run_cli("signatures", "import-osv", str(source), "--output", str(out))
    assert res.code == 0, res.err
    assert "1 record(s), 1 affected release(s)" in " ".join(res.err.split())
    assert run_cli("signatures", "validate", str(out)).code == 0
    root = FakeRoot(tmp_path / "host")
    root.add_venv("/home/alice/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.7")
    scan = run_cli(
        "scan", "--root", str(root.path), "--signatures", str(out), "--output", str(tmp_path / "b")
    )
    assert scan.code == 1
    assert not root.marker.exists()


def test_import_osv_command_nothing_to_import_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    record: Dict[str, Any] = {"id": "GHSA-xxxx", "affected": []}
    source = write_json(tmp_path / "g.json", record)
    res = run_cli("signatures", "import-osv", str(source), "--output", str(tmp_path / "osv-g"))
    assert res.code == 2
    assert "no malicious PyPI package" in res.err
