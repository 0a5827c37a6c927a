"""Types for what the host-level collectors observe: processes, persistence, exposed credentials.

Plain frozen dataclasses of str/int/float/bool/enums/tuples, so the bundle serialiser writes them
generically and checks can import them without pulling in psutil.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from sitesweep.model import HostPath, StrEnum


@dataclass(frozen=True)
class Connection:
    """An open inet connection of a process (remote end only; listening sockets have none)."""

    remote_ip: str
    remote_port: int
    status: str


@dataclass(frozen=True)
class ProcessInfo:
    """One running process, as psutil saw it.

    Attributes:
        pid, ppid: process and parent ids.
        name: the kernel's short name.
        user: owner user name (or uid as text), ``None`` when unreadable.
        exe: executable path, ``None`` when unreadable.
        cmdline: the arguments.
        cwd: working directory, ``None`` when unreadable.
        create_time: start time (UTC epoch seconds).
        exe_deleted: whether the executable was deleted from disk while running.
        connections: open inet connections with a remote end, where readable.
        denied: the attributes that could not be read (a coverage gap records each process).
    """

    pid: int
    ppid: Optional[int]
    name: str
    user: Optional[str]
    exe: Optional[str]
    cmdline: Tuple[str, ...]
    cwd: Optional[str]
    create_time: Optional[float]
    exe_deleted: bool
    connections: Tuple[Connection, ...]
    denied: Tuple[str, ...] = ()


class PersistenceKind(StrEnum):
    """Which persistence mechanism a location belongs to."""

    SYSTEMD = "systemd"
    CRON = "cron"
    ANACRON = "anacron"
    AT = "at"
    RC_LOCAL = "rc-local"
    INIT_D = "init.d"
    SHELL = "shell-startup"
    ENVIRONMENT = "environment"
    XDG_AUTOSTART = "xdg-autostart"
    LAUNCHD = "launchd"
    PERIODIC = "periodic"
    """macOS ``periodic`` scripts and ``periodic.conf``."""
    LOGIN_ITEMS = "login-items"
    """macOS background task management store (login items), recorded by name."""
    STARTUP_FOLDER = "startup-folder"
    """A Windows Start Menu ``Startup`` folder item (``.lnk``, script or program)."""
    SCHEDULED_TASK = "scheduled-task"
    """A Windows Task Scheduler task (XML under ``Windows/System32/Tasks``)."""
    REGISTRY_RUN = "registry-run"
    """A value under a Windows ``Run``/``RunOnce`` registry key."""
    POWERSHELL_PROFILE = "powershell-profile"
    LD_PRELOAD = "ld-preload"
    AUTHORIZED_KEYS = "authorized-keys"
    PYTHON_STARTUP = "python-startup"
    INDEX_CONFIG = "index-config"
    PYPIRC = "pypirc"
    INDICATOR = "indicator-path"
    """A path a signature pack names as persistence (looked up wherever it is)."""


@dataclass(frozen=True)
class PersistenceEntry:
    """One file (or link) at a persistence location.

    Attributes:
        path: host path.
        kind: the mechanism.
        scope: ``system`` or the user name whose home holds it.
        uid, mode, mtime, size: from ``lstat``.
        sha256: content hash, ``None`` for links, directories and unreadable files.
        link_target: the stored target when the entry is a symlink (``*.wants/`` links).
        commands: what it runs: ``Exec*=`` lines, cron commands, script lines naming Python,
            launchd program arguments, preloaded libraries, ``command=`` key options.
        index_urls: package index URLs it configures (user:password parts redacted).
        variables: names of environment variables it assigns (never their values).
        python_startup: the ``PYTHONSTARTUP`` value it sets, if any.
        copyable: whether an evidence copy is safe (false when the file may hold a secret, e.g.
            ``.pypirc`` or a shell file assigning a token).
        label: what the mechanism calls it: a launchd ``Label``, a scheduled task's name, a
            registry value's name, a shortcut's file name.
        description: its own description (a task's ``Description``, a shortcut's comment).
        triggers: when it runs (``RunAtLoad``, ``KeepAlive``, ``LogonTrigger``...).
        programs: host paths of the executables and scripts it runs, where they could be told
            from the command (``~``, ``%APPDATA%`` and the like expanded for the entry's user,
            ``C:\\`` mapped to the root); what runs from outside the root is not listed.
        key: for a registry value, the key holding it (``HKCU\\...\\Run``); ``path`` is then
            the hive file, shared by every value in it.
        context: an OS-owned location read for context only (macOS ``/System/Library``).
    """

    path: HostPath
    kind: PersistenceKind
    scope: str
    uid: int
    mode: int
    mtime: float
    size: int
    sha256: Optional[str]
    link_target: Optional[str] = None
    commands: Tuple[str, ...] = ()
    index_urls: Tuple[str, ...] = ()
    variables: Tuple[str, ...] = ()
    python_startup: Optional[str] = None
    copyable: bool = True
    label: Optional[str] = None
    description: Optional[str] = None
    triggers: Tuple[str, ...] = ()
    programs: Tuple[HostPath, ...] = ()
    key: Optional[str] = None
    context: bool = False


class CredentialKind(StrEnum):
    """What kind of secret-bearing thing a credential item is."""

    FILE = "file"
    DIRECTORY = "directory"
    VARIABLE = "variable"
    KUBERNETES = "kubernetes"
    STORE = "store"
    """An OS credential store (a macOS keychain, the Windows Credential Manager), named only."""


@dataclass(frozen=True)
class CredentialItem:
    """A secret the payload could have taken, present on this host (never its content).

    Attributes:
        entry: the pack ``credentials`` entry it matched (``~/.ssh/id_rsa``, ``*.pem``,
            ``OPENAI_API_KEY``), or the Kubernetes access path pattern.
        kind: file, directory, variable assignment or Kubernetes access.
        path: the file or directory; for a variable, the file that assigns it.
        user: the user whose home holds it, ``None`` outside homes.
        uid, mode, mtime, size: from ``lstat`` (no content is ever read).
        variable: the variable name, for variable assignments.
    """

    entry: str
    kind: CredentialKind
    path: HostPath
    user: Optional[str]
    uid: int
    mode: int
    mtime: float
    size: int
    variable: Optional[str] = None
