"""Persistence on fake roots: the incident's user unit, benign entries, index redirects."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

from builders import FakeRoot
from sitesweep.bundle.reader import read_inventory
from sitesweep.content import EvidenceContent
from sitesweep.engine import ScanResult, analyze
from sitesweep.host.model import PersistenceEntry, PersistenceKind
from sitesweep.host.persistence_parse import parse_crontab
from sitesweep.model import Category, Finding, Severity
from sitesweep.pipeline import ScanOptions, run_scan
from sitesweep.redact import redact_url

SYSMON_UNIT = """\
[Unit]
Description=System Telemetry Service
After=network.target

[Service]
Type=simple
ExecStart=/usr/bin/python3 /home/alice/.config/sysmon/sysmon.py
Restart=always
RestartSec=10
StartLimitIntervalSec=0

[Install]
WantedBy=default.target
"""

BENIGN_UNIT = """\
[Unit]
Description=Syncthing - Open Source Continuous File Synchronization

[Service]
ExecStart=/usr/bin/syncthing serve --no-browser --no-restart --logflag=0
Restart=on-failure

[Install]
WantedBy=default.target
"""

ORDINARY_BASHRC = """\
# ~/.bashrc: executed by bash(1) for non-login shells.
case $- in
    *i*) ;;
      *) return;;
esac
HISTCONTROL=ignoreboth
HISTSIZE=1000
shopt -s histappend
if [ -x /usr/bin/dircolors ]; then
    alias ls='ls --color=auto'
fi
export PATH="$HOME/.local/bin:$PATH"
if [ -f ~/.bash_aliases ]; then
    . ~/.bash_aliases
fi
"""


def scan(root: FakeRoot) -> ScanResult:
    """Scan the fake root with the built-in packs, failing loudly if a check breaks."""
    return run_scan(ScanOptions(root=root.path, strict=True)).result


def persistence_findings(result: ScanResult) -> List[Finding]:
    return [f for f in result.findings if f.category in (Category.PERSISTENCE, Category.CONFIG)]


def plant_sysmon(root: FakeRoot, home: str = "/home/alice") -> None:
    """The litellm backdoor's persistence: script, user unit and its ``.wants`` link."""
    script = f"open({str(root.marker)!r}, 'a').write('executed\\n')  # fixture stand-in\n"
    root.add_file(f"{home}/.config/sysmon/sysmon.py", script)
    root.add_user_unit(home, "sysmon.service", SYSMON_UNIT.replace("/home/alice", home))


def test_incident_persistence_is_critical_and_names_both_files(fake_root: FakeRoot) -> None:
    plant_sysmon(fake_root)
    result = scan(fake_root)
    critical = [f for f in result.findings if f.severity is Severity.CRITICAL]
    by_rule = {f.rule: f for f in critical}
    unit = "/home/alice/.config/systemd/user/sysmon.service"
    link = "/home/alice/.config/systemd/user/default.target.wants/sysmon.service"
    script = "/home/alice/.config/sysmon/sysmon.py"
    assert set(by_rule["litellm-2026-03/persistence/sysmon-service"].paths) == {unit, link}
    assert by_rule["litellm-2026-03/persistence/sysmon-script"].paths == (script,)
    named = {p for f in critical for p in f.paths}
    assert {unit, script} <= named
    hidden = [f for f in result.findings if f.rule == "heuristic/persistence-python-hidden-dir"]
    assert [(f.severity, f.paths) for f in hidden] == [(Severity.HIGH, (unit,))]
    entries: Dict[str, PersistenceEntry] = {e.path: e for e in result.inventory.persistence}
    assert entries[link].link_target == unit
    assert entries[unit].commands == (
        "ExecStart=/usr/bin/python3 /home/alice/.config/sysmon/sysmon.py",
    )
    assert entries[script].sha256 is not None
    assert not fake_root.marker.exists()


def test_incident_persistence_under_root_home(fake_root: FakeRoot) -> None:
    plant_sysmon(fake_root, "/root")
    result = scan(fake_root)
    paths = {p for f in result.findings if f.severity is Severity.CRITICAL for p in f.paths}
    assert "/root/.config/sysmon/sysmon.py" in paths
    assert "/root/.config/systemd/user/sysmon.service" in paths


def test_benign_unit_and_ordinary_bashrc_give_nothing(fake_root: FakeRoot) -> None:
    fake_root.add_user_unit("/home/alice", "syncthing.service", BENIGN_UNIT)
    fake_root.add_file("/home/alice/.bashrc", ORDINARY_BASHRC)
    fake_root.add_file(
        "/etc/crontab", "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
    )
    result = scan(fake_root)
    assert persistence_findings(result) == []
    assert all(f.severity is Severity.INFO for f in result.findings)
    kinds: Dict[str, PersistenceKind] = {e.path: e.kind for e in result.inventory.persistence}
    assert kinds["/home/alice/.config/systemd/user/syncthing.service"] is PersistenceKind.SYSTEMD
    assert kinds["/home/alice/.bashrc"] is PersistenceKind.SHELL
    assert kinds["/etc/crontab"] is PersistenceKind.CRON


def test_index_redirect_is_medium_and_redacted(fake_root: FakeRoot) -> None:
    fake_root.add_file(
        "/home/bob/.config/pip/pip.conf",
        "[global]\nindex-url = https://bob:s3cr3t-token@pkgs.example.net/simple\n"
        "extra-index-url =\n    https://pypi.org/simple\n",
    )
    fake_root.add_file("/home/alice/.profile", "export UV_INDEX_URL=https://mirror.example.org/x\n")
    fake_root.add_file("/etc/pip.conf", "[global]\nindex-url = https://pypi.org/simple/\n")
    result = scan(fake_root)
    found = {f.paths[0]: f for f in result.findings if f.rule == "heuristic/index-url"}
    assert set(found) == {"/home/bob/.config/pip/pip.conf", "/home/alice/.profile"}
    assert all(f.severity is Severity.MEDIUM for f in found.values())
    pip_conf = next(e for e in result.inventory.persistence if e.path.startswith("/home/bob/"))
    assert "s3cr3t-token" not in repr(result.inventory)
    assert "https://<redacted>@pkgs.example.net/simple" in pip_conf.index_urls
    assert pip_conf.copyable is False


def test_pythonstartup_file_is_recorded(fake_root: FakeRoot) -> None:
    fake_root.add_file("/home/alice/.zshrc", "export PYTHONSTARTUP=~/.pythonrc.py\n")
    fake_root.add_file("/home/alice/.pythonrc.py", "import readline\n")
    result = scan(fake_root)
    kinds: Dict[str, PersistenceKind] = {e.path: e.kind for e in result.inventory.persistence}
    assert kinds["/home/alice/.pythonrc.py"] is PersistenceKind.PYTHON_STARTUP


def test_parsers() -> None:
    assert redact_url("https://u:p@h.example/simple") == "https://<redacted>@h.example/simple"
    assert redact_url("https://h.example/simple") == "https://h.example/simple"
    table = "SHELL=/bin/sh\n@reboot python3 /tmp/x.py\n*/5 * * * * /usr/bin/true --flag\n"
    assert parse_crontab(table, user_field=False).commands == (
        "python3 /tmp/x.py",
        "/usr/bin/true --flag",
    )


def test_bundle_round_trip_keeps_host_observations(fake_root: FakeRoot, tmp_path: Path) -> None:
    plant_sysmon(fake_root)
    fake_root.add_file("/home/alice/.ssh/id_rsa", "not a real key\n", mode=0o600)
    outcome = run_scan(ScanOptions(root=fake_root.path, output=tmp_path / "out", strict=True))
    assert outcome.bundle is not None
    inventory = read_inventory(outcome.bundle.directory)
    assert inventory.persistence == outcome.result.inventory.persistence
    assert inventory.credentials == outcome.result.inventory.credentials
    content = EvidenceContent.from_bundle(outcome.bundle.directory)
    again = analyze(inventory, outcome.result.packs, content=content, strict=True)
    assert {f.id for f in again.findings} == {f.id for f in outcome.result.findings}
    index = json.loads((outcome.bundle.directory / "evidence/index.json").read_text())
    copied = {e["host_path"] for e in index if e.get("copied")}
    assert "/home/alice/.config/sysmon/sysmon.py" in copied
    assert "/home/alice/.config/systemd/user/sysmon.service" in copied
    assert "/home/alice/.ssh/id_rsa" not in {e["host_path"] for e in index}


def test_modified_in_window_needs_a_pack_that_concerns_the_host(fake_root: FakeRoot) -> None:
    unit = fake_root.add_user_unit("/home/alice", "syncthing.service", BENIGN_UNIT, enable=False)
    inside = datetime(2026, 3, 24, 12, 0, tzinfo=timezone.utc).timestamp()
    os.utime(unit, (inside, inside))
    rule = "litellm-2026-03/persistence-in-window"
    assert not [f for f in scan(fake_root).findings if f.rule == rule]
    site = "/home/alice/app/.venv/lib/python3.11/site-packages"
    fake_root.add_venv("/home/alice/app/.venv")
    fake_root.add_dist(site, "litellm", "1.82.6")  # the project is used here (a clean release)
    hits = [f for f in scan(fake_root).findings if f.rule == rule]
    assert [(f.severity, f.paths) for f in hits] == [
        (Severity.HIGH, ("/home/alice/.config/systemd/user/syncthing.service",))
    ]
