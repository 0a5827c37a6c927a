"""macOS persistence, parsed: launchd jobs (binary and XML plists), cron, periodic, login items,
shell files and pip's macOS files, on a macOS-shaped tree; the incident's LaunchAgent form."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from builders import FakeRoot
from osimages import macos_image
from persistbuild import launchd_plist, login_items_archive, worst
from sitesweep.candidates import yara_candidates
from sitesweep.engine import ScanResult
from sitesweep.host.identity import User
from sitesweep.host.model import PersistenceEntry, PersistenceKind
from sitesweep.host.persistence import collect_persistence
from sitesweep.host.persistence_parse import parse_launchd
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason, Severity
from sitesweep.pipeline import ScanOptions, run_scan

HOME = "/Users/alice"
AGENTS = f"{HOME}/Library/LaunchAgents"
TELEMETRY_AGENT = f"{AGENTS}/com.apple.systemtelemetry.plist"
TMP_DAEMON = "/Library/LaunchDaemons/com.helper.update.plist"
ALL_USERS_AGENT = "/Library/LaunchAgents/com.apple.telemetry.plist"
CRONTAB = "/private/var/at/tabs/alice"
ZSHRC = f"{HOME}/.zshrc"
PIP_CONF = f"{HOME}/Library/Application Support/pip/pip.conf"
SYSMON = f"{HOME}/.config/sysmon/sysmon.py"

GOOGLE_AGENT = f"{AGENTS}/com.google.GoogleUpdater.wake.plist"
DOCKER_DAEMON = "/Library/LaunchDaemons/com.docker.vmnetd.plist"
APPLE_DAEMON = "/System/Library/LaunchDaemons/com.apple.metadata.mds.plist"
BTM = (
    f"{HOME}/Library/Application Support/com.apple.backgroundtaskmanagementagent"
    "/backgrounditems.btm"
)
ZPROFILE = f"{HOME}/.zprofile"
PERIODIC = "/private/etc/periodic/daily/110.clean-tmps"
BROKEN = f"{AGENTS}/com.broken.plist"

PLANTED = {
    TELEMETRY_AGENT: Severity.CRITICAL,
    TMP_DAEMON: Severity.HIGH,
    ALL_USERS_AGENT: Severity.CRITICAL,
    CRONTAB: Severity.HIGH,
    ZSHRC: Severity.MEDIUM,
    PIP_CONF: Severity.MEDIUM,
    SYSMON: Severity.CRITICAL,
}
DECOYS = (GOOGLE_AGENT, DOCKER_DAEMON, APPLE_DAEMON, BTM, ZPROFILE, PERIODIC, BROKEN)


def macos_tree(tmp_path: Path) -> FakeRoot:
    """A macOS system volume with one user, Alice, and the incident's persistence planted."""
    root = macos_image(FakeRoot(tmp_path / "mac"))
    canary = f"open({str(root.marker)!r}, 'a').write('executed\\n')  # fixture stand-in\n"
    root.add_file(SYSMON, canary)
    # the incident's macOS form: a LaunchAgent posing as telemetry, running the hidden poller
    root.add_file(
        TELEMETRY_AGENT,
        launchd_plist(
            "com.apple.systemtelemetry",
            ["/usr/bin/python3", SYSMON],
            binary=True,
            keep_alive=True,
        ),
    )
    root.add_file(  # the same service for every user, through a shell, script in plain sight
        ALL_USERS_AGENT,
        launchd_plist(
            "com.apple.telemetry",
            ["/bin/sh", "-c", "exec /usr/bin/python3 '/Users/Shared/Telemetry/poll.py'"],
        ),
    )
    root.add_file(
        TMP_DAEMON,
        launchd_plist("com.helper.update", ["/usr/bin/python3", "/private/tmp/.u/update.py"]),
    )
    root.add_file("/private/tmp/.u/update.py", canary)
    root.add_file(CRONTAB, f"*/30 * * * * /usr/bin/python3 {HOME}/.cache/.x/poll.py\n")
    root.add_file(ZSHRC, "export PIP_INDEX_URL=https://alice:tok-9f8e@pkgs.evil.example/simple\n")
    root.add_file(PIP_CONF, "[global]\nextra-index-url = https://mirror.evil.example/simple\n")
    # ordinary macOS entries
    google = (
        f"{HOME}/Library/Application Support/Google/GoogleUpdater/Current/GoogleUpdater.app"
        "/Contents/MacOS/GoogleUpdater"
    )
    root.add_file(
        GOOGLE_AGENT,
        launchd_plist("com.google.GoogleUpdater.wake", [google, "--wake-all"], run_at_load=False),
    )
    root.add_file(
        DOCKER_DAEMON,
        launchd_plist(
            "com.docker.vmnetd",
            ["/Library/PrivilegedHelperTools/com.docker.vmnetd"],
            binary=True,
            keep_alive=True,
        ),
    )
    root.add_file(
        APPLE_DAEMON,
        launchd_plist("com.apple.metadata.mds", ["/System/Library/Frameworks/mds"], binary=True),
    )
    root.add_file(BTM, login_items_archive(["/Applications/Slack.app", "/Applications/Zoom.app"]))
    root.add_file(ZPROFILE, 'eval "$(/opt/homebrew/bin/brew shellenv)"\n')
    root.add_file(PERIODIC, "#!/bin/sh -\nfind /tmp -atime +3 -delete\n", mode=0o755)
    root.add_file(BROKEN, b"bplist00\x00\x01garbage")
    return root


def scan(root: FakeRoot) -> ScanResult:
    return run_scan(ScanOptions(root=root.path, strict=True)).result


def test_macos_persistence_found_at_its_severity_and_decoys_stay_low(tmp_path: Path) -> None:
    fake_root = macos_tree(tmp_path)
    result = scan(fake_root)
    found = {path: worst(result.findings, path) for path in PLANTED}
    assert found == PLANTED
    for decoy in DECOYS:
        assert worst(result.findings, decoy).rank <= Severity.LOW.rank, decoy
    rules = {f.rule for f in result.findings if TELEMETRY_AGENT in f.paths}
    assert "litellm-2026-03/persistence/telemetry-service" in rules
    assert "litellm-2026-03/persistence/sysmon-script" in rules
    candidates = yara_candidates(result.inventory, result.packs)
    assert TELEMETRY_AGENT in candidates  # copied and matched
    assert APPLE_DAEMON not in candidates  # Apple's own job: context only
    assert not fake_root.marker.exists()


def test_launchd_jobs_are_parsed_from_binary_and_xml(tmp_path: Path) -> None:
    fake_root = macos_tree(tmp_path)
    fake_root.add_file(
        f"{AGENTS}/com.example.env.plist",
        launchd_plist(
            "com.example.env",
            ["/usr/local/bin/tool"],
            environment={"OPENAI_API_KEY": "sk-FIXTURE-LEAK-1", "LANG": "C"},
        ),
    )
    users = [User("alice", 501, HOME)]
    entries, gaps = collect_persistence(HostRoot(fake_root.path), users, os_name="macos")
    by_path: Dict[str, PersistenceEntry] = {e.path: e for e in entries}
    agent = by_path[TELEMETRY_AGENT]
    assert agent.kind is PersistenceKind.LAUNCHD
    assert agent.label == "com.apple.systemtelemetry"
    assert agent.triggers == ("RunAtLoad", "KeepAlive")
    assert agent.commands == (f"/usr/bin/python3 {SYSMON}",)
    assert agent.programs == ("/usr/bin/python3", SYSMON)
    assert by_path[TMP_DAEMON].programs == ("/usr/bin/python3", "/private/tmp/.u/update.py")
    env = by_path[f"{AGENTS}/com.example.env.plist"]
    assert env.variables == ("LANG", "OPENAI_API_KEY")
    assert env.copyable is False
    assert "FIXTURE-LEAK" not in repr(entries)
    assert by_path[APPLE_DAEMON].context is True
    assert by_path[CRONTAB].commands == (f"/usr/bin/python3 {HOME}/.cache/.x/poll.py",)
    assert by_path[BTM].kind is PersistenceKind.LOGIN_ITEMS
    assert by_path[BTM].programs == ("/Applications/Slack.app/", "/Applications/Zoom.app/")
    assert by_path[PERIODIC].kind is PersistenceKind.PERIODIC
    assert by_path[PIP_CONF].index_urls == ("https://mirror.evil.example/simple",)
    assert by_path[ZSHRC].index_urls == ("https://<redacted>@pkgs.evil.example/simple",)
    assert by_path[BROKEN].sha256 is not None  # recorded, and its problem is a gap
    assert [(g.path, g.reason) for g in gaps] == [(BROKEN, GapReason.PARSE_ERROR)]


def test_unreadable_login_items_are_named(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "mac")
    root.add_file(BTM, b"\x00\x01not an archive")
    entries, gaps = collect_persistence(
        HostRoot(root.path), [User("alice", 501, HOME)], os_name="macos"
    )
    assert [(e.path, e.kind, e.label) for e in entries] == [
        (BTM, PersistenceKind.LOGIN_ITEMS, "login items")
    ]
    assert [g.reason for g in gaps] == [GapReason.PARSE_ERROR]


def test_launchd_program_key_and_odd_values() -> None:
    parsed = parse_launchd(
        launchd_plist("x", ["argv0", "/Users/a/.x/run.py"], program="/usr/bin/python3")
    )
    assert parsed.argv == (("/usr/bin/python3", "/Users/a/.x/run.py"),)
    assert parsed_problem(b"<plist><array/></plist>") == "property list is not a dictionary"


def parsed_problem(data: bytes) -> str:
    return parse_launchd(data).problem or ""
