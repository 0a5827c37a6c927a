"""Terminal injection (issue 18 item 7): no raw control character from the host, a bundle or a
pack reaches a terminal or a text file, in any command; newlines cannot forge report lines.

Each name below is a real file on the fixture host (or a real pack, or a real manifest entry);
the tests fail on a raw ESC (``\\x1b``), BEL (``\\x07``) or a forged line in what is printed.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from scanrun import SITE, VENV, only_bundle

OSC_TITLE = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J\x1b[H"
FAKE_GREEN = "\x1b[32mintact\x1b[0m"
EVIL_PTH = f"{OSC_TITLE}{CLEAR}evil.pth"
FORGED = "[info] nothing to see here"
NEWLINE_PTH = f"x\n    {FORGED}\nlitellm_init.pth"

PACK = """\
format = 1
id = "evil-2026-01"
title = "evil \\u001b]0;pwned\\u0007 \\u001b[2J title"
version = "1"
references = ["https://example.org/\\u001b[31m"]

[[affected]]
name = "evillib"
specifiers = ["==6.6.6"]
severity = "critical"
note = "note \\u001b[5m blink"

[remediation]
text = "step one \\u001b]52;c;cHduZWQ=\\u0007\\nstep two"
"""

_SGR = re.compile(r"\x1b\[[0-9;]*m")
"""Colour codes rich itself writes on a terminal (and nothing else)."""


def _raw_controls(text: str) -> list[str]:
    return sorted({c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0})


def _host(root: FakeRoot, tmp_path: Path) -> Path:
    root.add_venv(VENV)
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_dist(SITE, "evillib", "6.6.6")
    root.add_pth(SITE, EVIL_PTH, malicious_pth_content(root.marker))
    root.add_pth(SITE, NEWLINE_PTH, malicious_pth_content(root.marker))
    pack = tmp_path / "packs" / "evil-2026-01"
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text(PACK, encoding="utf-8")
    return pack


def test_scan_analyze_and_report_txt_print_no_raw_control(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    pack = _host(fake_root, tmp_path)
    out = tmp_path / "out"
    sig = ("--signatures", str(pack))
    scan = run_cli("scan", "--root", str(fake_root.path), "--output", str(out), *sig)
    assert scan.code == 1, scan.err
    assert "\\x1b]0;owned\\x07" in scan.out  # shown, escaped
    bundle = only_bundle(out)
    analyzed = run_cli("analyze", str(bundle), *sig, "--output", str(tmp_path / "a"))
    for name, text in (("scan", scan.out + scan.err), ("analyze", analyzed.out + analyzed.err)):
        assert _raw_controls(text) == [], name
    report = (bundle / "report.txt").read_text(encoding="utf-8")
    assert _raw_controls(report) == []
    assert not [line for line in report.splitlines() if line.strip() == FORGED]
    assert "x\\n    [info] nothing to see here\\nlitellm_init.pth" in report
    assert "step one \\x1b]52;c;cHduZWQ=\\x07" in report  # the pack's text, escaped
    analysis = next((tmp_path / "a").iterdir())
    assert _raw_controls((analysis / "report.txt").read_text(encoding="utf-8")) == []
    for line in scan.out.splitlines():  # the pipe form: one record per line, never forged
        assert line.split("\t", 1)[0] in {
            "verdict",
            "not-checked",
            "rotate",
            "finding",
            "gaps",
            "bundle",
        }, line


def test_terminal_view_writes_only_its_own_colours(fake_root: FakeRoot, tmp_path: Path) -> None:
    from sitesweep.cli.render import emit_result
    from sitesweep.model import Severity
    from sitesweep.pipeline import ScanOptions, run_scan

    pack = _host(fake_root, tmp_path)
    result = run_scan(ScanOptions(root=fake_root.path, signatures=(pack,))).result

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    emit_result(result, Severity.HIGH, None, "text", tty)
    shown = _SGR.sub("", tty.getvalue())
    assert _raw_controls(shown) == []
    assert "\\x1b]0;owned\\x07" in shown
    assert not [line for line in shown.splitlines() if line.strip() == FORGED]


def test_signatures_list_and_show_escape_a_hostile_pack(run_cli: RunCli, tmp_path: Path) -> None:
    pack = tmp_path / "packs" / "evil-2026-01"
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text(PACK, encoding="utf-8")
    listed = run_cli("signatures", "list", "--signatures", str(pack.parent))
    shown = run_cli("signatures", "show", "evil-2026-01", "--signatures", str(pack.parent))
    assert listed.code == 0, listed.err
    assert shown.code == 0, shown.err
    assert "evil-2026-01" in listed.out
    for run in (listed, shown):
        assert _raw_controls(run.out + run.err) == []


def test_verify_cannot_print_a_fake_intact(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    out = tmp_path / "out"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(out)).code == 0
    bundle = only_bundle(out)
    planted = bundle / f"{CLEAR}{FAKE_GREEN}"
    planted.write_text("extra\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][f"\n{FAKE_GREEN}: all files match"] = "0" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    run = run_cli("verify", str(bundle))
    assert run.code == 1
    text = run.out + run.err
    assert _raw_controls(text) == []
    assert "\\x1b[32mintact" in text
    assert not [line for line in text.splitlines() if line.startswith(("intact", "\x1b"))]


def test_fleet_report_pages_escape_a_hostile_host_name(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    """A host name from a hostile bundle (its ``/etc/hostname``) reached ``fleet.html`` raw:
    only HTML escaping was applied there, and ESC/BEL pass through it."""
    fake_root.add_hostname(f"web1{OSC_TITLE}{CLEAR}{FAKE_GREEN}")
    fake_root.add_venv(VENV)
    out = tmp_path / "out"
    assert run_cli("scan", "--root", str(fake_root.path), "--output", str(out)).code == 0
    report = tmp_path / "fleet"
    for fmt in ("text", "json", "jsonl", "csv"):
        run = run_cli("report", str(out), "--output", str(report), "--format", fmt)
        assert run.code == 0, run.err
        shown = (run.out + run.err).replace("\r\n", "\n")  # CSV's own line ends
        assert _raw_controls(shown) == [], fmt
    for name in ("fleet.html", "fleet.json"):
        text = (report / name).read_text(encoding="utf-8")
        assert _raw_controls(text) == [], name
    assert "\\x1b]0;owned\\x07" in (report / "fleet.html").read_text(encoding="utf-8")
