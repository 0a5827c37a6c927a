"""``signatures import-osv`` on real OSV records: every indicator kept, exports and updates.

The records under ``tests/data/osv/`` are real ones from ossf/malicious-packages (see the README
there): Amazon Inspector's durabletask record carries an ``indicators`` block with the wheel and
sdist hashes, the injected ``__init__.py``'s hash, the second stage's URL and hash and its
persistence paths; the GitHub malware advisory's litellm record has an empty ``id``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Set, Tuple

from builders import FakeRoot
from clirun import RunCli
from sitesweep.model import Severity
from sitesweep.packs.loader import load_pack
from sitesweep.packs.osv import read_records
from sitesweep.packs.osv_pack import RECORDS_FILE, import_osv
from sitesweep.pipeline import ScanOptions, run_scan

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"
WHEEL = "7d80b3ef74ad7992b93c31966962612e4e2ceb93e7727cdbd1d2a9af47d44ba8"
SDIST = "3de04fe2a76262743ed089efa7115f4508619838e77d60b9a1aab8b20d2cc8bf"
INIT = "5246e60c2ff10ae058abba14ef5ea22432465ad827ec5f5c5572999411d90b80"
ROPE = "069ac1dc7f7649b76bc72a11ac700f373804bfd81dab7e561157b703999f44ce"


def test_inspector_record_keeps_every_indicator(tmp_path: Path) -> None:
    result = import_osv(DATA / "durabletask", tmp_path / "osv-durabletask")
    pack = result.pack
    assert {(a.filename, a.sha256) for a in pack.artifacts} == {
        ("durabletask-1.4.1-py3-none-any.whl", WHEEL),
        ("durabletask-1.4.1.tar.gz", SDIST),
        ("rope.pyz", ROPE),
    }
    injected = [f for f in pack.files if f.site_path == "durabletask/__init__.py"]
    assert [sorted(f.sha256) for f in injected] == [[INIT]]
    named = {f.name for f in pack.files if f.name_is_indicator}
    assert named == {"rope.pyz", "pgsql-monitor.service"}
    assert {p.path for p in pack.persistence} == {
        "/usr/bin/pgmonitor.py",
        "~/.local/bin/pgmonitor.py",
    }
    assert "160.119.64.3" in pack.network.ips
    assert "https://check.git-service.com/rope.pyz" in pack.network.urls
    assert "MAL-2026-4174" in pack.advisories
    assert not any(a.startswith("MAL-0000-") for a in pack.advisories), "staging ids: no page"
    assert "~/.ssh/" in pack.credentials
    assert "~/.kube/config" in pack.credentials
    assert not result.skipped


def test_imported_indicators_find_the_second_stage_and_its_persistence(tmp_path: Path) -> None:
    pack_dir = tmp_path / "packs" / "osv-durabletask"
    import_osv(DATA / "durabletask", pack_dir)
    root = FakeRoot(tmp_path / "host")
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_file("/tmp/rope.pyz", b"PK\x03\x04 inert stand-in\n")
    root.add_file("/home/alice/.local/bin/pgmonitor.py", "open('/tmp/canary', 'w')\n")
    opts = ScanOptions(root=root.path, signatures=(pack_dir,), builtin_packs=False)
    found: Set[Tuple[str, Severity]] = {
        (f.rule, f.severity) for f in run_scan(opts).result.findings
    }
    assert ("osv-durabletask/file/name-rope.pyz", Severity.CRITICAL) in found
    assert any(
        rule.startswith("osv-durabletask/") and "pgmonitor" in rule and sev is Severity.CRITICAL
        for rule, sev in found
    ), found
    assert not root.marker.exists()


def test_record_with_an_empty_id_is_named_by_its_alias() -> None:
    records, skipped = read_records(DATA / "litellm")
    assert {r.id for r in records} == {"MAL-2026-2144", "GHSA-92x9-889m-jgmw"}
    assert not skipped


def test_withdrawn_record_is_skipped_with_its_reason() -> None:
    records, skipped = read_records(DATA / "withdrawn")
    assert records == ()
    assert any("withdrawn" in s.reason for s in skipped)


def test_zip_export_imports_as_the_directory_does(tmp_path: Path) -> None:
    export = tmp_path / "all.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for path in sorted(DATA.rglob("*.json")):
            archive.write(path, path.name)  # all.zip holds the records flat
    from_zip, zip_skips = read_records(export)
    from_dir, dir_skips = read_records(DATA)
    assert sorted(r.id for r in from_zip) == sorted(r.id for r in from_dir)
    assert len(zip_skips) == len(dir_skips)
    pack = import_osv(export, tmp_path / "osv-all").pack
    assert {a.name for a in pack.affected} == {"durabletask", "litellm", "guardrails-ai"}


def test_update_rewrites_the_pack_only_when_a_record_changed(
    tmp_path: Path, run_cli: RunCli
) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(DATA / "litellm", feed)
    out = tmp_path / "osv-litellm"
    first = run_cli("signatures", "import-osv", str(feed), "--output", str(out), "--update")
    assert first.code == 0
    assert "added MAL-2026-2144" in first.err
    assert json.loads((out / RECORDS_FILE).read_text())["MAL-2026-2144"]
    before = (out / "pack.toml").read_bytes()
    again = run_cli("signatures", "import-osv", str(feed), "--output", str(out), "--update")
    assert again.code == 0
    assert "up to date" in again.err
    assert (out / "pack.toml").read_bytes() == before
    record = feed / "MAL-2026-2144.json"
    doc = json.loads(record.read_text())
    doc["modified"] = "2026-12-01T00:00:00Z"
    doc["affected"][0]["versions"].append("1.82.9")
    record.write_text(json.dumps(doc))
    changed = run_cli("signatures", "import-osv", str(feed), "--output", str(out), "--update")
    assert changed.code == 0
    assert "changed MAL-2026-2144" in changed.err
    assert any("==1.82.9" in str(s) for a in load_pack(out).affected for s in a.specifiers), (
        "the changed record's new version is in the pack"
    )


def test_every_skip_reason_is_shown_on_request(tmp_path: Path, run_cli: RunCli) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(DATA / "litellm", feed)
    for n in range(25):
        bad = {"id": f"MAL-2026-9{n:03d}", "affected": [{"package": {"ecosystem": "npm"}}]}
        (feed / f"bad-{n}.json").write_text(json.dumps(bad))
    out = tmp_path / "osv-x"
    short = run_cli("signatures", "import-osv", str(feed), "--output", str(out))
    assert sum(line.startswith("skipped ") for line in short.err.splitlines()) == 20
    assert "--all-skipped" in short.err
    full = run_cli(
        "signatures", "import-osv", str(feed), "--output", str(out), "--force", "--all-skipped"
    )
    # Each bad record is skipped twice: its npm package, then "no PyPI package" for the record.
    assert sum(line.startswith("skipped ") for line in full.err.splitlines()) == 50
