"""The shell lines a sweep runs on a target (POSIX sh), every variable part quoted."""

from __future__ import annotations

import re
import shlex
from typing import Optional, Tuple

from sitesweep.agent import BUNDLE_LINE

NO_PYTHON = 97
"""Exit code of :func:`prepare_command` when the interpreter is missing on the target."""

TIMED_OUT = (124, 137)
"""Exit codes of coreutils ``timeout`` (time limit hit; killed after the grace period)."""

TEMP_PREFIX = "sitesweep."
AGENT_NAME = "agent.pyz"
OUT_NAME = "out"
_BUNDLE = re.compile(
    rf"^{BUNDLE_LINE} (sitesweep-[A-Za-z0-9._-]{{1,160}}\.tar\.gz) ([0-9a-f]{{64}}) (\d{{1,15}})$"
)
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]+$")


def _sudo(become: bool) -> str:
    return "sudo -n " if become else ""


def prepare_command(python: str, base: str) -> str:
    """Check the interpreter exists, then make a private temp dir under ``base``; print it."""
    template = shlex.quote(f"{base.rstrip('/')}/{TEMP_PREFIX}XXXXXXXX")
    return (
        f"command -v {shlex.quote(python)} >/dev/null 2>&1 || exit {NO_PYTHON}; "
        f"umask 077 && mktemp -d {template}"
    )


def valid_temp_dir(text: str, base: str) -> Optional[str]:
    """The temp dir printed by :func:`prepare_command`, if it is one we made (else ``None``)."""
    path = text.strip()
    expected = f"{base.rstrip('/')}/{TEMP_PREFIX}"
    if _SAFE_PATH.match(path) and path.startswith(expected) and "/" not in path[len(expected) :]:
        return path
    return None


def collect_command(temp: str, python: str, root: Optional[str], become: bool, timeout: int) -> str:
    """Run the agent with ``-I -S`` (no site, no user env) inside ``temp``, bounded in time."""
    agent = shlex.quote(f"{temp}/{AGENT_NAME}")
    out = shlex.quote(f"{temp}/{OUT_NAME}")
    root_arg = f" --root {shlex.quote(root)}" if root else ""
    sudo = _sudo(become)
    chown = f'; {sudo}chown -R "$(id -u)" {out} 2>/dev/null' if become else ""
    return (
        f"cd {shlex.quote(temp)} || exit 1; T=; command -v timeout >/dev/null 2>&1 && "
        f'T="timeout -k 10 {int(timeout)}"; '
        f"{sudo}env TMPDIR={shlex.quote(temp)} $T {shlex.quote(python)} -I -S {agent} "
        f"collect --output {out}{root_arg}; rc=$?{chown}; exit $rc"
    )


def cleanup_command(temp: str, become: bool) -> str:
    """Remove the temp dir and everything in it."""
    return f"{_sudo(become)}rm -rf -- {shlex.quote(temp)}"


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
