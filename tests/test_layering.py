"""The direction of imports: outputs read the outcome module, never the checks or the engine.

``exports/`` and ``bundle/`` render and store what the checks decided; if they imported a check
(or the engine, which imports every check) they could re-judge, and every output would pull in
the whole matcher. Checked both statically (every import statement) and at run time (what
importing all of them loads).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Tuple

import sitesweep

PACKAGE = Path(sitesweep.__file__).parent
OUTPUT_PACKAGES = ("exports", "bundle")
FORBIDDEN = ("sitesweep.checks", "sitesweep.engine", "sitesweep.pipeline")


def _imports(path: Path) -> Iterator[Tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_no_output_module_imports_checks_or_engine() -> None:
    bad = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for package in OUTPUT_PACKAGES
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for line, name in _imports(path)
        if _forbidden(name)
    ]
    assert bad == []


def test_importing_every_output_module_loads_no_check() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import sitesweep.bundle, sitesweep.exports\n"
        "for pkg in (sitesweep.bundle, sitesweep.exports):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden)]"
        "\n"
        "print(sorted(bad))\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"


def test_the_outcome_module_imports_no_check() -> None:
    bad = [name for _line, name in _imports(PACKAGE / "outcome.py") if _forbidden(name)]
    assert bad == []
