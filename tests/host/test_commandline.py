"""What a persistence command starts, as host paths: Windows and POSIX splitting, variables of the
entry's user, shells' -c//c command lines, launchers."""

from __future__ import annotations

from sitesweep.host.commandline import (
    command_programs,
    expand_windows,
    programs_of,
    split_windows,
    windows_host_path,
)


def test_windows_words_split_as_commandlinetoargvw_does() -> None:
    assert split_windows(r'"C:\Program Files\x.exe" -a "b c" d\\"e" f\"g') == [
        r"C:\Program Files\x.exe",
        "-a",
        "b c",
        "d\\e",
        'f"g',
    ]


def test_windows_paths_map_to_the_root_and_variables_to_the_user() -> None:
    home = "/Users/alice"
    assert expand_windows(r"%APPDATA%\x", home) == r"C:\Users\alice\AppData\Roaming\x"
    assert windows_host_path(r"%LOCALAPPDATA%\Temp\a.py", home) == (
        "/Users/alice/AppData/Local/Temp/a.py"
    )
    assert windows_host_path(r"%windir%\System32\cmd.exe", None) == "/Windows/System32/cmd.exe"
    assert windows_host_path(r"%USERPROFILE%\a.py", None) is None  # whose profile: not known
    assert windows_host_path(r"D:\tools\a.exe", home) is None  # another drive: not scanned
    assert windows_host_path(r"\\?\C:\x\y.exe", home) == "/x/y.exe"


def test_shell_command_lines_and_launchers_are_looked_into() -> None:
    home = "/Users/alice"
    assert programs_of(
        ["/bin/sh", "-c", "nohup /usr/bin/python3 ~/.config/sysmon/sysmon.py >/dev/null 2>&1 &"],
        home,
        windows=False,
    ) == ("/bin/sh", "/usr/bin/python3", "/Users/alice/.config/sysmon/sysmon.py")
    assert command_programs(
        r'cmd.exe /c start "" /min pythonw.exe C:\Users\alice\.x\a.py', home, windows=True
    ) == ("/Users/alice/.x/a.py",)
    hidden = r"C:\ProgramData\.c"
    assert command_programs(
        rf'powershell -WindowStyle Hidden -Command "& {hidden}\python.exe {hidden}\r.py"',
        None,
        windows=True,
    ) == ("/ProgramData/.c/python.exe", "/ProgramData/.c/r.py")
    assert programs_of(["pythonw.exe", "run.py"], home, True, r"C:\Users\alice\.app") == (
        "/Users/alice/.app/run.py",
    )
