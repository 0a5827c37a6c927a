"""Windows: the SYSTEM and SOFTWARE hives (computer name, version, ProfileList accounts).

The scanned root is the system drive (``C:``). Names on a Windows drive ignore case, and a
mounted NTFS volume keeps whatever case Windows wrote (``system32``, ``CONFIG``), so the hives are
looked up without regard to case.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from sitesweep.host.commandline import windows_host_path
from sitesweep.host.identity import HostIdentity, User, live_hostname
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.osprofile.detect import find_ci
from sitesweep.osprofile.hive import Hive, open_hive
from sitesweep.osprofile.model import OsFamily, OsInfo, PathStyle

CONFIG = "/Windows/System32/config"
SYSTEM_HIVE = f"{CONFIG}/SYSTEM"
SOFTWARE_HIVE = f"{CONFIG}/SOFTWARE"
CURRENT_VERSION = r"Microsoft\Windows NT\CurrentVersion"
PROFILE_LIST = rf"{CURRENT_VERSION}\ProfileList"
CRYPTOGRAPHY = r"Microsoft\Cryptography"
WINDOWS_11_BUILD = 22000
"""Windows 11 still calls itself "Windows 10" in ProductName; its builds start here."""


def _hive(root: HostRoot, path: str, area: str, gaps: List[Gap]) -> Optional[Hive]:
    return open_hive(root, find_ci(root, path), area, gaps)


def _control_set(system: Hive) -> str:
    current = system.value("Select", "Current")
    number = current if isinstance(current, int) and 0 < current < 1000 else 1
    return f"ControlSet{number:03d}"


def identify(root: HostRoot, gaps: List[Gap]) -> Tuple[HostIdentity, OsInfo]:
    """ComputerName (SYSTEM), product name, display version and build, MachineGuid (SOFTWARE)."""
    hostname = ""
    system = _hive(root, SYSTEM_HIVE, "identity", gaps)
    if system is not None:
        control = _control_set(system)
        hostname = (
            system.text(rf"{control}\Control\ComputerName\ComputerName", "ComputerName")
            or system.text(rf"{control}\Services\Tcpip\Parameters", "Hostname")
            or ""
        )
    software = _hive(root, SOFTWARE_HIVE, "identity", gaps)
    name = version = build = machine_id = None
    if software is not None:
        name = software.text(CURRENT_VERSION, "ProductName")
        version = software.text(CURRENT_VERSION, "DisplayVersion") or software.text(
            CURRENT_VERSION, "ReleaseId"
        )
        build = software.text(CURRENT_VERSION, "CurrentBuildNumber") or software.text(
            CURRENT_VERSION, "CurrentBuild"
        )
        machine_id = software.text(CRYPTOGRAPHY, "MachineGuid")
    if name and build and build.isdigit() and int(build) >= WINDOWS_11_BUILD:
        name = name.replace("Windows 10", "Windows 11")
    if root.is_live:
        hostname = live_hostname(hostname)
    pretty = " ".join(p for p in (name or "Windows", version) if p)
    evidence = find_ci(root, CONFIG)
    info = OsInfo(OsFamily.WINDOWS, name or "Windows", version, build, evidence, PathStyle.WINDOWS)
    return HostIdentity(hostname or "unknown-host", machine_id, pretty, None), info


def accounts(root: HostRoot, gaps: List[Gap]) -> Tuple[User, ...]:
    """Every ProfileList entry (SID, ProfileImagePath) of the SOFTWARE hive; a gap without it."""
    software = _hive(root, SOFTWARE_HIVE, "accounts", gaps)
    if software is None:
        detail = "no readable SOFTWARE hive (ProfileList): homes found by walking /Users only"
        gaps.append(Gap("accounts", HostPath(SOFTWARE_HIVE), GapReason.NOT_COLLECTED, detail))
        return ()
    users: List[User] = []
    for sid in software.subkeys(PROFILE_LIST):
        image = software.text(rf"{PROFILE_LIST}\{sid}", "ProfileImagePath")
        home = windows_host_path(image, None) if image else None
        if home is None:
            continue
        name = home.rstrip("/").rpartition("/")[2] or sid
        users.append(User(name, _rid(sid), home, sid=sid, source="ProfileList"))
    return tuple(users)


def _rid(sid: str) -> int:
    last = sid.rpartition("-")[2]
    return int(last) if last.isascii() and last.isdigit() and len(last) <= 10 else -1
