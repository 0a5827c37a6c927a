"""Windows shortcuts (``.lnk``, MS-SHLLINK) read as data through LnkParse3.

Only what a responder needs is kept: the target path, the arguments, the working directory and
the comment. The parser is imported when the first shortcut is read; without it every shortcut is
still recorded (name, hash) and the collector names the gap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional

MAX_FIELD = 2000
"""Longest string kept from a shortcut (arguments can be padded to hide what follows)."""


class LnkUnavailableError(Exception):
    """The LNK parser is not installed (a reduced agent)."""


class LnkUnreadableError(Exception):
    """The shortcut is not one the parser can read."""


@dataclass(frozen=True)
class Shortcut:
    """What a shortcut starts.

    Attributes:
        target: the target path (LinkInfo local base path and suffix, else the environment
            block's target, else the relative path), as Windows wrote it.
        arguments: the command-line arguments.
        working_dir: the working directory.
        description: the shortcut's comment.
    """

    target: Optional[str]
    arguments: Optional[str]
    working_dir: Optional[str]
    description: Optional[str]


def _text(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:MAX_FIELD] or None


def _target(doc: Dict[str, Any]) -> Optional[str]:
    info = doc.get("link_info") or {}
    base = _text(info.get("local_base_path_unicode")) or _text(info.get("local_base_path"))
    if base:
        suffix = _text(info.get("common_path_suffix_unicode")) or _text(
            info.get("common_path_suffix")
        )
        return f"{base}{suffix or ''}"
    extra = (doc.get("extra") or {}).get("ENVIRONMENTAL_VARIABLES_LOCATION_BLOCK") or {}
    from_env = _text(extra.get("target_unicode")) or _text(extra.get("target_ansi"))
    if from_env:
        return from_env
    return _text((doc.get("data") or {}).get("relative_path"))


def read_shortcut(data: bytes) -> Shortcut:
    """Parse a shortcut's bytes.

    Raises:
        LnkUnavailableError: LnkParse3 is not installed.
        LnkUnreadableError: not a shortcut, or one too damaged to read.
    """
    if data[:4] != b"\x4c\x00\x00\x00":
        raise LnkUnreadableError("no shell link header")
    try:
        import LnkParse3
    except ImportError as exc:
        raise LnkUnavailableError("LnkParse3 is not installed") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about every odd block; the result is kept
        try:
            doc = LnkParse3.lnk_file(indata=data).get_json()
        except Exception as exc:  # a third-party parser of hostile bytes
            raise LnkUnreadableError(f"{type(exc).__name__}: {exc}"[:200]) from exc
    strings = doc.get("data") or {}
    return Shortcut(
        target=_target(doc),
        arguments=_text(strings.get("command_line_arguments")),
        working_dir=_text(strings.get("working_directory")),
        description=_text(strings.get("description")),
    )
