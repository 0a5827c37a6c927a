"""The shell lines a sweep runs on a target (POSIX sh), every variable part quoted."""

from __future__ import annotations

import re
import shlex
from typing import Optional, Tuple

from sitesweep.agent import BUNDLE_LINE

NO_PYTHON = 97
"""Exit code of :func:`prepare_command` when the interpreter is missing on the target."""
TOO_OLD = 98
"""Exit code of :func:`prepare_command` when every interpreter found is older than 3.9."""
MIN_PYTHON = (3, 9)
"""The oldest Python the agent runs on."""
DEFAULT_PYTHON = "python3"
SEARCH = (
    "python3",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "/usr/libexec/platform-python",
)
"""Where a usable interpreter is looked for when the host names none of its own (RHEL 8's
``python3`` is 3.6 with ``python3.9`` or ``python3.11`` beside it as modules)."""
_VERSION_PROBE = 'import sys; sys.stdout.write("%d.%d" % sys.version_info[:2])'
_PYTHON_LINE = re.compile(r"^PYTHON (/[^\s]+) (\d+)\.(\d+)$")
_OLD_LINE = re.compile(r"^OLD (\S+) (\d+\.\d+)$")

TIMED_OUT = (124, 137)
"""Exit codes of coreutils ``timeout`` (time limit hit; killed after the grace period)."""

TEMP_PREFIX = "sitesweep."
AGENT_NAME = "agent.pyz"
OUT_NAME = "out"
PID_NAME = "agent.pid"
_BUNDLE = re.compile(
    rf"^{BUNDLE_LINE} (sitesweep-[A-Za-z0-9._-]{{1,160}}\.tar\.gz) ([0-9a-f]{{64}}) (\d{{1,15}})$"
)
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]+$")


def _sudo(become: bool) -> str:
    return "sudo -n " if become else ""


def candidates(python: str) -> Tuple[str, ...]:
    """The interpreters to try, in order: the host's own choice alone, or the default search."""
    return SEARCH if python == DEFAULT_PYTHON else (python,)


def prepare_command(python: str, base: str) -> str:
    """Find an interpreter >= 3.9, then make a private temp dir under ``base``.

    Prints ``OLD <name> <version>`` for each older one tried, ``PYTHON <path> <major>.<minor>``
    and then the temp dir. Each candidate's version is asked with ``-S -E -s`` (no site, no
    ``.pth``, no user site; also understood by Python 2), for at most 20 seconds where coreutils
    ``timeout`` exists (a hung interpreter is skipped). Without a usable one it exits
    :data:`TOO_OLD`, or :data:`NO_PYTHON` when none exists at all.
    """
    template = shlex.quote(f"{base.rstrip('/')}/{TEMP_PREFIX}XXXXXXXX")
    names = " ".join(shlex.quote(c) for c in candidates(python))
    major, minor = MIN_PYTHON
    return (
        "T=; command -v timeout >/dev/null 2>&1 && T='timeout -k 5 20'; "
        f"found=; old=; for p in {names}; do "
        'w=$(command -v "$p" 2>/dev/null) || continue; '
        f'v=$($T "$w" -S -E -s -c {shlex.quote(_VERSION_PROBE)} 2>/dev/null) || continue; '
        'case "$v" in *[!0-9.]*|"") continue;; esac; '
        f'if [ "${{v%%.*}}" -eq {major} ] && [ "${{v#*.}}" -ge {minor} ]; then '
        'found="$w $v"; break; fi; '
        'old="$old $p=$v"; done; '
        'for o in $old; do echo "OLD ${o%=*} ${o##*=}"; done; '
        f'if [ -z "$found" ]; then [ -n "$old" ] && exit {TOO_OLD}; exit {NO_PYTHON}; fi; '
        'echo "PYTHON $found"; '
        f"umask 077 && mktemp -d {template}"
    )


def parse_prepare(text: str) -> Tuple[Optional[Tuple[str, str]], Tuple[str, ...]]:
    """The interpreter (path, version) :func:`prepare_command` chose, and the too-old ones."""
    chosen: Optional[Tuple[str, str]] = None
    old = []
    for line in text.splitlines():
        found = _PYTHON_LINE.match(line.strip())
        if found and _SAFE_PATH.match(found.group(1)):
            chosen = (found.group(1), f"{found.group(2)}.{found.group(3)}")
        stale = _OLD_LINE.match(line.strip())
        if stale:
            old.append(f"{stale.group(1)} is {stale.group(2)}")
    return chosen, tuple(old)


def valid_temp_dir(text: str, base: str) -> Optional[str]:
    """The temp dir printed by :func:`prepare_command`, if it is one we made (else ``None``)."""
    lines = text.strip().splitlines()
    path = lines[-1].strip() if lines else ""
    expected = f"{base.rstrip('/')}/{TEMP_PREFIX}"
    if _SAFE_PATH.match(path) and path.startswith(expected) and "/" not in path[len(expected) :]:
        return path
    return None


def collect_command(
    temp: str,
    python: str,
    root: Optional[str],
    become: bool,
    timeout: int,
    extra: Tuple[str, ...] = (),
) -> str:
    """Run the agent with ``-I -S`` (no site, no user env) inside ``temp``, bounded in time.

    The agent runs as a child whose pid is kept in ``temp/agent.pid`` while it runs, so that the
    clean-up can stop it when the sweep is interrupted (the file is gone once it has ended).
    """
    agent = shlex.quote(f"{temp}/{AGENT_NAME}")
    out = shlex.quote(f"{temp}/{OUT_NAME}")
    pid = shlex.quote(f"{temp}/{PID_NAME}")
    root_arg = f" --root {shlex.quote(root)}" if root else ""
    root_arg += "".join(f" {shlex.quote(arg)}" for arg in extra)
    sudo = _sudo(become)
    chown = f'; {sudo}chown -R "$(id -u)" {out} 2>/dev/null' if become else ""
    return (
        f"cd {shlex.quote(temp)} || exit 1; T=; command -v timeout >/dev/null 2>&1 && "
        f'T="timeout -k 10 {int(timeout)}"; '
        f"{sudo}env TMPDIR={shlex.quote(temp)} $T {shlex.quote(python)} -I -S {agent} "
        f"collect --output {out}{root_arg} & echo $! > {pid}; wait $!; rc=$?; rm -f {pid}{chown}; "
        "exit $rc"
    )


def cleanup_command(temp: str, become: bool) -> str:
    """Stop the agent if it still runs, then remove the temp dir and everything in it.

    With become, the clean-up runs with ``sudo -n`` and, where sudo is refused, once more
    without it (what the login user pushed can be removed without sudo).
    """
    quoted = shlex.quote(temp)
    pid = shlex.quote(f"{temp}/{PID_NAME}")
    inner = (
        f"P=$(cat {pid} 2>/dev/null); case \"$P\" in *[!0-9]*|'') ;; *) "
        'kill -TERM "$P" 2>/dev/null; i=0; '
        'while kill -0 "$P" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done; '
        'kill -KILL "$P" 2>/dev/null;; esac; '
        f"rm -rf -- {quoted}"
    )
    if not become:
        return inner
    line = shlex.quote(inner)
    return f"sudo -n sh -c {line} 2>/dev/null || sh -c {line}"


def parse_bundle_line(stdout: bytes) -> Optional[Tuple[str, str, int]]:
    """Read ``SITESWEEP-BUNDLE name sha256 size`` from the agent's last output line."""
    try:
        lines = stdout.decode("ascii").strip().splitlines()
    except UnicodeDecodeError:
        return None
    if not lines:
        return None
    match = _BUNDLE.match(lines[-1].strip())
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3))
