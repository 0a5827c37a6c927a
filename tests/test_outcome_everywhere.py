"""One verdict and one rotation list, told the same by every output (issue 14, "Must hold").

The same fixture is scanned once; the terminal (pipe form, terminal form, ``--format json``),
``report.txt``, ``report.html``, ``findings.json`` and the fleet summary of ``sitesweep report``
must give the same verdict and the same rotation items. The rotation list itself is right: one
item per secret merged across the packs whose payload ran, nothing for a secret merely present,
nothing for ``/etc/passwd``.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from scanrun import SITE, VENV, load, only_bundle

SECOND_PACK = """\
format = 1
id = "extra-2026-01"
title = "extralib 9.9.9: test incident whose payload also steals AWS keys"
version = "1"
references = ["https://example.org/advisory"]
credentials = ["~/.aws/credentials", "/etc/passwd"]

[[affected]]
name = "extralib"
specifiers = ["==9.9.9"]
severity = "critical"
note = "Test release."

[remediation]
text = "Remove extralib."
"""


def _host(root: FakeRoot, infected: bool) -> None:
    root.add_file("/home/alice/.aws/credentials", b"[default]\nkey = not-a-real-key\n", 0o600)
    root.add_file("/home/bob/.aws/credentials", b"[default]\nkey = not-a-real-key\n", 0o600)
    root.add_venv(VENV)
    if infected:
        root.add_dist(SITE, "litellm", "1.82.8")
        root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
        root.add_dist(SITE, "extralib", "9.9.9")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _pack_dir(tmp_path: Path) -> Path:
    pack = tmp_path / "packs" / "extra-2026-01"
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text(SECOND_PACK, encoding="utf-8")
    return pack


def _line(item: Dict[str, Any]) -> str:
    return f"{item['secret']} (account {item['account']}; stolen by {', '.join(item['packs'])})"


def _told(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> Dict[str, Any]:
    """Verdict and rotation items (as lines) from every output of one scan."""
    pack = _pack_dir(tmp_path)
    out = tmp_path / "out"
    sig = ("--signatures", str(pack))
    piped = run_cli("scan", "--root", str(fake_root.path), "--output", str(out), *sig)
    bundle = only_bundle(out)
    as_json = run_cli("analyze", str(bundle), *sig, "--format", "json")
    doc = load(bundle, "findings.json")
    items = doc["outcome"]["rotation"]
    lines = {
        f"{r['secret']} (account {r['account']}; stolen by {', '.join(r['packs'])})" for r in items
    }

    text = (bundle / "report.txt").read_text(encoding="utf-8")
    page = (bundle / "report.html").read_text(encoding="utf-8")
    verdict_attr = re.search(r'id="verdict" data-verdict="(\w+)"', page)
    fleet_dir = tmp_path / "fleet"
    fleet = run_cli("report", str(out), *sig, "--output", str(fleet_dir))
    host = json.loads((fleet_dir / "fleet.json").read_text(encoding="utf-8"))["hosts"][0]

    from sitesweep.cli.render import emit_result
    from sitesweep.model import Severity
    from sitesweep.pipeline import run_analyze

    tty = _Tty()
    result = run_analyze(bundle, (pack,)).result
    emit_result(result, Severity.HIGH, None, "text", tty)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue())  # the terminal's own colours
    return {
        "codes": (piped.code, as_json.code, fleet.code),
        "page": page,
        "lines": lines,
        "verdicts": {
            "findings.json": doc["outcome"]["verdict"],
            "pipe": re.search(r"^verdict\t(\w+)\t", piped.out, re.M).group(1),  # type: ignore[union-attr]
            "json": json.loads(as_json.out)["verdict"],
            "report.txt": re.search(r"^verdict: (\w+)$", text, re.M).group(1),  # type: ignore[union-attr]
            "report.html": verdict_attr.group(1) if verdict_attr else None,
            "fleet": host["verdict"],
            "tty": shown.split(":", 1)[0].strip().lower(),
        },
        "rotation": {
            "pipe": {
                f"{p[1]} (account {p[2]}; stolen by {p[3].replace(',', ', ')})"
                for p in (line.split("\t") for line in piped.out.splitlines())
                if p[0] == "rotate"
            },
            "json": {_line(r) for r in json.loads(as_json.out)["outcome"]["rotation"]},
            "report.txt": set(re.findall(r"^\[ \] (.*)$", text, re.M)),
            "report.html": {
                html.unescape(s)
                for s in re.findall(
                    r'<li class="wrap"><span class="mono">([^<]*)</span>',
                    page.split('id="rotation"', 1)[1] if 'id="rotation"' in page else "",
                )
            },
            "fleet": set(host["rotate"]),
            "tty": set(re.findall(r"^  \[ \] (.*)$", shown, re.M)),
        },
    }


def test_infected_host_same_verdict_and_rotation_everywhere(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root, infected=True)
    told = _told(fake_root, tmp_path, run_cli)
    assert told["codes"] == (1, 1, 1)
    assert set(told["verdicts"].values()) == {"compromised"}, told["verdicts"]
    lines: Set[str] = told["lines"]
    assert lines == {
        "/home/alice/.aws/credentials (account alice; stolen by extra-2026-01, litellm-2026-03)",
        "/home/bob/.aws/credentials (account bob; stolen by extra-2026-01, litellm-2026-03)",
    }
    for name, got in told["rotation"].items():
        secrets = {line.split(" (account", 1)[0] for line in lines}
        assert got == (secrets if name == "report.html" else lines), name


def test_present_is_not_rotate_and_passwd_never_is(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root, infected=False)
    told = _told(fake_root, tmp_path, run_cli)
    assert told["codes"] == (0, 0, 0)
    assert set(told["verdicts"].values()) == {"clean"}, told["verdicts"]
    assert told["lines"] == set()
    empty: List[Set[str]] = [set() for _ in told["rotation"]]
    assert list(told["rotation"].values()) == empty
    page = told["page"]
    assert "Credential rotation checklist" not in page


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "sarif"])
def test_registered_formats_print_findings(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli, fmt: str
) -> None:
    _host(fake_root, infected=True)
    run = run_cli(
        "scan", "--root", str(fake_root.path), "--output", str(tmp_path / "o"), "--format", fmt
    )
    assert run.code == 1
    assert "litellm_init.pth" in run.out


def test_report_formats_print_the_fleet_on_stdout(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root, infected=True)
    out = tmp_path / "out"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(out)).code == 1
    as_json = run_cli("report", str(out), "--output", str(tmp_path / "r1"), "--format", "json")
    assert as_json.code == 1, as_json.err
    assert json.loads(as_json.out)["hosts"][0]["verdict"] == "compromised"
    as_csv = run_cli("report", str(out), "--output", str(tmp_path / "r2"), "--format", "csv")
    assert as_csv.out.splitlines()[0].startswith("name,hostname,verdict")
    lines = run_cli("report", str(out), "--output", str(tmp_path / "r3"), "--format", "jsonl")
    assert [json.loads(line)["verdict"] for line in lines.out.splitlines()] == ["compromised"]
    sarif = run_cli("report", str(out), "--format", "sarif")
    assert sarif.code == 2
    assert "scan or analyze" in sarif.err


def test_fail_on_is_the_threshold_of_the_bundle_too(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    _host(fake_root, infected=True)
    out = tmp_path / "out"
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out), "--fail-on", "info")
    assert run.code == 1
    bundle = only_bundle(out)
    assert load(bundle, "findings.json")["outcome"]["threshold"] == "info"
    assert "at or above info" in (bundle / "report.txt").read_text(encoding="utf-8")
    analysed = run_cli(
        "analyze", str(bundle), "--fail-on", "critical", "--output", str(tmp_path / "a")
    )
    analysis = next((tmp_path / "a").iterdir())
    assert analysed.code == 1
    assert load(analysis, "findings.json")["outcome"]["threshold"] == "critical"
