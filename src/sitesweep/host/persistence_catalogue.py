"""Where persistence lives, per operating system: tables a reviewer audits without reading logic.

Each OS has its own catalogue (:data:`CATALOGUES`); the package-index configuration is looked for
on every OS. Paths are host paths under the scanned root: ``~/`` means under every home, and a
Windows drive is scanned as the root of drive ``C:`` (``/Windows/System32/Tasks``). Windows
locations are matched without regard to case, as Windows does (``StartUp``, ``Startup``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from sitesweep.host.model import PersistenceKind

K = PersistenceKind


@dataclass(frozen=True)
class Location:
    """Where to look. ``path`` starting with ``~/`` means under every home directory.

    Attributes:
        path: a file, or a directory whose entries are read.
        kind: the mechanism.
        depth: 0 for a file; for a directory, how many levels to read (systemd: 2, for
            ``*.wants/`` links and ``*.d/`` drop-ins).
        suffixes: for a directory, only file names ending so are read (lower case); empty: all.
        fold_case: match each path component without regard to case (Windows).
        context: an OS-owned location, recorded for context only (macOS ``/System/Library``).
    """

    path: str
    kind: PersistenceKind
    depth: int = 0
    suffixes: Tuple[str, ...] = ()
    fold_case: bool = False
    context: bool = False


LINUX: Tuple[Location, ...] = (
    # systemd: system and user units, with *.wants/ links and *.d/ drop-ins (depth 2)
    Location("/etc/systemd/system", K.SYSTEMD, 2),
    Location("/usr/lib/systemd/system", K.SYSTEMD, 2),
    Location("/lib/systemd/system", K.SYSTEMD, 2),
    Location("/etc/systemd/user", K.SYSTEMD, 2),
    Location("/usr/lib/systemd/user", K.SYSTEMD, 2),
    Location("~/.config/systemd/user", K.SYSTEMD, 2),
    Location("~/.local/share/systemd/user", K.SYSTEMD, 2),
    # cron, anacron, at
    Location("/etc/crontab", K.CRON),
    Location("/etc/cron.d", K.CRON, 1),
    Location("/etc/cron.hourly", K.CRON, 1),
    Location("/etc/cron.daily", K.CRON, 1),
    Location("/etc/cron.weekly", K.CRON, 1),
    Location("/etc/cron.monthly", K.CRON, 1),
    Location("/var/spool/cron", K.CRON, 1),
    Location("/var/spool/cron/crontabs", K.CRON, 1),
    Location("/etc/anacrontab", K.ANACRON),
    Location("/var/spool/cron/atjobs", K.AT, 1),
    Location("/var/spool/at", K.AT, 1),
    # boot scripts
    Location("/etc/rc.local", K.RC_LOCAL),
    Location("/etc/rc.d/rc.local", K.RC_LOCAL),
    Location("/etc/init.d", K.INIT_D, 1),
    # shell start-up files and login environments
    Location("/etc/profile", K.SHELL),
    Location("/etc/profile.d", K.SHELL, 1),
    Location("/etc/bash.bashrc", K.SHELL),
    Location("/etc/bashrc", K.SHELL),
    Location("/etc/zsh/zshrc", K.SHELL),
    Location("/etc/zsh/zshenv", K.SHELL),
    Location("/etc/zshenv", K.SHELL),
    Location("/etc/fish/config.fish", K.SHELL),
    Location("~/.bashrc", K.SHELL),
    Location("~/.bash_profile", K.SHELL),
    Location("~/.bash_login", K.SHELL),
    Location("~/.profile", K.SHELL),
    Location("~/.zshrc", K.SHELL),
    Location("~/.zprofile", K.SHELL),
    Location("~/.zshenv", K.SHELL),
    Location("~/.config/fish/config.fish", K.SHELL),
    Location("~/.config/fish/conf.d", K.SHELL, 1),
    Location("/etc/environment", K.ENVIRONMENT),
    Location("~/.pam_environment", K.ENVIRONMENT),
    # desktop autostart
    Location("~/.config/autostart", K.XDG_AUTOSTART, 1),
    Location("/etc/xdg/autostart", K.XDG_AUTOSTART, 1),
    # loader and remote access
    Location("/etc/ld.so.preload", K.LD_PRELOAD),
    Location("~/.ssh/authorized_keys", K.AUTHORIZED_KEYS),
    Location("~/.ssh/authorized_keys2", K.AUTHORIZED_KEYS),
    # package-index configuration (pip's site, XDG and legacy files; uv's system file)
    Location("/etc/pip.conf", K.INDEX_CONFIG),
    Location("/etc/pip.ini", K.INDEX_CONFIG),
    Location("/etc/xdg/pip/pip.conf", K.INDEX_CONFIG),
    Location("/etc/uv/uv.toml", K.INDEX_CONFIG),
)
"""Linux: systemd, cron/anacron/at, boot scripts, shell files, XDG autostart, preload, SSH."""

MACOS: Tuple[Location, ...] = (
    # launchd jobs (binary or XML plists); Apple's own under /System only for context
    Location("~/Library/LaunchAgents", K.LAUNCHD, 1),
    Location("/Library/LaunchAgents", K.LAUNCHD, 1),
    Location("/Library/LaunchDaemons", K.LAUNCHD, 1),
    Location("/System/Library/LaunchAgents", K.LAUNCHD, 1, context=True),
    Location("/System/Library/LaunchDaemons", K.LAUNCHD, 1, context=True),
    # cron and at (per-user tables without a user field), periodic
    Location("/private/var/at/tabs", K.CRON, 1),
    Location("/usr/lib/cron/tabs", K.CRON, 1),
    Location("/private/etc/crontab", K.CRON),
    Location("/private/var/at/jobs", K.AT, 1),
    Location("/private/etc/periodic", K.PERIODIC, 2),
    Location("/private/etc/periodic.conf", K.PERIODIC),
    Location("/private/etc/periodic.conf.local", K.PERIODIC),
    Location("/usr/local/etc/periodic", K.PERIODIC, 2),
    # login items: the background task management stores, the older loginitems list
    Location(
        "~/Library/Application Support/com.apple.backgroundtaskmanagementagent/backgrounditems.btm",
        K.LOGIN_ITEMS,
    ),
    Location("/private/var/db/com.apple.backgroundtaskmanagement", K.LOGIN_ITEMS, 1, (".btm",)),
    Location("~/Library/Preferences/com.apple.loginitems.plist", K.LOGIN_ITEMS),
    # shell start-up files (zsh is the default shell)
    Location("~/.zshrc", K.SHELL),
    Location("~/.zprofile", K.SHELL),
    Location("~/.zshenv", K.SHELL),
    Location("~/.zlogin", K.SHELL),
    Location("~/.bash_profile", K.SHELL),
    Location("~/.bashrc", K.SHELL),
    Location("~/.profile", K.SHELL),
    Location("/private/etc/zshrc", K.SHELL),
    Location("/private/etc/zprofile", K.SHELL),
    Location("/private/etc/zshenv", K.SHELL),
    Location("/private/etc/profile", K.SHELL),
    Location("/private/etc/bashrc", K.SHELL),
    Location("~/.ssh/authorized_keys", K.AUTHORIZED_KEYS),
    # package-index configuration
    Location("~/Library/Application Support/pip/pip.conf", K.INDEX_CONFIG),
    Location("/Library/Application Support/pip/pip.conf", K.INDEX_CONFIG),
    Location("/private/etc/pip.conf", K.INDEX_CONFIG),
    Location("/private/etc/uv/uv.toml", K.INDEX_CONFIG),
)
"""macOS: launchd, cron/at/periodic, login items, shell files, pip's macOS files."""

_STARTUP = "Microsoft/Windows/Start Menu/Programs/Startup"

_POWERSHELL_PROFILES = tuple(
    Location(f"{folder}/{name}", K.POWERSHELL_PROFILE, fold_case=True)
    for folder in (
        "~/Documents/WindowsPowerShell",  # Windows PowerShell 5.1, per user
        "~/Documents/PowerShell",  # PowerShell 7, per user
        "~/OneDrive/Documents/WindowsPowerShell",  # Documents redirected to OneDrive
        "~/OneDrive/Documents/PowerShell",
        "/Windows/System32/WindowsPowerShell/v1.0",  # all users
        "/Program Files/PowerShell/7",
    )
    for name in ("profile.ps1", "Microsoft.PowerShell_profile.ps1")
)
"""PowerShell profiles: every host's and the console host's, per user and for all users."""

WINDOWS: Tuple[Location, ...] = (
    # Startup folders: per user and for all users (shortcuts, scripts, programs)
    Location(f"~/AppData/Roaming/{_STARTUP}", K.STARTUP_FOLDER, 1, fold_case=True),
    Location(f"/ProgramData/{_STARTUP}", K.STARTUP_FOLDER, 1, fold_case=True),
    # Task Scheduler: one XML file per task, in folders (\Microsoft\Windows\...)
    Location("/Windows/System32/Tasks", K.SCHEDULED_TASK, 6, fold_case=True),
    *_POWERSHELL_PROFILES,
    # package-index configuration: pip.ini (user, legacy, machine) and uv.toml
    Location("~/AppData/Roaming/pip/pip.ini", K.INDEX_CONFIG, fold_case=True),
    Location("~/pip/pip.ini", K.INDEX_CONFIG, fold_case=True),
    Location("/ProgramData/pip/pip.ini", K.INDEX_CONFIG, fold_case=True),
    Location("~/AppData/Roaming/uv/uv.toml", K.INDEX_CONFIG, fold_case=True),
    Location("/ProgramData/uv/uv.toml", K.INDEX_CONFIG, fold_case=True),
)
"""Windows: Startup folders, scheduled tasks, PowerShell profiles, pip.ini and uv.toml.
(``Run``/``RunOnce`` keys come from the registry hives, read apart.)"""


@dataclass(frozen=True)
class RegistryLocation:
    """Registry keys whose values each start a program, in one hive.

    Attributes:
        hive: host path of the hive file (``~/`` = every home's ``NTUSER.DAT``).
        prefix: how its keys are written for a reader (``HKLM\\SOFTWARE``, ``HKCU``).
        keys: key paths below the hive's root.
    """

    hive: str
    prefix: str
    keys: Tuple[str, ...]


_RUN = "Microsoft\\Windows\\CurrentVersion"
_RUN_KEYS = (
    f"{_RUN}\\Run",
    f"{_RUN}\\RunOnce",
    f"{_RUN}\\RunServices",
    f"{_RUN}\\RunServicesOnce",
    f"{_RUN}\\Policies\\Explorer\\Run",
)

WINDOWS_REGISTRY: Tuple[RegistryLocation, ...] = (
    RegistryLocation(
        "/Windows/System32/config/SOFTWARE",
        "HKLM\\SOFTWARE",
        (*_RUN_KEYS, *(f"WOW6432Node\\{k}" for k in _RUN_KEYS)),
    ),
    RegistryLocation(
        "~/NTUSER.DAT",
        "HKCU",
        (
            *(f"Software\\{k}" for k in _RUN_KEYS),
            *(f"Software\\WOW6432Node\\{k}" for k in _RUN_KEYS),
        ),
    ),
)
"""Windows ``Run``/``RunOnce`` keys (and their 32-bit ``WOW6432Node`` views): the machine's in the
``SOFTWARE`` hive, each user's in their ``NTUSER.DAT``."""

REGISTRY: Dict[str, Tuple[RegistryLocation, ...]] = {"windows": WINDOWS_REGISTRY}
"""Each OS's registry persistence (Windows only)."""


def registry(os_name: Optional[str]) -> Tuple[RegistryLocation, ...]:
    """The registry locations to read for ``os_name``; Windows' when the OS is not known."""
    if os_name is None or os_name not in CATALOGUES:
        return WINDOWS_REGISTRY
    return REGISTRY.get(os_name, ())


EVERY_OS: Tuple[Location, ...] = (
    # pip and uv per-user files that every OS honours, and the upload credentials file
    Location("~/.config/pip/pip.conf", K.INDEX_CONFIG),
    Location("~/.config/pip/pip.ini", K.INDEX_CONFIG),
    Location("~/.pip/pip.conf", K.INDEX_CONFIG),
    Location("~/.pip/pip.ini", K.INDEX_CONFIG),
    Location("~/.config/uv/uv.toml", K.INDEX_CONFIG),
    Location("~/.pypirc", K.PYPIRC),
)
"""Looked for whatever the OS: package-index configuration that redirects future installs."""

CATALOGUES: Dict[str, Tuple[Location, ...]] = {
    "linux": LINUX + EVERY_OS,
    "macos": MACOS + EVERY_OS,
    "windows": WINDOWS + EVERY_OS,
}
"""Each OS's persistence catalogue, by OS name."""


def catalogue(os_name: Optional[str]) -> Tuple[Location, ...]:
    """The locations to read for ``os_name``; every OS's when it is not known."""
    if os_name in CATALOGUES:
        return CATALOGUES[os_name]
    return LINUX + MACOS + WINDOWS + EVERY_OS
