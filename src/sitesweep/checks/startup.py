"""Code that runs at every interpreter start: executable ``.pth`` lines and customize hooks."""

from __future__ import annotations

from typing import Iterator, List

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.pth_grader import Grade, grade_pth_lines, grade_python_source
from sitesweep.metadata.model import HostFile
from sitesweep.model import Category, Evidence, Finding, Severity

_REMEDIATION = (
    "Read the file before anything else runs Python on this host: code in it runs at every "
    "interpreter start (pip, IDEs, cron jobs). Keep the evidence copy, then remove it."
)


def _evidence(file: HostFile, grade: Grade) -> List[Evidence]:
    items = [Evidence("sha256", file.sha256 or "unreadable"), Evidence("size", str(file.size))]
    items += [Evidence("feature", str(f)) for f in grade.features]
    items += [Evidence("reason", r) for r in grade.reasons]
    if grade.benign_pattern:
        items.append(Evidence("known benign pattern", grade.benign_pattern))
    return items


def _title(what: str, grade: Grade) -> str:
    if grade.severity.at_least(Severity.MEDIUM) and grade.reasons:
        return f"{what} runs suspicious code at every interpreter start: {grade.reasons[0]}"
    if grade.benign_pattern:
        return f"{what} runs code at interpreter start (known benign: {grade.benign_pattern})"
    return f"{what} runs code at every interpreter start"


def _excerpt(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class PthExecutableLines(Check):
    """A ``.pth`` file has lines that run code at every interpreter start.

    Graded by what the code does, not by the presence of ``import``: decoding and executing data,
    spawning processes or reaching the network is high even with no signature (the next incident
    will not be in a pack); the well-known benign hooks (setuptools' distutils shim, virtualenv,
    editable finders, namespace packages, coverage, pywin32) stay info or low.
    """

    id = "startup/pth-exec"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per .pth file with executable lines."""
        for pth in ctx.inventory.pth_files:
            lines = pth.exec_lines
            if not lines:
                continue
            grade = grade_pth_lines([(line.number, line.text) for line in lines])
            yield Finding(
                rule="heuristic/pth-exec",
                severity=grade.severity,
                category=Category.PTH,
                title=_title(".pth file", grade),
                paths=(pth.file.path,),
                environment=ctx.env_prefix(pth.file.path),
                evidence=(
                    *_evidence(pth.file, grade),
                    *(Evidence("exec line", _excerpt(ln.text), ln.number) for ln in lines),
                ),
                remediation=_REMEDIATION if grade.severity.at_least(Severity.MEDIUM) else None,
            )


class CustomizeHooks(Check):
    """A ``sitecustomize`` or ``usercustomize`` module is installed.

    Both run at every interpreter start. Presence alone is info (with the content hash, so a
    fleet can compare); suspicious content is graded like an executable ``.pth``, at least medium.
    """

    id = "startup/customize-hook"
    default_severity = Severity.INFO

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per hook."""
        for hook in ctx.inventory.startup_hooks:
            grade = grade_python_source(hook.text)
            severity = grade.severity
            if severity is Severity.LOW:
                severity = Severity.INFO
            yield Finding(
                rule=f"heuristic/{hook.name}",
                severity=severity,
                category=Category.STARTUP,
                title=_title(f"{hook.name} module", grade),
                paths=(hook.file.path,),
                environment=ctx.env_prefix(hook.file.path),
                evidence=tuple(_evidence(hook.file, grade)),
                remediation=_REMEDIATION if severity.at_least(Severity.MEDIUM) else None,
            )
