"""Recognise shell commands that install or download Python packages; keep nothing else.

A history line may hold anything a user typed, secrets included. Only the segment of a line (between
``;``, ``&&``, ``||``, ``|``) that runs an installer is kept, rebuilt from its words without any
leading ``VAR=value`` assignment, with URL user info and token-like words replaced by
:data:`REDACTED`. Package names are canonicalised (PEP 503); a version is kept only when exactly
pinned (``name==1.2.3``, ``name@1.2.3``, conda's ``name=1.2.3``, a wheel or sdist file name).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from dataclasses import dataclass
from typing import FrozenSet, Iterator, List, Optional, Sequence, Tuple

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from sitesweep.redact import REDACTED, redact_argv, redact_text

MAX_COMMAND = 500
"""Longest rebuilt command kept (characters)."""

_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", "|&", ";;"})
_FALLBACK_WORD = re.compile(r"&&|\|\||[;&|()]|[^\s;&|()]+")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^python(?:[23](?:\.\d+)?)?$")
_PIP = re.compile(r"^pip(?:[23](?:\.\d+)?)?$")
_SECRET = re.compile(
    r"(?:sk-|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abprs]-|AKIA|hf_|pypi-)[A-Za-z0-9_-]{8,}"
    r"|(?:token|password|passwd|secret|key)=[^&\s]+"
    r"|[A-Za-z0-9+_-]{40,}",
    re.IGNORECASE,
)
_EXACT_PIN = re.compile(r"^===?\s*(?P<v>[A-Za-z0-9][A-Za-z0-9.+!_-]*)$")
_AT_VERSION = re.compile(r"^(?P<n>[A-Za-z0-9][A-Za-z0-9._-]*)@(?P<v>[0-9][A-Za-z0-9.+!_-]*)$")
_CONDA = re.compile(
    r"^(?:[A-Za-z0-9_.-]+::)?(?P<n>[A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?:(?P<op>==?)(?P<v>[0-9][A-Za-z0-9.+!_-]*)(?:=[^=\s]*)?)?$"
)
_PUNCTUATION = re.compile(r"[;&|()]+")
_QUOTED = re.compile(r"[\s;&|()]")
"""What only a quoted word can hold: blanks and shell separators."""
_WRAPPERS = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "nice", "doas"})
_WRAPPER_VALUE_OPTS = frozenset({"-u", "-g", "-n", "--user", "--group"})

_PIP_VALUE_OPTS = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
        "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
        "--python", "-p", "--platform", "--python-version", "--implementation", "--abi",
        "--src", "--upgrade-strategy", "--progress-bar", "--trusted-host", "--cache-dir",
        "--log", "--proxy", "--timeout", "--retries", "--cert", "--client-cert", "-d", "--dest",
        "--only-binary", "--no-binary", "--report", "--group", "--with", "--from", "--spec",
        "--pip-args", "--suffix", "--index", "--default-index", "--optional", "--dev-group",
        "--extra", "--source", "--package", "--project", "--directory", "--venv", "-G",
        "--groups", "-L", "--lockfile", "--config-settings", "-C", "--global-option",
        "--install-option", "--python-preference", "--resolution", "--prerelease",
        "--index-strategy", "--keyring-provider", "--exclude-newer", "--link-mode",
        "--compile-bytecode", "--refresh-package", "--reinstall-package", "--upgrade-package",
    }
)  # fmt: skip
_CONDA_VALUE_OPTS = frozenset(
    {
        "-n", "--name", "-p", "--prefix", "-c", "--channel", "--file", "--override-channels",
        "--repodata-fn", "--subdir", "--platform", "-r", "--root-prefix",
    }
)  # fmt: skip


@dataclass(frozen=True)
class HistoryPackage:
    """A package named by an install command.

    Attributes:
        name: canonical (PEP 503) name.
        version: the exactly pinned version, or ``None``.
        spec: the package word as typed (user info and tokens redacted).
    """

    name: str
    version: Optional[str]
    spec: str


@dataclass(frozen=True)
class InstallCommand:
    """One installer invocation recognised in a shell command (already redacted).

    Attributes:
        tool: the installer and its subcommand (``pip install``, ``uvx``, ``conda create``).
        command: the invocation rebuilt from its words, credentials redacted.
        packages: the packages it names.
    """

    tool: str
    command: str
    packages: Tuple[HistoryPackage, ...]


def redact(word: str) -> str:
    """``word`` through :func:`sitesweep.redact.redact_text` (user info, tokens, assignments).

    A word holding a blank or a shell separator was quoted on the command line: it is one
    argument that can carry anything (``uvx tool '; export K=...'``), so it is masked whole.
    """
    if _QUOTED.search(word):
        return REDACTED
    return _SECRET.sub(REDACTED, redact_text(word))


def parse_command(text: str) -> Tuple[InstallCommand, ...]:
    """Return every installer invocation in one shell command line (none for anything else)."""
    found: List[InstallCommand] = []
    for segment in _segments(text):
        words = _strip_wrappers(segment)
        command = _installer(words)
        if command is not None and command.packages:
            found.append(command)
    return tuple(found)


def _segments(text: str) -> Iterator[List[str]]:
    for physical in text.splitlines():
        lexer = shlex.shlex(physical, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError:  # unbalanced quotes: split on separators and blanks only
            words = _FALLBACK_WORD.findall(physical)
        current: List[str] = []
        for word in words:
            if word in _SEPARATORS or _PUNCTUATION.fullmatch(word):
                # shlex joins a run of punctuation into one word (``&&;``): still a separator
                yield current
                current = []
            else:
                current.append(word)
        yield current


def _strip_wrappers(words: List[str]) -> List[str]:
    rest = list(words)
    while rest:
        head = rest[0].rsplit("/", 1)[-1]
        if _ASSIGNMENT.match(rest[0]):
            rest.pop(0)
        elif head in _WRAPPERS:
            rest.pop(0)
            while rest and rest[0].startswith("-"):
                option = rest.pop(0)
                if option in _WRAPPER_VALUE_OPTS and rest:
                    rest.pop(0)
        else:
            break
    return rest


def _installer(words: Sequence[str]) -> Optional[InstallCommand]:
    if not words:
        return None
    head = words[0].rsplit("/", 1)[-1]
    args = list(words[1:])
    if _PYTHON.match(head):
        while args and args[0].startswith("-") and args[0] != "-m":
            args.pop(0)
        if args[:2] != ["-m", "pip"]:
            return None
        head, args = "pip", args[2:]
    found = _dispatch(head, args)
    if found is None:
        return None
    command = " ".join(redact(w) for w in redact_argv(words))[:MAX_COMMAND]
    return dataclasses.replace(found, command=command)


def _dispatch(head: str, args: List[str]) -> Optional[InstallCommand]:
    sub = _first_positional(args, _PIP_VALUE_OPTS)
    if _PIP.match(head) and sub in ("install", "download"):
        return _build(f"pip {sub}", head, args, _after(args, sub), _PIP_VALUE_OPTS)
    if head == "uv":
        return _uv(sub, args)
    if head == "uvx":
        return _build("uvx", head, args, _tool_run(args), _PIP_VALUE_OPTS)
    if head == "pipx" and sub in ("install", "inject", "run"):
        rest = _after(args, sub)
        if sub == "inject":
            rest = _after(rest, _first_positional(rest, _PIP_VALUE_OPTS) or "")
        elif sub == "run":
            rest = _tool_run(rest)
        return _build(f"pipx {sub}", head, args, rest, _PIP_VALUE_OPTS)
    if head in ("poetry", "pdm") and sub in ("add", "install"):
        return _build(f"{head} {sub}", head, args, _after(args, sub), _PIP_VALUE_OPTS)
    conda_sub = _first_positional(args, _CONDA_VALUE_OPTS)
    if head in ("conda", "mamba", "micromamba") and conda_sub in ("install", "create"):
        rest = _after(args, conda_sub)
        return _build(f"{head} {conda_sub}", head, args, rest, _CONDA_VALUE_OPTS, conda=True)
    return None


def _uv(sub: Optional[str], args: List[str]) -> Optional[InstallCommand]:
    rest = _after(args, sub or "")
    then = _first_positional(rest, _PIP_VALUE_OPTS)
    if sub == "pip" and then == "install":
        return _build("uv pip install", "uv", args, _after(rest, "install"), _PIP_VALUE_OPTS)
    if sub == "add":
        return _build("uv add", "uv", args, rest, _PIP_VALUE_OPTS)
    if sub == "tool" and then in ("install", "run"):
        return _build(
            f"uv tool {then}", "uv", args, _tool_run(_after(rest, then or "")), _PIP_VALUE_OPTS
        )
    return None


def _first_positional(args: Sequence[str], value_opts: FrozenSet[str]) -> Optional[str]:
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in value_opts
        else:
            return word
    return None


def _after(args: List[str], word: str) -> List[str]:
    return args[args.index(word) + 1 :] if word in args else []


def _tool_run(args: List[str]) -> List[str]:
    """``uvx [opts] PKG [ARGS]``: the package and ``--from``/``--with``/``--spec`` values."""
    kept: List[str] = []
    named = skip = False
    for index, word in enumerate(args):
        if skip:
            skip = False
            continue
        if word in ("--from", "--with", "--spec", "-w"):
            kept += args[index + 1 : index + 2]
            named = named or word in ("--from", "--spec")
            skip = True
        elif word.startswith("-"):
            skip = word in _PIP_VALUE_OPTS
        else:
            if not named:
                kept.append(word)  # the package, unless --from/--spec named it
            break
    return kept


def _build(
    tool: str,
    head: str,
    args: List[str],
    package_words: List[str],
    value_opts: FrozenSet[str],
    conda: bool = False,
) -> InstallCommand:
    packages: List[HistoryPackage] = []
    skip = False
    for word in package_words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in value_opts
        else:
            package = _package(word, conda)
            if package is not None:
                packages.append(package)
    command = " ".join(redact(w) for w in redact_argv((head, *args)))[:MAX_COMMAND]
    return InstallCommand(tool, command, tuple(packages))


def _package(word: str, conda: bool) -> Optional[HistoryPackage]:
    spec = redact(word)
    base = word.rsplit("/", 1)[-1]
    if base.endswith(".whl"):
        try:
            name, version, _build_tag, _tags = parse_wheel_filename(base)
        except InvalidWheelFilename:
            return None
        return HistoryPackage(name, str(version), spec)
    if base.endswith((".tar.gz", ".zip")):
        try:
            name, version = parse_sdist_filename(base)
        except InvalidSdistFilename:
            return None
        return HistoryPackage(name, str(version), spec)
    at = _AT_VERSION.match(word)
    if at:
        return HistoryPackage(canonicalize_name(at.group("n")), at.group("v"), spec)
    if conda:
        match = _CONDA.match(word)
        if match:
            return HistoryPackage(canonicalize_name(match.group("n")), match.group("v"), spec)
    return _requirement(word, spec)


def _requirement(word: str, spec: str) -> Optional[HistoryPackage]:
    if word.startswith((".", "~")) or "://" in word.split("@", 1)[0]:
        return None
    # packaging's requirement parser (its tokenizer, markers) costs more to import than most
    # scans spend here: only a history line that installs something needs it
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(word)
    except InvalidRequirement:
        return None
    specifiers = list(req.specifier)
    version: Optional[str] = None
    if len(specifiers) == 1:
        pin = _EXACT_PIN.match(str(specifiers[0]))
        if pin and "*" not in pin.group("v"):
            version = pin.group("v")
    return HistoryPackage(canonicalize_name(req.name), version, spec)
