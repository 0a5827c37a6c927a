"""One profile per operating system: tables plus the parsers of its own files.

Everything the scanner knows that differs by OS and is not a persistence or credential catalogue
is here: how the OS is told (``detect.MARKERS``), where homes live, how a path is written, and
the two readers (identity, accounts). Adding an OS is adding a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Tuple

from sitesweep.host.identity import HostIdentity, User
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap
from sitesweep.osprofile import linux, macos, windows
from sitesweep.osprofile.model import OsFamily, OsInfo, PathStyle


@dataclass(frozen=True)
class OsProfile:
    """What one operating system supplies.

    Attributes:
        family: the OS.
        path_style: how its paths are written for a human.
        home_parents: directories whose subdirectories are homes (walked as well as the account
            database is read).
        skip_homes: names under ``home_parents`` that are not homes (lower case).
        fixed_homes: (account, home) pairs that are homes without being under a parent.
        identify: reads the host's names and OS version.
        accounts: reads the account database (a gap when it cannot be read).
        home_owner_ids: a walked home's owner uid names its account (not on Windows drives).
        live_skip: host paths a live walk does not enter (macOS's system volumes, which show
            ``/`` a second time through firmlinks), each recorded as a ``pruned`` gap.
    """

    family: OsFamily
    path_style: PathStyle
    home_parents: Tuple[str, ...]
    skip_homes: FrozenSet[str]
    fixed_homes: Tuple[Tuple[str, str], ...]
    identify: Callable[[HostRoot, List[Gap]], Tuple[HostIdentity, OsInfo]]
    accounts: Callable[[HostRoot, List[Gap]], Tuple[User, ...]]
    live_skip: Tuple[str, ...] = ()
    home_owner_ids: bool = True


def _unknown_identify(root: HostRoot, gaps: List[Gap]) -> Tuple[HostIdentity, OsInfo]:
    identity, _ = linux.identify(root, gaps)
    return identity, OsInfo(OsFamily.UNKNOWN)


PROFILES: Dict[OsFamily, OsProfile] = {
    OsFamily.LINUX: OsProfile(
        family=OsFamily.LINUX,
        path_style=PathStyle.POSIX,
        home_parents=("/home",),
        skip_homes=frozenset({"lost+found"}),
        fixed_homes=(("root", "/root"),),
        identify=linux.identify,
        accounts=linux.accounts,
    ),
    OsFamily.MACOS: OsProfile(
        family=OsFamily.MACOS,
        path_style=PathStyle.POSIX,
        home_parents=("/Users",),
        skip_homes=frozenset({"shared"}),
        fixed_homes=(("root", "/private/var/root"),),
        identify=macos.identify,
        accounts=macos.accounts,
        live_skip=macos.LIVE_SKIP,
    ),
    OsFamily.WINDOWS: OsProfile(
        family=OsFamily.WINDOWS,
        path_style=PathStyle.WINDOWS,
        home_parents=("/Users",),
        skip_homes=frozenset({"all users", "default user"}),  # junctions to ProgramData, Default
        fixed_homes=(),
        identify=windows.identify,
        accounts=windows.accounts,
        home_owner_ids=False,
    ),
    OsFamily.UNKNOWN: OsProfile(
        family=OsFamily.UNKNOWN,
        path_style=PathStyle.POSIX,
        home_parents=("/home", "/Users"),
        skip_homes=frozenset({"lost+found", "shared", "all users", "default user"}),
        fixed_homes=(("root", "/root"),),
        identify=_unknown_identify,
        accounts=linux.accounts,
    ),
}
"""Every profile, by OS (an unknown OS gets every OS's home parents)."""


def profile_for(family: OsFamily) -> OsProfile:
    """The profile of ``family``."""
    return PROFILES[family]
