"""Files staged in temporary directories, graded by shape with no pack.

A hidden file holding a URL is a run-once sentinel of a downloader (litellm's ``/tmp/.pg_state``);
a hidden executable or script is a staged second stage; an archive whose members are credential
files, or encrypted blobs and a wrapped session key, are an exfiltration in progress (TeamPCP's
``tpcp.tar.gz``, ``payload.enc``, ``session.key.enc``). Ordinary temporary files (installer
scripts, wheels being built) stay low: they are listed, not judged.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.host.staging import StagedFile, StagedKind
from sitesweep.model import Category, Evidence, Finding, Severity

CREDENTIAL_MEMBERS = re.compile(
    r"(?:^|/)(?:\.ssh/|id_rsa|id_ed25519|id_ecdsa|\.aws/|credentials$|\.env$|\.npmrc$|"
    r"\.pypirc$|\.git-credentials$|\.kube/|kubeconfig|\.docker/config\.json|wallet|keystore|"
    r"Login Data|Cookies$|\.gnupg/|\.netrc$|shadow$|\.bash_history$|\.zsh_history$)",
    re.IGNORECASE,
)
"""Archive member names that are secrets a stealer collects."""


def grade_staged(staged: StagedFile) -> Tuple[Severity, Optional[str]]:
    """Return the severity of a staged file's shape and why (``None``: nothing to say)."""
    kind = staged.kind
    secrets = [m for m in staged.members if CREDENTIAL_MEMBERS.search(m)]
    if kind is StagedKind.ARCHIVE and secrets:
        return Severity.HIGH, f"archive holding credential files ({secrets[0]})"
    if kind is StagedKind.ENCRYPTED:
        return Severity.HIGH, "encrypted blob or wrapped key staged in a temporary directory"
    if staged.hidden and kind is StagedKind.URL_NOTE:
        return Severity.HIGH, f"hidden note holding a URL ({staged.url}): a downloader's state"
    if staged.hidden and kind in (StagedKind.EXECUTABLE, StagedKind.SCRIPT):
        return Severity.HIGH, f"hidden {kind} staged in a temporary directory"
    if kind in (StagedKind.EXECUTABLE, StagedKind.SCRIPT):
        return Severity.LOW, f"{kind} in a temporary directory"
    if staged.hidden and kind is StagedKind.SENTINEL:
        return Severity.LOW, "hidden marker file (a run-once sentinel?)"
    return Severity.INFO, None


_SYSTEM_MARKERS = re.compile(r"/\.X\d+-lock$|/\.(?:ICE|X11|font|XIM|Test)-unix")


def _marker(staged: StagedFile) -> bool:
    """A hidden run-once marker (tiny) or a hidden note holding a URL (X11 locks are not)."""
    kinds = (StagedKind.SENTINEL, StagedKind.URL_NOTE)
    return staged.hidden and staged.kind in kinds and not _SYSTEM_MARKERS.search(staged.path)


def _runnable(staged: StagedFile) -> bool:
    return staged.kind in (StagedKind.EXECUTABLE, StagedKind.SCRIPT)


class StagedInTemp(Check):
    """Sentinels, second stages or exfiltration archives sit in a temporary directory."""

    id = "file/staged-in-temp"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per staged file graded low or above."""
        staged_files = ctx.inventory.staged_files
        marked = {s.path.rpartition("/")[0] for s in staged_files if _marker(s)}
        staging = {s.path.rpartition("/")[0] for s in staged_files if _runnable(s)}
        for staged in staged_files:
            severity, why = grade_staged(staged)
            if why is None:
                continue
            directory = staged.path.rpartition("/")[0]
            if severity is Severity.LOW and directory in marked and directory in staging:
                severity = Severity.HIGH
                why = f"{why}, beside a second stage and a run-once marker in {directory}"
            evidence = [
                Evidence("kind", str(staged.kind)),
                Evidence("size", str(staged.size)),
                Evidence("hidden", "yes" if staged.hidden else "no"),
            ]
            evidence += [Evidence("member", m) for m in staged.members[:20]]
            yield Finding(
                rule="heuristic/staged-in-temp",
                severity=severity,
                category=Category.FILE,
                title=f"{staged.path}: {why}",
                paths=(staged.path,),
                evidence=tuple(evidence),
                remediation=(
                    "Keep a copy, then find what wrote it (its owner, its time against process "
                    "and shell history) before deleting it."
                    if severity.at_least(Severity.MEDIUM)
                    else None
                ),
            )
