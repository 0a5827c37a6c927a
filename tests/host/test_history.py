"""Shell-history install lines: bash/zsh/fish formats, the check, the timeline, and no secrets."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import List

from hypothesis import given
from hypothesis import strategies as st

from builders import FakeRoot
from clirun import RunCli
from scanrun import bundle_mentions, gap_paths, load, scan
from sitesweep.host.history import HistoryInstall, collect_history, unmetafy
from sitesweep.host.history_parse import parse_command
from sitesweep.host.identity import read_users
from sitesweep.hostfs import HostRoot
from sitesweep.model import Finding, Gap, GapReason, Severity
from sitesweep.pipeline import ScanOptions, run_scan
from sitesweep.redact import REDACTED

IN_WINDOW = 1774349000  # 2026-03-24T10:43:20Z, inside litellm's 10:39:24-16:00 window
IN_WINDOW_ISO = "2026-03-24T10:43:20.000000Z"
BEFORE = 1774000000  # 2026-03-20T09:46:40Z, before the window
SECRET = "sk-FIXTUREdoNotLeak0123456789abcdef"  # noqa: S105 - fixture, must not leak
PASSWORD = "hunter2-fixture-pw"  # noqa: S105 - fixture, must not leak


def _collect(root: FakeRoot) -> tuple[tuple[HistoryInstall, ...], tuple[Gap, ...]]:
    host = HostRoot(root.path)
    return collect_history(host, read_users(host, []))


def _history_findings(root: FakeRoot) -> List[Finding]:
    result = run_scan(ScanOptions(root=root.path, strict=True)).result
    return [f for f in result.findings if "/history/" in f.rule]


def test_bash_timestamps_pin_and_no_other_line(fake_root: FakeRoot) -> None:
    fake_root.add_file(
        "/home/alice/.bash_history",
        f"ls\n#{BEFORE}\nexport OPENAI_API_KEY={SECRET}\n#{IN_WINDOW}\n"
        "pip install litellm==1.82.8\nsudo python3 -m pip install -U requests\n",
    )
    installs, gaps = _collect(fake_root)
    assert gaps == ()
    assert [(i.line, i.epoch, i.user, i.shell) for i in installs] == [
        (5, float(IN_WINDOW), "alice", "bash"),
        (6, None, "alice", "bash"),
    ]
    assert installs[0].command == "pip install litellm==1.82.8"
    assert [(p.name, p.version) for p in installs[0].packages] == [("litellm", "1.82.8")]
    assert installs[1].command == "python3 -m pip install -U requests"
    assert all(SECRET not in repr(i) for i in installs)


def test_zsh_extended_and_metafied(fake_root: FakeRoot) -> None:
    data = (
        f": {BEFORE}:0;echo hi\n: {IN_WINDOW}:3;uv pip install 'LiteLLM[proxy]'\n"
        ": 1774349100:0;conda install -c conda-forge litellm=1.82.7\n"
    ).encode()
    fake_root.add_file("/root/.zsh_history", data + b": 1774349200:0;echo \x83\xa9\n")
    installs, _gaps = _collect(fake_root)
    assert [(i.user, i.line, i.epoch, i.tool) for i in installs] == [
        ("root", 2, float(IN_WINDOW), "uv pip install"),
        ("root", 3, 1774349100.0, "conda install"),
    ]
    assert [(p.name, p.version) for i in installs for p in i.packages] == [
        ("litellm", None),
        ("litellm", "1.82.7"),
    ]
    assert unmetafy(b"a\x83\xa9b") == b"a\x89b"


def test_fish_history(fake_root: FakeRoot) -> None:
    fake_root.add_file(
        "/home/bob/.local/share/fish/fish_history",
        f"- cmd: cd /tmp\n  when: {BEFORE}\n- cmd: uvx litellm@1.82.8 --port 4000\n"
        f"  when: {IN_WINDOW}\n  paths:\n    - /tmp\n- cmd: pipx install litellm\n",
    )
    installs, _gaps = _collect(fake_root)
    assert [(i.user, i.line, i.epoch, i.tool) for i in installs] == [
        ("bob", 3, float(IN_WINDOW), "uvx"),
        ("bob", 7, None, "pipx install"),
    ]
    assert installs[0].packages[0].version == "1.82.8"


def test_redaction_of_credentials_in_the_install_line() -> None:
    (hit,) = parse_command(
        f"OPENAI_API_KEY={SECRET} pip install litellm "
        f"--index-url https://me:{PASSWORD}@pypi.example/simple && echo {SECRET}"
    )
    assert hit.command == "pip install litellm --index-url https://<redacted>@pypi.example/simple"
    assert parse_command(f"curl -H 'Authorization: {SECRET}' x; pip install") == ()
    assert parse_command("poetry install") == ()


def test_unreadable_and_escaping_histories_are_gaps_not_reads(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    os.mkfifo(fake_root.host("/home/alice/.bash_history"))
    outside = tmp_path / "outside_history"
    outside.write_text("pip install litellm==1.82.8\n")
    fake_root.add_symlink("/home/bob/.zsh_history", "../../../../outside_history")
    installs, gaps = _collect(fake_root)
    assert installs == ()
    assert (GapReason.SPECIAL_FILE, "/home/alice/.bash_history") in {
        (g.reason, g.path) for g in gaps
    }


def test_pinned_affected_install_is_high(fake_root: FakeRoot) -> None:
    fake_root.add_file("/home/alice/.bash_history", f"#{BEFORE}\npip install litellm==1.82.8\n")
    (finding,) = _history_findings(fake_root)
    assert finding.severity is Severity.HIGH
    assert finding.title == "shell history shows an install of litellm==1.82.8"
    assert finding.paths == ("/home/alice/.bash_history",)
    assert (finding.distribution, finding.version) == ("litellm", "1.82.8")


def test_unpinned_in_window_high_outside_nothing_untimed_low(fake_root: FakeRoot) -> None:
    fake_root.add_file("/home/alice/.bash_history", f"#{IN_WINDOW}\npip install litellm\n")
    fake_root.add_file("/home/bob/.bash_history", f"#{BEFORE}\npip install litellm\n")
    fake_root.add_file("/root/.bash_history", "pip install litellm\npip install litellm==1.83.0\n")
    by_path = {str(f.paths[0]): f for f in _history_findings(fake_root)}
    assert set(by_path) == {"/home/alice/.bash_history", "/root/.bash_history"}
    assert by_path["/home/alice/.bash_history"].severity is Severity.HIGH
    assert "inside the incident window" in by_path["/home/alice/.bash_history"].title
    assert by_path["/root/.bash_history"].severity is Severity.LOW
    assert "version unknown" in by_path["/root/.bash_history"].title


def test_clean_history_gives_nothing(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_file("/home/alice/.bash_history", f"#{IN_WINDOW}\npip install requests\n")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    assert not [f for f in load(bundle, "findings.json")["findings"] if "/history/" in f["rule"]]
    rows = list(csv.DictReader(io.StringIO((bundle / "timeline.csv").read_text())))
    assert not [r for r in rows if r["source"].startswith("shell-history")]


def test_bundle_timeline_row_in_order_and_no_secret_anywhere(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    fake_root.add_file(
        "/home/alice/.bash_history",
        f"#{BEFORE}\nexport OPENAI_API_KEY={SECRET}\n#{IN_WINDOW}\npip install litellm==1.82.8 "
        f"--index-url https://me:{PASSWORD}@pypi.example/simple\n#{IN_WINDOW + 60}\nls\n",
    )
    fake_root.add_file("/root/.bash_history", "pip3 install litellm\n")
    os.utime(fake_root.host("/root/.bash_history"), (BEFORE, BEFORE))
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO((bundle / "timeline.csv").read_text())))
    assert [r["datetime"] for r in rows] == sorted(r["datetime"] for r in rows)
    history = [r for r in rows if r["source"].startswith("shell-history")]
    assert [(r["datetime"], r["source"], r["severity"], r["version"]) for r in history] == [
        ("2026-03-20T09:46:40.000000Z", "shell-history-untimed", "low", ""),
        (IN_WINDOW_ISO, "shell-history", "high", "1.82.8"),
    ]
    assert history[0]["timestamp_desc"] == "history file modified (line time unknown)"
    assert history[1]["path"] == "/home/alice/.bash_history"
    assert "<redacted>" in history[1]["message"]
    assert gap_paths(bundle, "special_file") == set()
    for token in (SECRET, PASSWORD, "OPENAI_API_KEY=", "export "):
        assert not bundle_mentions(bundle, token), token


def test_collect_then_analyze_keeps_history_installs(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_file("/home/alice/.zsh_history", f": {IN_WINDOW}:0;pip install litellm==1.82.8\n")
    collect = run_cli("collect", "--root", str(fake_root.path), "--output", str(tmp_path / "c"))
    assert collect.code == 0, collect.err
    (archive,) = sorted((tmp_path / "c").glob("*.tar.gz"))
    analyzed = run_cli("analyze", str(archive), "--json", "--output", str(tmp_path / "a"))
    assert analyzed.code == 1, analyzed.err
    rules = {(f["rule"], f["severity"]) for f in json.loads(analyzed.out)["findings"]}
    assert ("litellm-2026-03/history/litellm", "high") in rules


_WORDS = st.sampled_from(
    ["pip", "install", "uvx", "uv", "add", "tool", "conda", "create", "-n", "litellm==1.82.8",
     "'", '"', "\\", ";", "&&", "|", "--from", "-m", "python3", "pipx", "inject", "a@1", "x.whl",
     "--index-url", "http://a:b@c", "sudo", "FOO=1", "\n", "(", "#", "poetry", "pdm", "requests"]
)  # fmt: skip


def test_a_quoted_argument_holding_other_commands_is_masked_whole() -> None:
    # found by the property below: the quoted word is one argument of uvx's tool, and it held
    # an assignment from what looks like another segment
    line = f"uvx pip '; export K={PASSWORD}; OTHER={PASSWORD} '"
    (hit,) = parse_command(line)
    assert PASSWORD not in hit.command
    assert hit.command == f"uvx pip {REDACTED}"
    assert [p.name for p in hit.packages] == ["pip"]


def test_a_run_of_separators_still_ends_the_installer_segment() -> None:
    # shlex reads '&&;' as one word; it separated nothing, so the next segment's assignment
    # was kept as an argument of pip install
    (hit,) = parse_command(f"pip install litellm &&; export K={PASSWORD}")
    assert PASSWORD not in hit.command
    assert hit.command == "pip install litellm"


@given(st.lists(_WORDS, max_size=12), st.lists(_WORDS, max_size=12))
def test_parse_never_raises_and_never_keeps_an_assignment_or_other_segment(
    before: List[str], after: List[str]
) -> None:
    line = f"{' '.join(before)}; export K={PASSWORD}; OTHER={PASSWORD} {' '.join(after)}"
    for hit in parse_command(line):
        assert PASSWORD not in hit.command
        assert all(PASSWORD not in p.spec for p in hit.packages)
