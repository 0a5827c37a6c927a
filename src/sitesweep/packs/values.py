"""Value converters for pack loading: hashes, names, paths, domains, IPs, URLs, specifiers.

Each converter takes ``(text, field name, problems)`` (see :data:`~sitesweep.packs.fields.Convert`)
and returns the value in normalised form, or records why it is refused and returns ``None``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import PurePosixPath
from typing import Optional, Pattern
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from sitesweep.packs.fields import Problems, quote

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}")


def refuse(text: str, problem: str, name: str, out: Problems) -> None:
    """Record that ``text`` (quoted at the start of the message) has ``problem``."""
    out.add(name, f"{quote(text)} {problem}")


def as_text(text: str, name: str, out: Problems) -> Optional[str]:
    """Accept any non-empty string as it is."""
    return text


def as_sha256(text: str, name: str, out: Problems) -> Optional[str]:
    """Return a SHA-256 in lower-case hex."""
    return _lower_case(text, _SHA256_RE, "is not a SHA-256 (64 hexadecimal characters)", name, out)


def as_base_name(text: str, name: str, out: Problems) -> Optional[str]:
    """Return a file base name (no directory part)."""
    if "/" in text or "\\" in text or "\0" in text or text in (".", ".."):
        refuse(text, "must be a plain file name, without '/'", name, out)
        return None
    return text


def as_relative_path(text: str, name: str, out: Problems) -> Optional[str]:
    """Return a relative POSIX path that cannot climb out of its base (``..``)."""
    problem = relative_path_problem(text)
    if problem is not None:
        refuse(text, problem, name, out)
        return None
    return str(PurePosixPath(text))


def relative_path_problem(text: str) -> Optional[str]:
    """Return why ``text`` is not an acceptable relative POSIX path, or ``None``."""
    path = PurePosixPath(text)
    if "\\" in text or "\0" in text:
        return "must be a POSIX path ('/' separators, no backslash or NUL)"
    if path.is_absolute() or text.startswith("~"):
        return "must be a relative path"
    if ".." in path.parts:
        return "must not contain '..'"
    if not path.parts:
        return "must name a file"
    return None


def as_host_path(text: str, name: str, out: Problems) -> Optional[str]:
    """Return an absolute host path, or one under ``~/`` (every home directory)."""
    prefix = "~/" if text.startswith("~/") else "/" if text.startswith("/") else None
    if prefix is None:
        refuse(text, "must be absolute or start with '~/' (every home)", name, out)
        return None
    rest = text[len(prefix) :]
    problem = relative_path_problem(rest) if rest else "must name a file or directory"
    if problem is not None:
        refuse(text, problem, name, out)
        return None
    return prefix + str(PurePosixPath(rest))


def as_domain(text: str, name: str, out: Problems) -> Optional[str]:
    """Return a domain name in lower case."""
    problem = "is not a domain name (no scheme, port, path or trailing dot)"
    return _lower_case(text, _DOMAIN_RE, problem, name, out)


def _lower_case(
    text: str, pattern: Pattern[str], problem: str, name: str, out: Problems
) -> Optional[str]:
    """Return ``text`` in lower case when that matches ``pattern``; otherwise refuse it."""
    lowered = text.lower()
    if pattern.fullmatch(lowered):
        return lowered
    refuse(text, problem, name, out)
    return None


def as_ip(text: str, name: str, out: Problems) -> Optional[str]:
    """Return an IPv4 or IPv6 address in its canonical text form."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        refuse(text, "is not an IP address", name, out)
    return None


def as_url(text: str, name: str, out: Problems) -> Optional[str]:
    """Return a URL that has a scheme and a host."""
    parts = urlsplit(text)
    if parts.scheme and parts.netloc and not any(c.isspace() for c in text):
        return text
    refuse(text, "is not an absolute URL (scheme://host/...)", name, out)
    return None


def as_reference(text: str, name: str, out: Problems) -> Optional[str]:
    """Return an ``http`` or ``https`` URL."""
    url = as_url(text, name, out)
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        refuse(text, "must be an http or https URL", name, out)
        return None
    return url


ADVISORY_ID = re.compile(r"[A-Z][A-Z0-9]{1,15}(?:-[A-Za-z0-9]+){2,6}")
"""An advisory id as databases write them: ``MAL-2026-2144``, ``GHSA-5mg7-485q-xm76``,
``CVE-2026-33634``, ``PYSEC-2026-2``, ``SNYK-PYTHON-LITELLM-15762713``."""


def as_advisory(text: str, name: str, out: Problems) -> Optional[str]:
    """Return an advisory id (upper-case prefix, dash-separated parts)."""
    if ADVISORY_ID.fullmatch(text) is None:
        refuse(text, "is not an advisory id (e.g. MAL-2026-2144, GHSA-5mg7-485q-xm76)", name, out)
        return None
    return text


def as_specifier(text: str, name: str, out: Problems) -> Optional[SpecifierSet]:
    """Parse one PEP 440 specifier set; refuse an empty one (it would match every version)."""
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier as exc:
        out.add(name, f"not a valid PEP 440 specifier: {exc}")
        return None
    if not len(specifier):
        refuse(text, "holds no specifier and would match every version", name, out)
        return None
    return specifier
