"""Known benign executable ``.pth`` lines: the :data:`BENIGN_PATTERNS` table and its lookup.

Popular packages ship executable ``.pth`` lines (setuptools, virtualenv, editable installs,
coverage, pytest-cov, debuggers, APM agents). Each is matched here against the whole stripped
line, so nothing can be appended to a benign line. A match only lowers unknown code to info: the
line is still analysed, and any bad feature it shows (beyond a pattern's pinned ``waives``)
counts. No regex here repeats a group, so none can backtrack catastrophically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Iterable, Optional, Tuple

from sitesweep.checks.pth_findings import LONG_LINE_CHARS, Feature


@dataclass(frozen=True)
class BenignPattern:
    """A known benign executable ``.pth`` line, matched against the whole stripped line.

    Attributes:
        name: stable name shown in findings.
        regex: matched with ``fullmatch``, so nothing can be appended to a benign line.
        shipped_by: who writes such lines, for reviewers.
        waives: features the exact, pinned text is known to have (only for fixed texts).
    """

    name: str
    regex: re.Pattern[str]
    shipped_by: str
    waives: FrozenSet[Feature] = frozenset()


# --- Known benign lines --------------------------------------------------------------------------
_NAME = r"'[A-Za-z0-9_.]*'"
_QUOTED = r"(?:'[^'\n]*'|\"[^\"\n]*\")"
_NSPKG = (
    r"import sys, types, os;(?:has_mfs = sys\.version_info > \(3, 5\);)?"
    r"p = os\.path\.join\((?:sys\._getframe\(1\)\.f_locals\['sitedir'\]|" + _QUOTED + r"), "
    r"\*\(['A-Za-z0-9_, ]*\)\);"
    r"(?:importlib = has_mfs and __import__\('importlib\.util'\);"
    r"has_mfs and __import__\('importlib\.machinery'\);)?"
    r"(?:ie = os\.path\.exists\(os\.path\.join\(p, ?'__init__\.py'\)\);)?"
    r"(?:m = (?:not ie and )?has_mfs and sys\.modules\.setdefault\(" + _NAME + r", "
    r"importlib\.util\.module_from_spec\(importlib\.machinery\.PathFinder\.find_spec\("
    + _NAME
    + r", \[os\.path\.dirname\(p\)\]\)\)\);)?"
    r"m = (?:m or )?(?:not ie and )?sys\.modules\.setdefault\("
    + _NAME
    + r", types\.ModuleType\("
    + _NAME
    + r"\)\);"
    r"mp = \(m or \[\]\) and m\.__dict__\.setdefault\('__path__', ?\[\]\);"
    r"\(p not in mp\) and mp\.append\(p\)"
    r"(?:;m and setattr\(sys\.modules\[" + _NAME + r"\], " + _NAME + r", m\))?"
)
# pytest-cov's .pth (src/pytest-cov.pth in pytest-dev/pytest-cov, several releases), as raw text.
_PYTEST_COV_REORDER = (
    r"try:\n import pkg_resources\nexcept ImportError:\n pass\nelse:\n def "
    r"reordered_iter_entry_points(group, name=None, __original=pkg_resources.iter_entry_points):"
    r"\n  if group == \'pytest11\' and name is None:\n   delayed_entrypoints = []\n   for ep in "
    r"__original(group):\n    if ep.name == \'pytest_cov\':\n     yield ep\n     for delayed_ep in "
    r"delayed_entrypoints:\n      yield delayed_ep\n     delayed_entrypoints = None\n    elif "
    r"delayed_entrypoints is None:\n     yield ep\n    else:\n     delayed_entrypoints.append(ep)"
    r"\n  else:\n   for ep in __original(group, name):\n    yield ep\n "
    r"pkg_resources.iter_entry_points = reordered_iter_entry_points\n"
)
_PYTEST_COV_INIT = (
    r"if \'COV_CORE_SOURCE\' in os.environ:\n try:\n  from pytest_cov.embed import init\n  init()"
    r"\n except Exception as exc:\n  sys.stderr.write(\n   "
    r'"pytest-cov: Failed to setup subprocess coverage. "\n   "Environ: {0!r} "\n   '
    r'"Exception: {1!r}\\n".format(\n    dict((k, v) for k, v in os.environ.items() '
    r"if k.startswith(\'COV_CORE\')),\n    exc\n   )\n  )\n"
)
_PYTEST_COV_OLD_INIT = (
    r"if \'COV_CORE_SOURCE\' in os.environ:\n try:\n  from pytest_cov.embed import init\n  init()"
    r'\n except ImportError as exc:\n  sys.stderr.write(\n   "Failed to setup coverage."\n   '
    r'"Sources: {[COV_CORE_SOURCE]!r}"\n   "Config: {[COV_CORE_CONFIG]!r}"\n   '
    r'"Exception: {!r}\\n".format(os.environ, exc))\n'
)
_PYTEST_COV = (
    re.escape("import os, sys;exec('")
    + "(?:"
    + re.escape(_PYTEST_COV_REORDER)
    + ")?"
    + "(?:"
    + re.escape(_PYTEST_COV_INIT)
    + "|"
    + re.escape(_PYTEST_COV_OLD_INIT)
    + ")"
    + re.escape("')")
)


def _benign(
    name: str, regex: str, shipped_by: str, waives: Iterable[Feature] = ()
) -> BenignPattern:
    """Build one table entry, compiling its regex."""
    return BenignPattern(name, re.compile(regex), shipped_by, frozenset(waives))


BENIGN_PATTERNS: Tuple[BenignPattern, ...] = (
    _benign(
        "setuptools-distutils-precedence",
        r"import os; ?(?:var = 'SETUPTOOLS_USE_DISTUTILS'; ?enabled = os\.environ\.get\(var, "
        r"'(?:local|stdlib)'\)|enabled = os\.environ\.get\('SETUPTOOLS_USE_DISTUTILS'"
        r"(?:, '(?:local|stdlib)')?\)) == 'local'; ?"
        r"enabled and __import__\('_distutils_hack'\)\.add_shim\(\);?",
        "setuptools >= 49.1 (distutils-precedence.pth)",
    ),
    _benign("virtualenv", r"import _virtualenv", "virtualenv and uv venvs (_virtualenv.pth)"),
    _benign(
        "setuptools-editable-finder",
        r"import (__editable___[A-Za-z0-9_]+_finder); ?\1\.install\(\)",
        "setuptools >= 64 editable installs (__editable__.<name>-<ver>.pth)",
    ),
    _benign("setuptools-nspkg", _NSPKG, "setuptools namespace packages (*-nspkg.pth)"),
    _benign("pywin32-bootstrap", r"import pywin32_bootstrap", "pywin32 >= 225 (pywin32.pth)"),
    _benign(
        "pywin32-system32-path",
        r"import os; ?os\.environ\[\"PATH\"\] ?\+= ?\(';' ?\+ ?os\.path\.join\(sitedir, ?"
        r"\"pywin32_system32\"\)\)",
        "pywin32 <= 224 (pywin32.pth)",
    ),
    _benign(
        "coverage-process-startup",
        r"import coverage; ?coverage\.process_startup\(\)",
        "coverage.py subprocess measurement, coverage-enable-subprocess",
    ),
    _benign(
        "easy-install-prologue", r"import sys; ?sys\.__plen ?= ?len\(sys\.path\)", "easy_install"
    ),
    _benign(
        "easy-install-epilogue",
        r"import sys; ?new ?= ?sys\.path\[sys\.__plen:\]; ?del sys\.path\[sys\.__plen:\]; ?"
        r"p ?= ?getattr\(sys, ?'__egginsert', ?0\); ?sys\.path\[p:p\] ?= ?new; ?"
        r"sys\.__egginsert ?= ?p ?\+ ?len\(new\)",
        "easy_install (easy-install.pth)",
    ),
    _benign(
        "pytest-cov-subprocess",
        _PYTEST_COV,
        "pytest-cov < 7 (pytest-cov.pth); filters os.environ for COV_CORE_* in an error message",
        waives=(Feature.ENV_HARVEST,),
    ),
    _benign(
        "pip-system-certs",
        r"import (pip_system_certs(?:\.[a-z_]+)?)(?:; ?\1\.[a-z_]+\(\))?",
        "pip-system-certs (pip_system_certs.pth)",
    ),
    _benign(
        "certificate-injector",
        r"import ((?:certifi_win32|truststore)[A-Za-z0-9_.]*)"
        r"(?:; ?\1\.[A-Za-z_][A-Za-z0-9_]*\(\))?",
        "python-certifi-win32 and truststore injectors",
    ),
    _benign(
        "debugger-hook",
        r"import ((?:_pydevd_bundle|_pydev_bundle|_pydevd_frame_eval|pydevd|debugpy)"
        r"[A-Za-z0-9_.]*)(?:; ?\1\.[A-Za-z_][A-Za-z0-9_]*\(\))?",
        "pydevd / PyCharm / debugpy attach hooks",
    ),
    _benign(
        "editables-redirector",
        r"import _editable_impl_[A-Za-z0-9_]+",
        "editables library (hatchling dev-mode-exact, pdm-backend)",
    ),
    _benign(
        "build-backend-editable-loader",
        r"import _[A-Za-z0-9_]+_editable(?:_loader)?",
        "scikit-build-core (_<pkg>_editable) and meson-python (_<pkg>_editable_loader)",
    ),
    _benign(
        "apm-bootstrap",
        r"import (?:ddtrace\.bootstrap\.sitecustomize|ddtrace\.auto|"
        r"newrelic\.bootstrap\.sitecustomize|"
        r"opentelemetry\.instrumentation\.auto_instrumentation\.sitecustomize)",
        "Datadog, New Relic and OpenTelemetry auto-instrumentation",
    ),
    _benign(
        "cuda-bindings-redirector",
        r"import _cuda_bindings_redirector",
        "NVIDIA cuda-bindings (_cuda_bindings_redirector.pth)",
    ),
    _benign(
        "pdbpp-hijack-pdb",
        r"import os; _pdbpp_path = os\.path\.sep \+ \"_pdbpp_path_hack\"|"
        r"import sys; ?sys\.path\.insert\(0, makepath\(sitedir, \"_pdbpp_path_hack\"\)\[0\]\) "
        r"if int\(os\.environ\.get\('PDBPP_HIJACK_PDB', 1\)\) and not "
        r"sys\.path\[0\]\.endswith\(_pdbpp_path\) else None|"
        r"import sys; ?sys\.path\.insert\(0, sys\.path\.pop\(\)\) if sys\.path\[-1\] == "
        r"makepath\(sitedir, \"_pdbpp_path_hack\"\)\[0\] else None",
        "pdbpp (pdbpp_hijack_pdb.pth)",
    ),
    _benign(
        "site-addsitedir",
        r"import site; ?site\.addsitedir\(" + _QUOTED + r"\)",
        "Homebrew and distro Pythons chaining another site dir",
    ),
    _benign(
        "sys-path-literal",
        r"import sys; ?sys\.path\.(?:insert\(0, ?|append\()" + _QUOTED + r"\)",
        "hand-written .pth files adding one literal path",
    ),
)
"""Every known benign executable line. A match only lowers unknown code to info: the line is
still analysed, and any bad feature it shows (beyond the pattern's pinned ``waives``) counts."""


def find_benign_pattern(line: str) -> Optional[BenignPattern]:
    """Return the known benign pattern that the whole (stripped) line matches, if any.

    Args:
        line: one executable ``.pth`` line.

    Returns:
        The first matching pattern, or ``None``.
    """
    text = line.strip()
    if len(text) > LONG_LINE_CHARS:
        return None
    return next((p for p in BENIGN_PATTERNS if p.regex.fullmatch(text)), None)
