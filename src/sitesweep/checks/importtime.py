"""Import-time code of installed packages and the shape of their releases, graded with no pack.

The next incident will not be in ``signatures/``. What its code does when imported, and what
its release carries, are visible anyway: a package ``__init__`` that downloads and runs a second
stage, a ``.pth`` whose one line imports a bundled module that does the work, a pure-Python
release that carries a native library or a JavaScript stealer with its own runtime.

Grading is by combination: a network fetch followed by exec or a process spawn is high, one of
them alone is low (plenty of packages spawn a compiler or fetch data lazily). Hidden code (exec
of decoded data, exec reached through a name built from pieces) and writes into startup
locations are high on their own. A module a ``.pth`` line runs is graded like the line: it runs
at every interpreter start, so spawning or reaching the network there is high.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Set, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.pth_findings import Feature
from sitesweep.metadata.importtime import ImportTimeModule, ModuleRole, PackageShape
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity

F = Feature
RUNS = frozenset({F.SPAWN_PROCESS, F.EXEC_DYNAMIC, F.DECODE_EXEC, F.OBFUSCATED_NAME})
"""What "runs" fetched data: exec/eval/compile, a process. Importing a module by a computed name
is a plugin loader's everyday work (matplotlib reads matplotlibrc, maybe from a URL, at import)."""
HIDDEN = frozenset({F.DECODE_EXEC, F.OBFUSCATED_NAME})
LOW_ALONE = frozenset({F.SPAWN_PROCESS, F.NETWORK, F.EXEC_DYNAMIC, F.ENV_HARVEST})
"""Features worth a low finding on their own (a responder may want the list)."""

_REMEDIATION = (
    "Read the module before anything imports the package again (any Python start may). Keep "
    "the evidence copy, compare it with the published release, and reinstall from a verified "
    "source or remove the package."
)
STEALER_TRAITS = frozenset({"reads credentials", "sends data out"})


def grade_module(module: ImportTimeModule) -> Tuple[Severity, str]:
    """Return the severity of a module's import-time traits and a phrase saying why."""
    features: Set[str] = set(module.features)
    at_start = module.role is ModuleRole.PTH_TARGET
    if module.unparsable:
        return (Severity.LOW, "does not parse as Python (it cannot be imported as it is)")
    fetch = F.NETWORK in features
    runs = features & RUNS
    if features & HIDDEN:
        return Severity.HIGH, "decodes and runs hidden code"
    if fetch and runs:
        return Severity.HIGH, "reaches the network and runs code or processes"
    if module.startup_writes:
        return Severity.HIGH, "writes into a startup location"
    if module.native_loads and module.pure_release:
        return Severity.HIGH, "a pure-Python release loads a native library"
    if at_start and features & {F.SPAWN_PROCESS, F.NETWORK}:
        return Severity.HIGH, "spawns processes or reaches the network at every interpreter start"
    if at_start and features & {F.EXEC_DYNAMIC, F.ENV_HARVEST}:
        return Severity.MEDIUM, "runs computed code or reads the environment at interpreter start"
    if features & LOW_ALONE or module.native_loads:
        return Severity.LOW, "does one thing worth knowing at import"
    return Severity.INFO, "runs at import"


def _module_evidence(module: ImportTimeModule) -> Tuple[Evidence, ...]:
    items = [
        Evidence("role", str(module.role)),
        Evidence("run by", module.via),
        Evidence("sha256", module.sha256),
        Evidence("size", str(module.size)),
    ]
    items += [Evidence("feature", f) for f in module.features]
    items += [Evidence("reason", r) for r in module.reasons]
    items += [Evidence("native load", n) for n in module.native_loads]
    items += [Evidence("startup location", w) for w in module.startup_writes]
    if module.pure_release is not None:
        items.append(Evidence("pure-Python release", "yes" if module.pure_release else "no"))
    return tuple(items)


class ImportTimeCode(Check):
    """Code that runs when a package is imported (or at every start, through a ``.pth``) downloads
    and runs a second stage, runs hidden code, or plants itself in a startup location."""

    id = "code/import-time"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per module graded low or above."""
        for module in ctx.inventory.import_modules:
            severity, why = grade_module(module)
            if severity is Severity.INFO:
                continue
            where = "a module a .pth runs" if module.role is ModuleRole.PTH_TARGET else "import"
            owner = f"{module.distribution} {module.version}" if module.distribution else "?"
            yield Finding(
                rule="heuristic/import-time-code",
                severity=severity,
                category=Category.FILE,
                title=f"{module.module} ({owner}): code run at {where} {why}",
                paths=(module.path, module.via) if module.via != module.path else (module.path,),
                environment=ctx.env_prefix(module.path),
                distribution=module.distribution,
                version=module.version,
                evidence=_module_evidence(module),
                remediation=_REMEDIATION if severity.at_least(Severity.MEDIUM) else None,
            )


def grade_shape(shape: PackageShape) -> Tuple[Severity, List[str]]:
    """Return the severity of what a package carries, and one sentence per anomaly."""
    why: List[str] = []
    severity = Severity.INFO
    if shape.native and shape.pure_release:
        why.append(f"a release tagged pure Python ({', '.join(shape.wheel_tags)}) carries "
                   f"{len(shape.native)} native code file(s)")  # fmt: skip
        severity = Severity.HIGH
    elif shape.native and shape.pure_release is None:
        why.append(f"carries {len(shape.native)} native code file(s); no WHEEL says what it is")
        severity = max(severity, Severity.LOW, key=lambda s: s.rank)
    if shape.runtimes:
        why.append("carries a JavaScript runtime binary (Bun/Node/Deno)")
        severity = Severity.HIGH
    stealers = [j for j in shape.js_files if set(j.traits) >= STEALER_TRAITS]
    if stealers:
        why.append(
            f"carries JavaScript that reads credentials and sends data out ({len(stealers)})"
        )
        severity = Severity.HIGH
    elif shape.js_files:
        why.append(f"carries {len(shape.js_files)} JavaScript file(s)")
        severity = max(severity, Severity.LOW, key=lambda s: s.rank)
    return severity, why


TOOL_PTH = frozenset({"_virtualenv", "distutils_precedence", "easy_install", "homebrew"})
"""``.pth`` files that tools (not distributions) write."""
_PTH_PREFIX = re.compile(r"^__editable__[._]{1,3}")
_PTH_SUFFIX = re.compile(r"(?:-nspkg|-\d[^/]*|[-_](?:init|setup|boot|hook|loader))$", re.I)


def pth_owner_names(stem: str) -> str:
    """The name a ``.pth`` file stands for: editable, version, namespace and ``_init``-like
    decorations removed, normalised like a distribution name."""
    name = _PTH_PREFIX.sub("", stem)
    for _ in range(3):
        name = _PTH_SUFFIX.sub("", name)
    return re.sub(r"[-_.]+", "_", name).lower()


class PthWithoutOwner(Check):
    """A ``.pth`` file with executable lines is named after no installed distribution (nothing
    installed explains it; the litellm ``.pth`` outlived the package that dropped it)."""

    id = "code/pth-without-owner"
    default_severity = Severity.LOW

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one low finding per unexplained executable ``.pth``."""
        names: dict[str, set[str]] = {}
        for dist in ctx.inventory.distributions:
            names.setdefault(dist.site_dir, set()).add(dist.name.replace("-", "_").lower())
        for module in ctx.inventory.import_modules:
            names.setdefault(module.site_dir, set()).add(module.module.split(".")[0].lower())
        for pth in ctx.inventory.pth_files:
            if not pth.exec_lines:
                continue
            stem = pth.file.path.rsplit("/", 1)[-1][: -len(".pth")]
            wanted = pth_owner_names(stem)
            known = names.get(pth.site_dir, set())
            if wanted in TOOL_PTH or any(
                wanted.startswith(n) or n.startswith(wanted) for n in known if n
            ):
                continue
            yield Finding(
                rule="heuristic/pth-without-owner",
                severity=Severity.LOW,
                category=Category.PTH,
                title=f"{pth.file.path} runs code at start-up and no installed distribution "
                f"is named like it",
                paths=(pth.file.path,),
                environment=ctx.env_prefix(pth.file.path),
                evidence=(Evidence("name stands for", wanted or stem),),
            )


class ReleaseShape(Check):
    """A pure-Python release carries native code, a JavaScript stealer or a JavaScript runtime."""

    id = "code/release-shape"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per package whose shape is graded low or above."""
        for shape in ctx.inventory.package_shapes:
            severity, why = grade_shape(shape)
            if severity is Severity.INFO:
                continue
            name = shape.package.rsplit("/", 1)[-1]
            owner = f"{shape.distribution} {shape.version}" if shape.distribution else "?"
            evidence = [Evidence("why", w) for w in why]
            evidence += [Evidence("wheel tag", t) for t in shape.wheel_tags]
            evidence += [Evidence("native", p) for p in shape.native]
            evidence += [Evidence("runtime", p) for p in shape.runtimes]
            evidence += [
                Evidence("javascript", f"{j.path} ({j.size} bytes): {', '.join(j.traits) or '-'}")
                for j in shape.js_files
            ]
            paths: Tuple[HostPath, ...] = (shape.package, *shape.runtimes, *shape.native[:5])
            yield Finding(
                rule="heuristic/release-shape",
                severity=severity,
                category=Category.PACKAGE,
                title=f"{name} ({owner}): {why[0]}",
                paths=paths,
                environment=ctx.env_prefix(shape.package),
                distribution=shape.distribution,
                version=shape.version,
                evidence=tuple(evidence),
                remediation=_REMEDIATION if severity.at_least(Severity.MEDIUM) else None,
            )
