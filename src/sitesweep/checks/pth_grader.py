"""Static grading of executable ``.pth`` lines and ``sitecustomize``/``usercustomize`` source.

``site.py`` executes every ``.pth`` line that starts with ``import `` or ``import\\t``, at every
interpreter start. litellm 1.82.8 abused this with ``litellm_init.pth``: one 34,628-byte line that
spawned ``sys.executable -c "exec(base64.b64decode(...))"``. Many popular packages ship benign
executable lines too (setuptools, virtualenv, editable installs, coverage), so a line is graded by
what its code *does*, never by the mere presence of ``import`` or ``exec``.

Nothing here executes or imports the text it grades. ``ast.parse`` only builds a syntax tree; when
it cannot (syntax errors, null bytes, absurd nesting) a bounded regex scan runs instead. Strings
that the code would execute (``exec('...')``, ``python -c '...'``, a base64 literal fed to
``exec``) are decoded as data and graded the same way, to a fixed depth. Inputs are capped at
1 MiB. No regex in this module repeats a group (``(...)*``, ``(...)+``, ``(...){n,}``); groups
are at most optional, so none can backtrack catastrophically. The public functions never raise.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bisect
import codecs
import itertools
import logging
import re
import warnings
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

from sitesweep.model import Severity, StrEnum

logger = logging.getLogger(__name__)

MAX_INPUT_CHARS = 1 << 20
"""Text beyond this (1 MiB) is not graded; its presence alone sets ``long_line``."""
LONG_LINE_CHARS = 4096
BLOB_MIN_CHARS = 200
MAX_NESTED_DEPTH = 4
"""How many layers of executed strings (exec of a literal, ``-c`` code, decoded payloads)."""
MAX_REASONS = 40
_MAX_OPERATORS = 5000
"""Above this many operators outside strings the syntax tree could nest too deep to build safely."""
_MAX_CODE_CHARS = 256 * 1024
_MAX_NODES = 100_000
"""Code or syntax trees bigger than these go to the text scan (real startup code is tiny)."""
_MAX_CHAIN = 64
_TEXT_HITS_PER_RULE = 3


class Feature(StrEnum):
    """A behaviour seen in startup code."""

    DECODE_EXEC = "decode_exec"
    EXEC_DYNAMIC = "exec_dynamic"
    SPAWN_PROCESS = "spawn_process"
    NETWORK = "network"
    ENCODED_BLOB = "encoded_blob"
    LONG_LINE = "long_line"
    FILE_WRITE = "file_write"
    ENV_HARVEST = "env_harvest"
    DYNAMIC_IMPORT = "dynamic_import"
    KNOWN_BENIGN = "known_benign"


HIGH_FEATURES = frozenset({Feature.DECODE_EXEC, Feature.SPAWN_PROCESS, Feature.NETWORK})
MEDIUM_FEATURES = frozenset(
    {
        Feature.ENCODED_BLOB,
        Feature.LONG_LINE,
        Feature.ENV_HARVEST,
        Feature.DYNAMIC_IMPORT,
        Feature.EXEC_DYNAMIC,
    }
)


@dataclass(frozen=True)
class Grade:
    """The verdict on a piece of startup code.

    Attributes:
        severity: high for decode-and-exec, process spawning or network use; medium for
            obfuscation-like traits; low for file writes or unknown code; info for known hooks.
        features: what the code does, sorted and unique.
        reasons: short human sentences naming each behaviour and its line.
        benign_pattern: name of the known benign pattern a line matched, if any.
    """

    severity: Severity
    features: Tuple[Feature, ...] = ()
    reasons: Tuple[str, ...] = ()
    benign_pattern: Optional[str] = None


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


# --- What code does, by dotted name -------------------------------------------------------------
# Tables are whitespace-separated names so that they stay short and greppable. In the *_NAMES
# tuples a trailing ``*`` is a prefix match; otherwise the name or any attribute below it matches.
def _words(text: str) -> Tuple[str, ...]:
    return tuple(text.split())


SPAWN_NAMES = _words(
    """subprocess.Popen subprocess.run subprocess.call subprocess.check_call
    subprocess.check_output subprocess.getoutput subprocess.getstatusoutput os.system os.popen
    os.exec* os.spawn* os.posix_spawn* os.fork os.forkpty os.startfile pty.spawn pty.fork
    commands.* popen2.* platform.popen asyncio.create_subprocess_*"""
)
SPAWN_TERMINALS = frozenset(_words("Popen check_output getstatusoutput create_subprocess_shell"))
NETWORK_NAMES = _words(
    """socket.* ssl.wrap_socket urllib.request.* urllib.urlopen urllib.urlretrieve urllib2.*
    http.client.* httplib.* requests.* httpx.* urllib3.* aiohttp.* ftplib.* smtplib.* telnetlib.*
    xmlrpc.client.* paramiko.* websocket.* websockets.* pycurl.* asyncio.open_connection
    dns.resolver.*"""
)
NETWORK_TERMINALS = frozenset(_words("urlopen urlretrieve create_connection gethostbyname"))
DYNAMIC_IMPORT_NAMES = _words(
    """importlib.import_module importlib.__import__ importlib.reload imp.load_* runpy.run_path
    runpy.run_module importlib.util.spec_from_file_location importlib.machinery.SourceFileLoader
    importlib.machinery.SourcelessFileLoader importlib.machinery.ExtensionFileLoader
    zipimport.zipimporter ctypes.CDLL ctypes.PyDLL ctypes.WinDLL ctypes.OleDLL ctypes.cdll
    ctypes.windll ctypes.pydll"""
)
FILE_WRITE_NAMES = _words(
    """os.remove os.unlink os.rmdir os.removedirs os.rename os.renames os.replace os.chmod
    os.lchmod os.fchmod os.chown os.lchown os.fchown os.truncate os.ftruncate os.symlink os.link
    os.mkfifo os.mknod os.write shutil.rmtree shutil.move shutil.copy* shutil.chown
    shutil.unpack_archive"""
)
FILE_WRITE_METHODS = frozenset(
    _words("write_text write_bytes unlink chmod lchmod touch symlink_to hardlink_to")
)
OPEN_CALLS = frozenset(_words("open io.open codecs.open os.fdopen gzip.open bz2.open lzma.open"))
CODE_LOADERS = _words(
    """marshal.loads marshal.load pickle.loads pickle.load _pickle.loads cPickle.loads dill.loads
    cloudpickle.loads"""
)
EXEC_CALLS = frozenset(_words("exec eval compile execfile"))
DECODERS: Dict[str, str] = {
    name: label
    for label, names in (
        ("base64", "b64decode standard_b64decode urlsafe_b64decode decodebytes decodestring"),
        ("base64", "a2b_base64"),
        ("base32", "b32decode b32hexdecode"),
        ("hex", "b16decode a2b_hex unhexlify fromhex"),
        ("base85", "b85decode a85decode z85decode"),
        ("uu", "a2b_uu"),
        ("quoted-printable", "a2b_qp"),
        ("zlib", "decompress decompressobj"),
    )
    for name in names.split()
}
"""Decoding functions by their last name component, with the word used in reasons."""
CODEC_NAMES = frozenset(
    _words(
        """base64 base_64 base64_codec hex hex_codec rot13 rot_13 zlib zip zlib_codec bz2
        bz2_codec uu uu_codec quopri quopri_codec"""
    )
)
ENV_OBJECTS = frozenset(_words("os.environ os.environb posix.environ nt.environ"))
ENV_SINGLE_KEY_ATTRS = frozenset(
    _words("get setdefault pop update __getitem__ __setitem__ __delitem__ __contains__")
)
BUILTIN_NAMESPACES = frozenset(
    _words(
        """builtins __builtins__ __builtin__ builtins.__dict__ __builtins__.__dict__
        __builtin__.__dict__ globals()"""
    )
)
SENSITIVE_MODULES = frozenset(
    _words("os posix nt subprocess builtins __builtins__ importlib socket sys pty ctypes marshal")
)

_URL = re.compile(r"\b(?:https?|ftp)://[^\s'\"]{0,60}", re.IGNORECASE)
_FETCHER = re.compile(r"\b(?:curl|wget)\b|/dev/tcp/")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")
_C_FLAG = re.compile(r"-[A-Za-z]{0,4}c")
_PYTHON_EXE = re.compile(r"(?:.*[/\\])?python[0-9.]{0,5}(?:\.exe)?", re.IGNORECASE)
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)

# --- Text scan used when the code cannot be parsed -----------------------------------------------
_FALLBACK_RULES: Tuple[Tuple[Feature, str, re.Pattern[str]], ...] = (
    (Feature.SPAWN_PROCESS, "subprocess use", re.compile(r"\bsubprocess\b|\bPopen\b")),
    (
        Feature.SPAWN_PROCESS,
        "os process call",
        re.compile(r"\bos\s*\.\s*(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?|fork)\b"),
    ),
    (Feature.SPAWN_PROCESS, "pty.spawn", re.compile(r"\bpty\s*\.\s*spawn\b")),
    (Feature.NETWORK, "socket use", re.compile(r"\bsocket\s*\.")),
    (
        Feature.NETWORK,
        "network client",
        re.compile(
            r"\b(?:urlopen|urlretrieve|urllib|http\.client|httplib|httpx|urllib3|aiohttp|ftplib|"
            r"smtplib|telnetlib|paramiko)\b|\brequests\s*\.\s*(?:get|post|put|request|Session)\b"
        ),
    ),
    (Feature.NETWORK, "URL", _URL),
    (Feature.NETWORK, "curl/wget", _FETCHER),
    (
        Feature.FILE_WRITE,
        "file write",
        re.compile(
            r"\bwrite_(?:text|bytes)\s*\(|\bos\s*\.\s*(?:remove|unlink|rmdir|rename|replace|chmod|"
            r"chown|truncate)\s*\(|\bshutil\s*\.\s*(?:rmtree|move|copy\w{0,8})\s*\(|"
            r"\bopen\s*\([^)\n]{0,300}?['\"][rbt]{0,2}[wax+]"
        ),
    ),
    (
        Feature.ENV_HARVEST,
        "whole-environment read",
        re.compile(
            r"\bos\s*\.\s*environb?\s*\.\s*(?:items|keys|values|copy)\s*\(|"
            r"\b(?:dict|str|repr|list|tuple|sorted|dumps|print)\s*\(\s*os\s*\.\s*environb?\s*\)|"
            r"\*\*\s*os\s*\.\s*environ|\bfor\s+\w+\s+in\s+os\s*\.\s*environ\b"
        ),
    ),
    (
        Feature.DYNAMIC_IMPORT,
        "dynamic import",
        re.compile(
            r"\bimport_module\s*\(|\b__import__\s*\(\s*[^'\"\s)]|\bload_source\s*\(|"
            r"\brun_path\s*\(|\bspec_from_file_location\s*\("
        ),
    ),
)
_EXEC_TEXT = re.compile(r"\b(?:exec|eval|execfile)\s*\(|\bcompile\s*\(")
_DECODER_TEXT = re.compile(
    r"\b(?:b64decode|b32decode|b16decode|b85decode|a85decode|decodebytes|decodestring|a2b_base64|"
    r"a2b_hex|unhexlify|fromhex|decompress|marshal|pickle|rot_?13)\b|\bcodecs\s*\.\s*decode\b"
)
_EXECUTABLE_MINUS_C = re.compile(r"\bsys\s*\.\s*executable\b[^\n]{0,200}?['\"]-c['\"]")
# Each run may only start where the previous character is outside its class: linear time.
_BLOB_TEXT = re.compile(
    r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{200,}|"
    r"(?<![\\x0-9A-Fa-f])[\\x0-9A-Fa-f]{200,}"
)
_STRING_START = re.compile(r"[\"'#]")
_NESTING_OPERATORS = "([{.+-*/%~&|^<>@"
_NO_NAMES: FrozenSet[str] = frozenset()


class _Budget:
    """Characters of decoded payload still allowed for one grading call."""

    def __init__(self, chars: int) -> None:
        self.chars = chars


class _Findings:
    """Features with their reasons, in discovery order."""

    def __init__(self) -> None:
        self.entries: List[Tuple[Optional[Feature], str]] = []
        self._seen: Set[Tuple[Optional[Feature], str]] = set()

    @property
    def features(self) -> Set[Feature]:
        return {f for f, _ in self.entries if f is not None}

    def add(self, feature: Optional[Feature], reason: str) -> None:
        key = (feature, reason)
        if key not in self._seen:
            self._seen.add(key)
            self.entries.append(key)

    def extend(self, other: _Findings, waived: FrozenSet[Feature] = frozenset()) -> None:
        for feature, reason in other.entries:
            if feature not in waived:
                self.add(feature, reason)

    def reasons(self) -> Tuple[str, ...]:
        texts = [reason for _, reason in self.entries]
        if len(texts) > MAX_REASONS:
            texts = [*texts[: MAX_REASONS - 1], f"... and {len(texts) - MAX_REASONS + 1} more"]
        return tuple(texts)


def _matches(dotted: str, names: Iterable[str]) -> bool:
    for name in names:
        if name.endswith("*"):
            if dotted.startswith(name[:-1]):
                return True
        elif dotted == name or dotted.startswith(name + "."):
            return True
    return False


def _str_value(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, bytes):
            return node.value.decode("latin-1")
    return None


def _encoded_kind(text: str) -> Optional[str]:
    if len(text) < BLOB_MIN_CHARS:
        return None
    chars = set(text) - {"\n", "\r", " ", "\t"}
    if len(chars) < 10:
        return None
    if chars <= _HEX_CHARS:
        return "hex"
    return "base64" if chars <= _B64_CHARS else None


def _network_in_text(text: str) -> Optional[str]:
    url = _URL.search(text)
    if url:
        return f"URL {url.group(0)!r}"
    fetcher = _FETCHER.search(text)
    if fetcher:
        return f"{fetcher.group(0)!r} in a string"
    for match in _IPV4.finditer(text):
        if all(int(part) <= 255 for part in match.groups()):
            return f"IP address {match.group(0)}"
    return None


def _code_outside_strings(text: str) -> str:
    """Return ``text`` with string literals and comments removed (a rough, linear-time pass)."""
    out: List[str] = []
    pos, size = 0, len(text)
    while pos < size:
        match = _STRING_START.search(text, pos)
        if match is None:
            out.append(text[pos:])
            break
        start = match.start()
        out.append(text[pos:start])
        if text[start] == "#":
            end = text.find("\n", start)
            pos = size if end < 0 else end
            continue
        quote = text[start] * 3 if text.startswith(text[start] * 3, start) else text[start]
        pos = _string_end(text, start + len(quote), quote)
    return "".join(out)


def _string_end(text: str, pos: int, quote: str) -> int:
    size = len(text)
    newline = text.find("\n", pos) if len(quote) == 1 else -1
    while pos < size:
        end = text.find(quote, pos)
        if end < 0:
            return size if newline < 0 else newline
        if 0 <= newline < end:
            return newline
        back = end - 1
        while back >= pos and text[back] == "\\":
            back -= 1
        if (end - 1 - back) % 2 == 0:
            return end + len(quote)
        pos = end + 1
    return size


def _too_complex(text: str) -> Optional[str]:
    """Say why ``text`` should not be parsed (too much code, or operators enough to nest too
    deep for the C parser on older Pythons); ``None`` if parsing is safe and cheap."""
    if len(text) <= _MAX_OPERATORS:
        return None
    code = _code_outside_strings(text)
    if len(code) > _MAX_CODE_CHARS:
        return "too large"
    count = sum(code.count(ch) for ch in _NESTING_OPERATORS)
    if count + code.count("not ") + code.count("lambda") > _MAX_OPERATORS:
        return "too complex"
    return None


def _printable(text: str) -> bool:
    if not text:
        return False
    good = sum(1 for ch in text[:4096] if ch.isprintable() or ch in "\n\r\t")
    return good >= 0.9 * min(len(text), 4096)


def _decode_literal(terminal: str, codec: Optional[str], raw: str) -> Optional[str]:
    """Decode a literal the way a base64/hex/rot13 decoder would; ``None`` if it does not."""
    data: bytes
    try:
        if codec in ("rot13", "rot_13"):
            return codecs.decode(raw, "rot13")
        compact = "".join(raw.split())
        if DECODERS.get(terminal) == "base64" or codec in ("base64", "base_64", "base64_codec"):
            padded = compact + "=" * (-len(compact) % 4)
            altchars = b"-_" if terminal == "urlsafe_b64decode" else None
            data = base64.b64decode(padded, altchars=altchars)
        elif DECODERS.get(terminal) == "hex" or codec in ("hex", "hex_codec"):
            data = binascii.unhexlify(compact)
        elif DECODERS.get(terminal) == "base32":
            data = base64.b32decode(compact + "=" * (-len(compact) % 8))
        else:
            return None
    except (binascii.Error, ValueError, TypeError, LookupError):
        return None
    return data.decode("utf-8", "replace")


class _Scanner:
    """Grades one piece of Python text, recursing into the strings it would execute."""

    def __init__(
        self, findings: _Findings, *, line: Optional[int], depth: int, context: str, budget: _Budget
    ) -> None:
        self.findings = findings
        self.fixed_line = line
        self.depth = depth
        self.context = context
        self.budget = budget
        self.aliases: Dict[str, str] = {}
        self.stars: List[str] = []
        self.tainted: Dict[str, str] = {}
        self.parents: Dict[int, ast.AST] = {}
        self.statements: Optional[int] = None

    # -- plumbing --------------------------------------------------------------------------------
    def _line(self, node: Optional[ast.AST] = None, physical: int = 1) -> int:
        if self.fixed_line is not None:
            return self.fixed_line
        return int(getattr(node, "lineno", physical)) if node is not None else physical

    def add(self, feature: Optional[Feature], message: str, line: int) -> None:
        self.findings.add(feature, f"{self.context}{message} at line {line}")

    def scan(self, text: str) -> None:
        """Grade ``text``: from its syntax tree when it parses, else by a text scan."""
        tree: Optional[ast.Module] = None
        refusal = _too_complex(text)
        if refusal:
            self.add(None, f"{refusal} to parse; graded by text scan", self._line())
        else:
            try:
                with warnings.catch_warnings():
                    # Invalid escapes and the like warn while parsing; they are not ours to report.
                    warnings.simplefilter("ignore")
                    tree = ast.parse(text)
            except _PARSE_ERRORS:
                self.add(None, "not valid Python; graded by text scan", self._line())
        nodes = _bounded_walk(tree) if tree is not None else None
        if tree is not None and nodes is None:
            self.add(None, "too large to analyse; graded by text scan", self._line())
        if tree is None or nodes is None:
            self._scan_text(text)
            return
        self.statements = len(tree.body)
        for node in nodes:
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
        self._collect_names(nodes)
        for node in nodes:
            self._visit(node)

    def _nested(self, text: str, line: int, what: str) -> None:
        if self.depth >= MAX_NESTED_DEPTH:
            self.add(None, f"{what} nested too deep to follow", line)
            return
        inner = _Scanner(
            self.findings,
            line=line,
            depth=self.depth + 1,
            context=f"{self.context}{what}: ",
            budget=self.budget,
        )
        inner.scan(text)

    # -- text scan -------------------------------------------------------------------------------
    def _scan_text(self, text: str) -> None:
        """Regex scan, one pass per rule over the whole text; a few hits per rule are reported."""
        starts = [0, *(m.end() for m in re.finditer("\n", text))]

        def line_at(pos: int) -> int:
            return self._line(physical=bisect.bisect_right(starts, pos))

        rules = (
            *_FALLBACK_RULES,
            (Feature.SPAWN_PROCESS, "sys.executable -c", _EXECUTABLE_MINUS_C),
        )
        for feature, label, regex in rules:
            for match in itertools.islice(regex.finditer(text), _TEXT_HITS_PER_RULE):
                self.add(feature, f"text scan: {label}", line_at(match.start()))
        for match in itertools.islice(_EXEC_TEXT.finditer(text), 10 * _TEXT_HITS_PER_RULE):
            pos = match.start()
            start = starts[bisect.bisect_right(starts, pos) - 1]
            end = text.find("\n", pos)
            decoded = _DECODER_TEXT.search(text, start, len(text) if end < 0 else end)
            if decoded:
                what = f"text scan: exec of {decoded.group(0)} data"
                self.add(Feature.DECODE_EXEC, what, line_at(pos))
            else:
                self.add(Feature.EXEC_DYNAMIC, "text scan: exec/eval/compile", line_at(pos))
        for match in _BLOB_TEXT.finditer(text):
            if _encoded_kind(match.group(0)):
                what = f"encoded run of {len(match.group(0))} characters"
                self.add(Feature.ENCODED_BLOB, what, line_at(match.start()))
                break

    # -- names -----------------------------------------------------------------------------------
    def _collect_imports(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    self.stars.append(node.module)
                else:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _collect_names(self, nodes: Sequence[ast.AST]) -> None:
        """Record import aliases, then names bound to modules or to decoded data (two passes)."""
        assigns: List[Tuple[str, ast.expr]] = []
        for node in nodes:
            self._collect_imports(node)
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is not None:
                    assigns.extend((name, node.value) for name in _target_names(targets))
        for _ in range(2):
            for name, value in assigns:
                resolved = self._resolve(_last_operand(value))
                if resolved and resolved != name and name not in self.aliases:
                    self.aliases[name] = resolved
                label = self._decoding_label(value)
                if label and name not in self.tainted:
                    self.tainted[name] = label

    def _resolve(self, node: ast.AST, depth: int = 0) -> Optional[str]:
        """Return the dotted name an expression refers to (``os.system``), or ``None``."""
        parts: List[str] = []
        current = node
        for _ in range(_MAX_CHAIN):
            if isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
                continue
            base = self._resolve_base(current, depth)
            if base is None:
                return None
            parts.append(base)
            dotted = ".".join(reversed(parts))
            for prefix in ("builtins.", "__builtins__.", "__builtin__."):
                if dotted.startswith(prefix) and dotted != prefix + "__dict__":
                    dotted = dotted[len(prefix) :]
            return dotted
        return None

    def _resolve_base(self, node: ast.AST, depth: int) -> Optional[str]:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if depth > 20:
            return None
        if isinstance(node, ast.Call):
            return self._resolve_call(node, depth)
        if isinstance(node, ast.Subscript):
            key = _str_value(node.slice)
            owner = self._resolve(node.value, depth + 1)
            if not key or not owner:
                return None
            if owner == "sys.modules" or owner in BUILTIN_NAMESPACES:
                return key
            if owner.endswith(".__dict__"):
                return f"{owner[: -len('.__dict__')]}.{key}"
        return None

    def _resolve_call(self, node: ast.Call, depth: int) -> Optional[str]:
        """What a call evaluates to, for calls that name a module or attribute literally."""
        func = self._resolve(node.func, depth + 1)
        first = _str_value(node.args[0]) if node.args else None
        if func == "__import__" and first:
            return first if len(node.args) >= 4 else first.split(".")[0]
        if func == "importlib.import_module" and first:
            return first
        if func == "getattr" and len(node.args) >= 2:
            attr = _str_value(node.args[1])
            obj = self._resolve(node.args[0], depth + 1)
            return f"{obj}.{attr}" if obj and attr else None
        if func in ("globals", "locals"):
            return "globals()"
        if func == "vars" and node.args:
            owner = self._resolve(node.args[0], depth + 1)
            return f"{owner}.__dict__" if owner else None
        return None

    def _candidates(self, dotted: str) -> List[str]:
        return [dotted, *(f"{module}.{dotted}" for module in self.stars)]

    # -- visiting --------------------------------------------------------------------------------
    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call):
            self._visit_call(node)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            self._visit_reference(node)
        elif isinstance(node, ast.Subscript):
            owner = self._resolve(node.value)
            if owner in BUILTIN_NAMESPACES and _str_value(node.slice) is None:
                self.add(Feature.EXEC_DYNAMIC, f"computed lookup in {owner}", self._line(node))
        elif isinstance(node, ast.Constant):
            self._visit_constant(node)
        elif isinstance(node, (ast.List, ast.Tuple)):
            self._visit_argv(node)

    def _visit_reference(self, node: Union[ast.Name, ast.Attribute]) -> None:
        dotted = self._resolve(node)
        if dotted is None:
            return
        parent = self.parents.get(id(node))
        if dotted in ENV_OBJECTS:
            self._check_environ(node, parent, dotted)
        if isinstance(parent, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            return
        called = isinstance(parent, ast.Call) and parent.func is node
        line = self._line(node)
        self._check_reference(dotted, line, called)
        if dotted in EXEC_CALLS and not called:
            self.add(Feature.EXEC_DYNAMIC, f"{dotted} used other than by a direct call", line)
        if dotted == "__import__" and not called:
            self.add(Feature.DYNAMIC_IMPORT, "__import__ used other than by a direct call", line)

    def _check_reference(self, dotted: str, line: int, called: bool) -> None:
        if not called and dotted.rsplit(".", 1)[-1].isupper():
            return  # a constant such as socket.AF_INET or subprocess.PIPE does nothing by itself
        verb = "call to" if called else "reference to"
        rules: Tuple[Tuple[Feature, Tuple[str, ...], FrozenSet[str]], ...] = (
            (Feature.SPAWN_PROCESS, SPAWN_NAMES, SPAWN_TERMINALS),
            (Feature.NETWORK, NETWORK_NAMES, NETWORK_TERMINALS),
            (Feature.DYNAMIC_IMPORT, DYNAMIC_IMPORT_NAMES, _NO_NAMES),
            (Feature.FILE_WRITE, FILE_WRITE_NAMES, _NO_NAMES),
            (Feature.DECODE_EXEC, CODE_LOADERS, _NO_NAMES),
        )
        for feature, names, terminals in rules:
            for candidate in self._candidates(dotted):
                if _matches(candidate, names) or candidate.rsplit(".", 1)[-1] in terminals:
                    self.add(feature, f"{verb} {candidate}", line)
                    break

    def _check_environ(
        self, node: Union[ast.Name, ast.Attribute], parent: Optional[ast.AST], dotted: str
    ) -> None:
        if not isinstance(node.ctx, ast.Load) or _is_single_key_use(node, parent):
            return
        if isinstance(parent, ast.Attribute):
            what = f"{dotted}.{parent.attr}"
        else:
            what = f"{dotted} as a whole"
        self.add(Feature.ENV_HARVEST, f"reads {what}", self._line(node))

    def _visit_call(self, node: ast.Call) -> None:
        dotted = self._resolve(node.func)
        line = self._line(node)
        if dotted in EXEC_CALLS:
            self._check_exec(node, dotted or "exec", line)
        elif dotted == "__import__":
            if _str_value(node.args[0] if node.args else None) is None:
                self.add(Feature.DYNAMIC_IMPORT, "__import__ of a computed name", line)
        elif dotted == "getattr" and len(node.args) >= 2 and _str_value(node.args[1]) is None:
            owner = self._resolve(node.args[0]) or ""
            if owner.split(".")[0] in SENSITIVE_MODULES or owner in BUILTIN_NAMESPACES:
                self.add(Feature.DYNAMIC_IMPORT, f"getattr of a computed name on {owner}", line)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if dotted in OPEN_CALLS or (dotted is None and method == "open"):
            self._check_open(node, 1 if dotted in OPEN_CALLS else 0, line)
        if method in FILE_WRITE_METHODS and not (dotted and _matches(dotted, FILE_WRITE_NAMES)):
            self.add(Feature.FILE_WRITE, f"call to .{method}()", line)
        if dotted and not isinstance(node.func, (ast.Name, ast.Attribute)):
            self._check_reference(dotted, line, called=True)

    def _check_open(self, node: ast.Call, mode_index: int, line: int) -> None:
        mode_node = node.args[mode_index] if len(node.args) > mode_index else None
        for keyword in node.keywords:
            if keyword.arg == "mode":
                mode_node = keyword.value
        mode = _str_value(mode_node)
        if mode and any(ch in mode for ch in "wax+"):
            self.add(Feature.FILE_WRITE, f"open(..., {mode!r})", line)

    def _check_exec(self, node: ast.Call, name: str, line: int) -> None:
        arg: Optional[ast.expr] = node.args[0] if node.args else None
        for keyword in node.keywords:
            if keyword.arg in ("source", "object") and arg is None:
                arg = keyword.value
        if arg is None:
            return
        literal = _str_value(arg)
        if literal is not None:
            self._nested(literal, line, f"string run by {name}")
            return
        if isinstance(arg, ast.Call) and self._resolve(arg.func) == "compile":
            return  # graded as its own call
        label = self._decoding_label(arg)
        if label is None:
            self.add(Feature.EXEC_DYNAMIC, f"{name} of a computed value", line)
            return
        self.add(Feature.DECODE_EXEC, f"{name} of {label}-decoded data", line)
        for what, payload in self._payloads(arg):
            self._nested(payload, line, what)

    # -- decoding --------------------------------------------------------------------------------
    def _decoder(self, call: ast.Call) -> Optional[Tuple[str, str, Optional[str]]]:
        """Return (label, terminal name, codec) if ``call`` decodes data."""
        dotted = self._resolve(call.func)
        if dotted is None and isinstance(call.func, ast.Attribute):
            dotted = call.func.attr
        if dotted is None:
            return None
        terminal = dotted.rsplit(".", 1)[-1]
        if _matches(dotted, CODE_LOADERS):
            return dotted.split(".")[0].lstrip("_"), terminal, None
        if terminal in DECODERS:
            module = dotted.split(".")[0]
            label = module if module in ("lzma", "bz2", "gzip") else DECODERS[terminal]
            return label, terminal, None
        if terminal == "decode":
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                codec = (_str_value(arg) or "").lower().replace("-", "_")
                if codec in CODEC_NAMES:
                    return codec, terminal, codec
        return None

    def _decoding_label(self, expr: ast.AST) -> Optional[str]:
        for index, sub in enumerate(ast.walk(expr)):
            if index > 10_000:
                break
            if isinstance(sub, ast.Call):
                found = self._decoder(sub)
                if found:
                    return found[0]
            elif isinstance(sub, ast.Name) and sub.id in self.tainted:
                return self.tainted[sub.id]
        return None

    def _payloads(self, expr: ast.AST) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        for sub in ast.walk(expr):
            if not isinstance(sub, ast.Call) or not sub.args:
                continue
            found = self._decoder(sub)
            raw = _str_value(sub.args[0])
            if not found or raw is None or len(raw) > self.budget.chars:
                continue
            text = _decode_literal(found[1], found[2], raw)
            if text is not None and _printable(text):
                self.budget.chars -= len(raw)
                out.append((f"{found[0]} payload", text))
        return out

    # -- literals --------------------------------------------------------------------------------
    def _visit_constant(self, node: ast.Constant) -> None:
        text = _str_value(node)
        if text is None:
            return
        line = self._line(node)
        kind = _encoded_kind(text)
        if kind:
            self.add(Feature.ENCODED_BLOB, f"{kind}-like string of {len(text)} characters", line)
        if isinstance(self.parents.get(id(node)), ast.Expr):
            return  # a docstring or bare string does nothing; URLs in prose are not network use
        network = _network_in_text(text)
        if network:
            self.add(Feature.NETWORK, network, line)

    def _visit_argv(self, node: Union[ast.List, ast.Tuple]) -> None:
        elements = node.elts
        for index, element in enumerate(elements):
            flag = _str_value(element)
            if flag is None or not _C_FLAG.fullmatch(flag):
                continue
            line = self._line(node)
            interpreters = [self._argv_interpreter(e) for e in elements[:index]]
            named = next((i for i in interpreters if i), None)
            if named:
                self.add(Feature.SPAWN_PROCESS, f"{named} {flag} command line", line)
            code = _str_value(elements[index + 1]) if index + 1 < len(elements) else None
            if code is not None:
                self._nested(code, line, f"{flag} code")
            return

    def _argv_interpreter(self, element: ast.expr) -> Optional[str]:
        if self._resolve(element) == "sys.executable":
            return "sys.executable"
        text = _str_value(element)
        return text if text and _PYTHON_EXE.fullmatch(text) else None


def _bounded_walk(tree: ast.AST) -> Optional[List[ast.AST]]:
    nodes: List[ast.AST] = []
    for node in ast.walk(tree):
        nodes.append(node)
        if len(nodes) > _MAX_NODES:
            return None
    return nodes


def _is_single_key_use(node: ast.expr, parent: Optional[ast.AST]) -> bool:
    """Whether ``os.environ`` is used for one key (``.get``, ``[k]``, ``k in``, ``env=``)."""
    if isinstance(parent, ast.Attribute):
        return parent.attr in ENV_SINGLE_KEY_ATTRS
    if isinstance(parent, ast.Subscript):
        return parent.value is node
    if isinstance(parent, ast.Compare):
        return all(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops)
    return isinstance(parent, ast.keyword) and parent.arg == "env"


def _target_names(targets: Sequence[ast.AST]) -> List[str]:
    names: List[str] = []
    for target in targets:
        if isinstance(target, ast.Name):
            names.append(target.id)
        else:
            names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _last_operand(value: ast.expr) -> ast.expr:
    if isinstance(value, ast.BoolOp) and value.values:
        return value.values[-1]
    if isinstance(value, ast.IfExp):
        return value.body
    return value


# --- Public API -------------------------------------------------------------------------------
def _severity(features: Set[Feature], *, all_benign: bool, empty: bool) -> Severity:
    if features & HIGH_FEATURES:
        return Severity.HIGH
    if features & MEDIUM_FEATURES:
        return Severity.MEDIUM
    if Feature.FILE_WRITE in features:
        return Severity.LOW
    return Severity.INFO if all_benign or empty else Severity.LOW


def _grade(findings: _Findings, *, benign: Optional[str], all_benign: bool, empty: bool) -> Grade:
    features = findings.features
    if benign:
        features.add(Feature.KNOWN_BENIGN)
    return Grade(
        severity=_severity(features, all_benign=all_benign, empty=empty),
        features=tuple(sorted(features)),
        reasons=findings.reasons(),
        benign_pattern=benign,
    )


def _grade_pth(lines: Sequence[Tuple[int, str]]) -> Grade:
    findings = _Findings()
    budget = _Budget(MAX_INPUT_CHARS)
    remaining = MAX_INPUT_CHARS
    benign: Optional[str] = None
    all_benign = bool(lines)
    for number, raw in lines:
        text = raw.rstrip("\r\n")
        if len(text) > LONG_LINE_CHARS:
            findings.add(Feature.LONG_LINE, f"line {number} is {len(text)} characters long")
        if remaining <= 0:
            findings.add(Feature.LONG_LINE, f"input beyond 1 MiB not graded (from line {number})")
            all_benign = False
            break
        if len(text) > remaining:
            findings.add(Feature.LONG_LINE, f"line {number} graded on its first {remaining} chars")
            text = text[:remaining]
        remaining -= len(text)
        line_findings = _Findings()
        _Scanner(line_findings, line=number, depth=0, context="", budget=budget).scan(text)
        pattern = find_benign_pattern(text)
        if pattern is None:
            all_benign = False
            if not line_findings.features:
                findings.add(None, f"line {number} runs code that matches no known benign pattern")
            findings.extend(line_findings)
            continue
        benign = benign or pattern.name
        findings.add(None, f"line {number} matches known benign pattern {pattern.name}")
        findings.extend(line_findings, waived=pattern.waives)
    return _grade(findings, benign=benign, all_benign=all_benign, empty=not lines)


def _grade_source(text: str) -> Grade:
    findings = _Findings()
    if len(text) > MAX_INPUT_CHARS:
        findings.add(Feature.LONG_LINE, f"source is {len(text)} characters; graded the first 1 MiB")
        text = text[:MAX_INPUT_CHARS]
    for number, physical in enumerate(text.split("\n"), 1):
        if len(physical) > LONG_LINE_CHARS:
            findings.add(Feature.LONG_LINE, f"line {number} is {len(physical)} characters long")
            break
    scanner = _Scanner(findings, line=None, depth=0, context="", budget=_Budget(MAX_INPUT_CHARS))
    scanner.scan(text)
    empty = not text.strip() or scanner.statements == 0
    return _grade(findings, benign=None, all_benign=False, empty=empty)


def _text_only_grade(texts: Iterable[str]) -> Grade:
    """Last resort after an unexpected error: the plain text scan, or a fixed medium grade."""
    try:
        findings = _Findings()
        findings.add(None, "analysis failed; graded by text scan only")
        scanner = _Scanner(findings, line=None, depth=0, context="", budget=_Budget(0))
        scanner._scan_text("\n".join(texts)[:MAX_INPUT_CHARS])
        grade = _grade(findings, benign=None, all_benign=False, empty=False)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("text scan failed", exc_info=True)
        return Grade(severity=Severity.MEDIUM, reasons=("startup code could not be analysed",))
    if grade.severity.rank < Severity.MEDIUM.rank:
        return Grade(severity=Severity.MEDIUM, features=grade.features, reasons=grade.reasons)
    return grade


def grade_pth_lines(lines: Sequence[Tuple[int, str]]) -> Grade:
    """Grade the executable lines of one ``.pth`` file.

    Each line is graded on its own, as ``site.py`` executes each on its own. A line matching a
    known benign pattern lowers unknown code to info; it never hides a bad feature.

    Args:
        lines: (line number, line text) for each line that starts with ``import``.

    Returns:
        The grade; never raises.
    """
    try:
        return _grade_pth(lines)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("pth grader failed; falling back to a text scan", exc_info=True)
    return _text_only_grade(text for _, text in lines)


def grade_python_source(text: str) -> Grade:
    """Grade ``sitecustomize.py``/``usercustomize.py`` source (or any startup module).

    Args:
        text: the module's source text (decoded leniently by the caller).

    Returns:
        The grade; never raises. Source with no suspicious behaviour is low; empty source is info.
    """
    try:
        return _grade_source(text)
    except Exception:  # the grader's contract is to never raise; see the module docstring
        logger.debug("source grader failed; falling back to a text scan", exc_info=True)
    return _text_only_grade([text])
