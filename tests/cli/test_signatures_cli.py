"""``sitesweep signatures list | show | validate | import-osv`` through ``cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import RunCli
from sitesweep.packs import load_packs

EXTRA = """\
format = 1
id = "extra-2026-01"
title = "extralib 9.9.9: test incident"
version = "7"
references = ["https://example.org/advisory"]

[[affected]]
name = "extralib"
specifiers = ["==9.9.9"]
severity = "high"
note = "Test release."

[[files]]
id = "extra-pth"
name = "extra_init.pth"
severity = "critical"
description = "Test .pth."
name_is_indicator = true

[network]
domains = ["evil.example"]

[remediation]
text = "Remove it."
"""

BROKEN = """\
format = 1
id = "broken-2026-01"
title = "broken"
version = "1"

[[affected]]
name = "brokenlib"
specifiers = ["==1.0", "~=bad"]
note = "x"

[remediation]
text = "x"
"""


def write_pack(parent: Path, pack_id: str, text: str) -> Path:
    directory = parent / pack_id
    directory.mkdir(parents=True)
    (directory / "pack.toml").write_text(text, encoding="utf-8")
    return directory


def test_list_json_has_every_builtin_pack(run_cli: RunCli) -> None:
    res = run_cli("signatures", "list", "--json")
    assert res.code == 0, res.err
    rows = json.loads(res.out)
    assert [r["id"] for r in rows] == [p.id for p in load_packs().packs]
    litellm = next(r for r in rows if r["id"] == "litellm-2026-03")
    assert litellm["affected"] == ["litellm ==1.82.7 || ==1.82.8"]
    assert litellm["counts"]["artifacts"] == 4
    assert litellm["counts"]["persistence"] == 4


def test_list_table_goes_to_stdout_and_includes_extra_pack(run_cli: RunCli, tmp_path: Path) -> None:
    extra = write_pack(tmp_path / "packs", "extra-2026-01", EXTRA)
    res = run_cli("signatures", "list", "--signatures", str(extra.parent))
    assert res.code == 0, res.err
    assert res.err == ""
    assert "extra-2026-01" in res.out
    assert "litellm-2026-03" in res.out
    assert "extralib" in res.out  # the table may wrap the cell: "extralib ==9.9.9"
    assert "==9.9.9" in res.out


def test_list_json_counts_of_extra_pack(run_cli: RunCli, tmp_path: Path) -> None:
    extra = write_pack(tmp_path, "extra-2026-01", EXTRA)
    res = run_cli("signatures", "list", "--json", "--signatures", str(extra))
    row = next(r for r in json.loads(res.out) if r["id"] == "extra-2026-01")
    assert row["version"] == "7"
    assert row["counts"] == {
        "files": 1,
        "artifacts": 0,
        "domains": 1,
        "ips": 0,
        "urls": 0,
        "persistence": 0,
        "credentials": 0,
        "yara": 0,
    }


def test_show_prints_details(run_cli: RunCli) -> None:
    res = run_cli("signatures", "show", "telnyx-2026-03")
    assert res.code == 0, res.err
    assert "telnyx ==4.87.1 || ==4.87.2" in res.out
    assert "~/.config/audiomon/audiomon.py" in res.out
    assert "7321caa303fe96ded0492c747d2f353c4f7d17185656fe292ab0a59e2bd0b8d9" in res.out


def test_show_json(run_cli: RunCli) -> None:
    res = run_cli("signatures", "show", "litellm-2026-03", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["id"] == "litellm-2026-03"
    assert doc["window"] == {"start": "2026-03-24T10:39:24Z", "end": "2026-03-24T16:00:00Z"}
    assert doc["affected"][0]["specifiers"] == ["==1.82.7", "==1.82.8"]
    assert doc["remediation"]["playbook"] == "playbooks/litellm-2026-03.md"
    pth = next(f for f in doc["files"] if f["id"] == "litellm-init-pth")
    assert pth["name_is_indicator"] is True


def test_show_unknown_id_exits_2(run_cli: RunCli) -> None:
    res = run_cli("signatures", "show", "no-such-pack")
    assert res.code == 2
    assert "no-such-pack" in res.err
    assert "litellm-2026-03" in res.err


def test_validate_builtin_packs(run_cli: RunCli) -> None:
    res = run_cli("signatures", "validate")
    assert res.code == 0, res.err
    assert f"{len(load_packs().packs)} pack(s) valid" in res.err


def test_validate_given_pack_only(run_cli: RunCli, tmp_path: Path) -> None:
    extra = write_pack(tmp_path, "extra-2026-01", EXTRA)
    res = run_cli("signatures", "validate", str(extra))
    assert res.code == 0, res.err
    assert "1 pack(s) valid: extra-2026-01 (7)" in res.err


def test_validate_bad_pack_exits_2_with_file_and_fields(run_cli: RunCli, tmp_path: Path) -> None:
    good = write_pack(tmp_path, "extra-2026-01", EXTRA)
    bad = write_pack(tmp_path, "broken-2026-01", BROKEN)
    res = run_cli("signatures", "validate", str(good), str(bad))
    assert res.code == 2
    text = " ".join(res.err.split())
    pack_file = str(bad / "pack.toml")
    assert f"{pack_file}: affected[0].specifiers[1]" in text
    assert f"{pack_file}: affected[0].severity: required field is missing" in text
    assert str(good) not in text


def test_validate_missing_directory_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("signatures", "validate", str(tmp_path / "nowhere"))
    assert res.code == 2
    assert "(directory)" in res.err


def test_validate_extra_beside_builtin_reports_duplicate_id(
    run_cli: RunCli, tmp_path: Path
) -> None:
    copy = write_pack(
        tmp_path, "litellm-2026-03", EXTRA.replace("extra-2026-01", "litellm-2026-03")
    )
    res = run_cli("signatures", "validate", "--signatures", str(copy))
    assert res.code == 2
    assert "duplicate pack id 'litellm-2026-03'" in " ".join(res.err.split())
