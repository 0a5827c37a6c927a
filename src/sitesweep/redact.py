"""The one redactor: every string that leaves the host and may carry a credential goes through here.

Credentials are named, never copied. Whatever a host hands us that may hold one (a live process's
command line, a cron line, a unit's ``ExecStart=``/``Environment=``, a shell-history line, a URL
from ``direct_url.json``, a conda channel, a pip/uv index URL, a copied config file) is passed
through one of four functions before it is stored in the inventory, a finding or an evidence copy:

* :func:`redact_text` -- one free-text command or config line (the general case).
* :func:`redact_argv` -- an argument vector (a process's ``cmdline``), word by word.
* :func:`redact_url` -- one URL (user info, token-like query parameters).
* :func:`redact_config` -- a whole config file's bytes for an evidence copy: the masked copy and
  how many values were masked (the caller keeps the original's hash).

What is masked (each replaced by :data:`REDACTED`):

* URL user info: ``https://user:token@host`` -> ``https://<redacted>@host``;
* assignments whose name looks secret (``TOKEN=``, ``DB_PASSWORD=``, ``--password=``, a query
  parameter ``?access_token=``, ``Environment=API_KEY=``): the value;
* options whose name looks secret followed by a value (``--api-key X``, ``--token X``,
  ``password X``): the value;
* options known to carry a credential for well-known tools (``curl -u user:pw``,
  ``mysql -pSECRET``, ``sshpass -p pw``, ``redis-cli -a pw``, ``smbclient -U user%pw``,
  ``openssl -passin pass:pw``, ``ldapsearch -w pw``, ``sqlcmd -P pw``);
* conda channel tokens in a URL path (``https://conda.anaconda.org/t/TOKEN/chan``);
* HTTP headers carrying credentials (``Authorization:``, ``Cookie:``, ``X-Api-Key:``...): the value;
* well-known token shapes anywhere (``ghp_...``, ``sk-...``, ``AKIA...``, ``pypi-...``, JWTs) and
  any run of 40 or more token characters.

The redactor errs towards masking: a masked package name costs a reader a second look, a copied
token costs a rotation. Every function is total (never raises) and linear in its input.
"""

from __future__ import annotations

import re
from typing import Callable, FrozenSet, Iterator, List, Optional, Sequence, Tuple

__all__ = [
    "REDACTED",
    "is_secret_name",
    "redact_argv",
    "redact_config",
    "redact_text",
    "redact_url",
]

REDACTED = "<redacted>"
"""What a masked value becomes."""

_SECRET_PARTS = (
    "passw", "passphrase", "pwd", "token", "secret", "apikey", "api_key", "api-key",
    "credential", "signature", "cookie", "session", "private", "accesskey", "access_key",
    "access-key", "auth",
)  # fmt: skip
_SECRET_EXACT = frozenset({"key", "sig", "pass", "pw", "passwd", "password", "psk"})
_NOT_SECRET = frozenset({"author", "authors", "author-email", "author_email", "keyring-provider"})

_TOOL_OPTIONS = {
    "curl": frozenset({"-u", "--user", "-U", "--proxy-user"}),
    "mysql": frozenset({"-p"}),
    "mysqldump": frozenset({"-p"}),
    "mysqladmin": frozenset({"-p"}),
    "mariadb": frozenset({"-p"}),
    "mariadb-dump": frozenset({"-p"}),
    "sshpass": frozenset({"-p"}),
    "redis-cli": frozenset({"-a"}),
    "smbclient": frozenset({"-U", "--user"}),
    "ldapsearch": frozenset({"-w"}),
    "ldapmodify": frozenset({"-w"}),
    "ldapadd": frozenset({"-w"}),
    "sqlcmd": frozenset({"-P"}),
    "bcp": frozenset({"-P"}),
    "openssl": frozenset({"-passin", "-passout", "-pass", "-k"}),
    "mongo": frozenset({"-p"}),
    "mongosh": frozenset({"-p"}),
    "mongodump": frozenset({"-p"}),
    "htpasswd": frozenset({"-b"}),
}
"""Short options that take a credential, for the tools that use them (value attached or next)."""

_ATTACHED = frozenset({"-p", "-u", "-a", "-w", "-P", "-U"})
"""Of those, the ones whose value may also be attached (``-pSECRET``)."""

_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "|&", "(", ")", "`", "$("})

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)[^/@\s\"'<>]+@")
_CHANNEL_TOKEN = re.compile(r"/t/(?!<redacted>/)[^/\s\"']+/")
"""Anaconda's token-in-path channel URLs (``https://conda.anaconda.org/t/TOKEN/channel``)."""
# Every repetition before a fixed part is bounded ({0,64}): a header name is short, and an
# unbounded one was retried from every word boundary of a long hyphenated run (quadratic).
_HEADER = re.compile(
    r"(?i)\b(?P<name>(?:proxy-)?authorization|cookie|set-cookie|x-[a-z0-9-]{0,64}(?:token|key|"
    r"auth|secret|password)[a-z0-9-]{0,64}|[a-z0-9-]{0,64}api-?key|private-token|job-token)"
    r"(?P<sep>\s*:\s*)(?P<value>[^\"'\r\n]+)"
)
_NAME_FIRST = dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", True)
_NAME_CHARS = {**_NAME_FIRST, **dict.fromkeys("0123456789.-", True)}
"""A name before ``=``: ``[A-Za-z_][A-Za-z0-9_.-]*``."""
_MAX_NAME = 256
_WORD = re.compile(r"(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"'])+")
_TOKENS = re.compile(
    r"(?:sk-|sk_live_|rk_live_|ghp_|gho_|ghs_|ghu_|ghr_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|"
    r"hf_|pypi-|npm_|AIza|dop_v1_|shpat_)[A-Za-z0-9_-]{8,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r"|[A-Za-z0-9+_-]{40,}"
)
_CONFIG_KEY = re.compile(
    r"^(?P<lead>\s*(?:export\s+)?[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?P<value>\S.*?)(?P<end>\s*[,;]?\s*)$"
)
_MAX_TEXT = 1 << 20
"""Longer text is cut before redaction (callers clip far below this anyway)."""


def is_secret_name(name: str) -> bool:
    """Whether a variable, option, header or parameter name looks like it holds a credential."""
    lowered = name.lower().lstrip("-").rstrip(":")
    if not lowered or lowered.startswith("no-") or lowered in _NOT_SECRET:
        return False
    if lowered in _SECRET_EXACT or lowered.endswith(("_key", "-key", ".key")):
        return True
    return any(part in lowered for part in _SECRET_PARTS)


def redact_url(url: str) -> str:
    """``url`` with its user info and any token-like query or fragment parameter masked."""
    return redact_text(url)


def redact_argv(argv: Sequence[str]) -> Tuple[str, ...]:
    """An argument vector with every credential masked; the number of words is kept."""
    words = [str(w)[:_MAX_TEXT] for w in argv]
    out = _mask_words(words, lambda w: w)
    return tuple(_mask_inline(_mask_headers(w)) for w in out)


def redact_text(text: str) -> str:
    """One command line, config line, history line or URL with every credential masked."""
    text = _mask_headers(text[:_MAX_TEXT])
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    words = [text[a:b] for a, b in spans]
    masked = _mask_words(words, _unquote)
    pieces: List[str] = []
    last = 0
    for (start, end), word in zip(spans, masked):
        pieces.append(text[last:start])
        pieces.append(word)
        last = end
    pieces.append(text[last:])
    return _mask_inline("".join(pieces))


def redact_config(data: bytes) -> Tuple[bytes, int]:
    """A masked copy of a config file (unit, crontab, pip.conf, shell profile...).

    Each line is redacted as by :func:`redact_text`, and a ``key = value`` / ``key: value`` /
    ``"key": "value"`` line whose key looks secret has its whole value masked. Bytes that are not
    UTF-8 are kept as they were.

    Returns:
        The masked bytes and the number of lines changed (0: the copy equals the original).
    """
    text = data.decode("utf-8", "surrogateescape")
    changed = 0
    out: List[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        masked = _mask_config_line(body)
        changed += masked != body
        out.append(masked + ending)
    return "".join(out).encode("utf-8", "surrogateescape"), changed


def _mask_config_line(line: str) -> str:
    match = _CONFIG_KEY.match(line)
    if match and is_secret_name(match.group("name")) and match.group("value") != REDACTED:
        line = f"{match.group('lead')}{match.group('name')}{match.group('sep')}{REDACTED}"
        return line + match.group("end")
    return redact_text(line)


def _mask_headers(text: str) -> str:
    if ":" not in text:  # no header without its colon: skip the scan
        return text
    return _HEADER.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def _mask_words(words: List[str], bare: Callable[[str], str]) -> List[str]:
    """Mask the value words that follow (or are attached to) a credential option."""
    out: List[str] = []
    tool: Optional[str] = None
    tool_opts: FrozenSet[str] = frozenset()
    pending = False
    for word in words:
        plain = bare(word)
        if pending:
            out.append(REDACTED)
            pending = False
            continue
        if plain in _SEPARATORS:
            tool, tool_opts = None, frozenset()
            out.append(word)
            continue
        base = plain.rsplit("/", 1)[-1]
        if base in _TOOL_OPTIONS:
            tool, tool_opts = base, _TOOL_OPTIONS[base]
        if tool is not None and plain in tool_opts:
            pending = not (tool == "mysql" or tool.startswith(("mysql", "mariadb")))
            out.append(word)
            continue
        attached = plain[:2] in tool_opts and plain[:2] in _ATTACHED and len(plain) > 2
        if tool is not None and attached and not plain.startswith("--"):
            out.append(plain[:2] + REDACTED)
            continue
        if tool is not None and "=" in plain and plain.split("=", 1)[0] in tool_opts:
            out.append(plain.split("=", 1)[0] + "=" + REDACTED)
            continue
        if plain.startswith("-") and "=" not in plain and is_secret_name(plain):
            pending = True
        elif plain.lower() in ("password", "passwd") and out:
            pending = True  # .netrc-style "password VALUE"
        out.append(word)
    return out


def _mask_inline(text: str) -> str:
    """URL user info, secret-named assignments and token shapes anywhere in ``text``."""
    if "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    if "/t/" in text:
        text = _CHANNEL_TOKEN.sub(f"/t/{REDACTED}/", text)
    text = _mask_assignments(text)
    return _TOKENS.sub(REDACTED, text)


def _assignments(text: str) -> Iterator[Tuple[int, str, int]]:
    """(start, name, end after ``=``) of each ``NAME=`` in ``text``, as ``_NAME_EQ.finditer``
    finds them, in linear time: the regex retried its name at every character of a long run
    without ``=`` (a 64 KiB history line took seconds; a 1 MiB config line, hours). Each ``=``
    is found with ``str.find`` and its name read backwards, at most :data:`_MAX_NAME` characters.
    """
    at = text.find("=")
    floor = 0
    while at >= 0:
        start = at
        while start > floor and at - start < _MAX_NAME and _NAME_CHARS.get(text[start - 1]):
            start -= 1
        while start < at and not _NAME_FIRST.get(text[start]):
            start += 1
        if start < at:
            yield start, text[start:at], at + 1
        floor = at + 1
        at = text.find("=", at + 1)


def _mask_assignments(text: str) -> str:
    pieces: List[str] = []
    last = 0
    for found, name, start in _assignments(text):
        if found < last or not is_secret_name(name):
            continue
        end = _value_end(text, start)
        if end == start or text[start:end] == REDACTED:
            continue
        pieces.append(text[last:start])
        pieces.append(REDACTED)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _value_end(text: str, start: int) -> int:
    if start < len(text) and text[start] in "\"'":
        close = text.find(text[start], start + 1)
        return len(text) if close < 0 else close + 1
    end = start
    while end < len(text) and text[end] not in " \t\r\n&;\"'#,)}]":
        end += 1
    return end
