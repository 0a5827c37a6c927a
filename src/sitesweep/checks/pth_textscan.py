"""Text-level analysis of startup code: the bounded regex scan that grades code ``ast`` cannot
(or should not) parse, and the string helpers the syntax-tree scan shares with it.

No regex here repeats a group (``(...)*``, ``(...)+``, ``(...){n,}``); groups are at most
optional, so none can backtrack catastrophically. Every pass is linear in the input.
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Iterator, List, Optional, Tuple

from sitesweep.checks.pth_findings import BLOB_MIN_CHARS, Feature

_MAX_OPERATORS = 5000
"""Above this many operators outside strings the syntax tree could nest too deep to build safely."""
_MAX_CODE_CHARS = 256 * 1024
"""Code bigger than this goes to the text scan (real startup code is tiny)."""
_TEXT_HITS_PER_RULE = 3

URL = re.compile(r"\b(?:https?|ftp)://[^\s'\"]{0,60}", re.IGNORECASE)
FETCHER = re.compile(r"\b(?:curl|wget)\b|/dev/tcp/")
IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")

FALLBACK_RULES: Tuple[Tuple[Feature, str, re.Pattern[str]], ...] = (
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
    (Feature.NETWORK, "URL", URL),
    (Feature.NETWORK, "curl/wget", FETCHER),
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
"""(feature, label, regex) for the text scan; each hit is reported as ``text scan: <label>``."""
EXEC_TEXT = re.compile(r"\b(?:exec|eval|execfile)\s*\(|\bcompile\s*\(")
DECODER_TEXT = re.compile(
    r"\b(?:b64decode|b32decode|b16decode|b85decode|a85decode|decodebytes|decodestring|a2b_base64|"
    r"a2b_hex|unhexlify|fromhex|decompress|marshal|pickle|rot_?13)\b|\bcodecs\s*\.\s*decode\b"
)
EXECUTABLE_MINUS_C = re.compile(r"\bsys\s*\.\s*executable\b[^\n]{0,200}?['\"]-c['\"]")
# Each run may only start where the previous character is outside its class: linear time.
BLOB_TEXT = re.compile(
    r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{200,}|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{200,}|"
    r"(?<![\\x0-9A-Fa-f])[\\x0-9A-Fa-f]{200,}"
)
STRING_START = re.compile(r"[\"'#]")
_NESTING_OPERATORS = "([{.+-*/%~&|^<>@"
_TEXT_RULES = (*FALLBACK_RULES, (Feature.SPAWN_PROCESS, "sys.executable -c", EXECUTABLE_MINUS_C))


def encoded_kind(text: str) -> Optional[str]:
    """``"hex"`` or ``"base64"`` if ``text`` looks like a long encoded blob, else ``None``."""
    if len(text) < BLOB_MIN_CHARS:
        return None
    chars = set(text) - {"\n", "\r", " ", "\t"}
    if len(chars) < 10:
        return None
    if chars <= _HEX_CHARS:
        return "hex"
    return "base64" if chars <= _B64_CHARS else None


def network_in_text(text: str) -> Optional[str]:
    """Describe the first URL, curl/wget mention or IPv4 address in ``text``, if any."""
    url = URL.search(text)
    if url:
        return f"URL {url.group(0)!r}"
    fetcher = FETCHER.search(text)
    if fetcher:
        return f"{fetcher.group(0)!r} in a string"
    for match in IPV4.finditer(text):
        if all(int(part) <= 255 for part in match.groups()):
            return f"IP address {match.group(0)}"
    return None


def _code_outside_strings(text: str) -> str:
    """Return ``text`` with string literals and comments removed (a rough, linear-time pass)."""
    out: List[str] = []
    pos, size = 0, len(text)
    while pos < size:
        match = STRING_START.search(text, pos)
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
    """Index just past the string literal whose body starts at ``pos`` (or where it breaks off)."""
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


def too_complex(text: str) -> Optional[str]:
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


def text_hits(text: str) -> Iterator[Tuple[Feature, str, int]]:
    """Regex scan, one pass per rule over the whole text; a few hits per rule are reported.

    Args:
        text: code that could not (or should not) be parsed.

    Yields:
        (feature, message, 1-based physical line) for each hit, in a fixed order.
    """
    starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line_at(pos: int) -> int:
        return bisect.bisect_right(starts, pos)

    for feature, label, regex in _TEXT_RULES:
        for match in itertools.islice(regex.finditer(text), _TEXT_HITS_PER_RULE):
            yield feature, f"text scan: {label}", line_at(match.start())
    for match in itertools.islice(EXEC_TEXT.finditer(text), 10 * _TEXT_HITS_PER_RULE):
        pos = match.start()
        start = starts[bisect.bisect_right(starts, pos) - 1]
        end = text.find("\n", pos)
        decoded = DECODER_TEXT.search(text, start, len(text) if end < 0 else end)
        if decoded:
            yield Feature.DECODE_EXEC, f"text scan: exec of {decoded.group(0)} data", line_at(pos)
        else:
            yield Feature.EXEC_DYNAMIC, "text scan: exec/eval/compile", line_at(pos)
    for match in BLOB_TEXT.finditer(text):
        if encoded_kind(match.group(0)):
            what = f"encoded run of {len(match.group(0))} characters"
            yield Feature.ENCODED_BLOB, what, line_at(match.start())
            break
