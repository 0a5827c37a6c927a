"""Fixture builders for a macOS and a Windows image tree, laid out as the real ones are.

macOS: ``SystemVersion.plist`` (XML, as Apple writes it), the SystemConfiguration preferences and
one dslocal record per account (binary plists whose fields are arrays), homes under ``/Users``,
and the firmlinked layout (``/etc``, ``/var``, ``/tmp`` are links into ``/private``).
Windows: a SYSTEM hive (``Select\\Current``, ComputerName) and a SOFTWARE hive (CurrentVersion,
MachineGuid, ProfileList with SIDs and ``ProfileImagePath``) written by :mod:`regf`, profiles
under ``/Users`` (Public and Default too) and the ``Windows`` directory.
"""

from __future__ import annotations

import plistlib
from typing import Sequence, Tuple

from builders import FakeRoot
from regf import Hive, dword, expand_sz, sz

MAC_USERS_DIR = "/private/var/db/dslocal/nodes/Default/users"
WIN_CONFIG = "/Windows/System32/config"
PROFILE_LIST = r"Microsoft\Windows NT\CurrentVersion\ProfileList"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"


def macos_image(
    root: FakeRoot,
    hostname: str = "alices-mbp",
    users: Sequence[Tuple[str, int]] = (("alice", 501),),
    version: str = "14.4.1",
    build: str = "23E224",
    dslocal: bool = True,
) -> FakeRoot:
    """Lay out a macOS system (data volume merged) with ``users`` (name, uid) in dslocal."""
    system_version = {
        "ProductName": "macOS",
        "ProductVersion": version,
        "ProductBuildVersion": build,
        "ProductCopyright": "1983-2024 Apple Inc.",
    }
    root.add_file(
        "/System/Library/CoreServices/SystemVersion.plist",
        plistlib.dumps(system_version, fmt=plistlib.FMT_XML),
    )
    prefs = {
        "System": {
            "System": {"ComputerName": hostname.replace("-", " ").title(), "HostName": hostname},
            "Network": {"HostNames": {"LocalHostName": hostname}},
        }
    }
    root.add_file(
        "/Library/Preferences/SystemConfiguration/preferences.plist",
        plistlib.dumps(prefs, fmt=plistlib.FMT_BINARY),
    )
    for link, target in (("/etc", "private/etc"), ("/var", "private/var"), ("/tmp", "private/tmp")):
        root.add_dir(f"/private/{target.split('/')[1]}")
        root.add_symlink(link, target)
    # /etc/passwd on macOS lists only system accounts (users live in dslocal)
    root.add_file(
        "/private/etc/passwd",
        "nobody:*:-2:-2:Unprivileged User:/var/empty:/usr/bin/false\n"
        "root:*:0:0:System Administrator:/var/root:/bin/sh\n"
        "_www:*:70:70:World Wide Web Server:/Library/WebServer:/usr/bin/false\n",
    )
    root.add_dir("/private/var/root")
    root.add_dir("/Users/Shared")
    records = [("root", 0, "/var/root"), ("_www", 70, "/Library/WebServer")]
    records += [(name, uid, f"/Users/{name}") for name, uid in users]
    for name, uid, home in records:
        if name not in ("root", "_www"):
            root.add_dir(home)
        if dslocal:
            record = {
                "name": [name],
                "uid": [str(uid)],
                "gid": ["20"],
                "home": [home],
                "shell": ["/bin/zsh"],
                "realname": [name.title()],
                "generateduid": [f"{uid:08X}-0000-0000-0000-000000000000"],
            }
            root.add_file(
                f"{MAC_USERS_DIR}/{name}.plist", plistlib.dumps(record, fmt=plistlib.FMT_BINARY)
            )
    return root


def windows_image(
    root: FakeRoot,
    computer_name: str = "DESKTOP-7QK2M1A",
    users: Sequence[Tuple[str, int]] = (("alice", 1001),),
    build: str = "22631",
    software_hive: bool = True,
) -> FakeRoot:
    """Lay out a Windows system drive with ``users`` (name, RID) in ProfileList."""
    system = Hive("SYSTEM")
    system.set("Select", "Current", dword(1))
    system.set("Select", "Default", dword(1))
    system.set(
        r"ControlSet001\Control\ComputerName\ComputerName", "ComputerName", sz(computer_name)
    )
    system.set(r"ControlSet001\Services\Tcpip\Parameters", "Hostname", sz(computer_name.lower()))
    system.write(root.host(f"{WIN_CONFIG}/SYSTEM"))
    for directory in ("/Windows/System32/drivers/etc", "/Program Files", "/ProgramData"):
        root.add_dir(directory)
    root.add_file("/Windows/System32/config/SAM", b"")
    for name in ("Public", "Default"):
        root.add_dir(f"/Users/{name}")
    if software_hive:
        software = Hive("SOFTWARE")
        current = r"Microsoft\Windows NT\CurrentVersion"
        software.set(current, "ProductName", sz("Windows 10 Pro"))
        software.set(current, "DisplayVersion", sz("23H2"))
        software.set(current, "CurrentBuildNumber", sz(build))
        software.set(current, "CurrentBuild", sz(build))
        software.set(
            r"Microsoft\Cryptography", "MachineGuid", sz("4c1d6f0e-6b8e-4f5e-9a1e-000000000001")
        )
        system_profiles = {
            "S-1-5-18": r"%systemroot%\system32\config\systemprofile",
            "S-1-5-19": r"%systemroot%\ServiceProfiles\LocalService",
            "S-1-5-20": r"%systemroot%\ServiceProfiles\NetworkService",
        }
        for sid, image in system_profiles.items():
            software.set(rf"{PROFILE_LIST}\{sid}", "ProfileImagePath", expand_sz(image))
        for name, rid in users:
            key = rf"{PROFILE_LIST}\{DOMAIN_SID}-{rid}"
            software.set(key, "ProfileImagePath", expand_sz(rf"C:\Users\{name}"))
            software.set(key, "Flags", dword(0))
        software.write(root.host(f"{WIN_CONFIG}/SOFTWARE"))
    for name, _ in users:
        root.add_dir(f"/Users/{name}/AppData/Local")
        root.add_dir(f"/Users/{name}/AppData/Roaming")
    return root
