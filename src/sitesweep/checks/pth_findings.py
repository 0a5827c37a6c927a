"""Vocabulary shared by the startup-code grader: the :class:`Feature` enum, input limits, and
the ordered, de-duplicated collection of findings that one grading call accumulates.

The grader is split over several modules (``pth_patterns``, ``pth_names``, ``pth_textscan``,
``pth_resolve``, ``pth_ast``); ``pth_grader`` is the public entry point and re-exports the names
callers use. This module sits underneath all of them and imports none of them.
"""

from __future__ import annotations

from typing import FrozenSet, List, Optional, Set, Tuple

from sitesweep.model import StrEnum

MAX_INPUT_CHARS = 1 << 20
"""Text beyond this (1 MiB) is not graded; its presence alone sets ``long_line``."""
LONG_LINE_CHARS = 4096
BLOB_MIN_CHARS = 200
MAX_NESTED_DEPTH = 4
"""How many layers of executed strings (exec of a literal, ``-c`` code, decoded payloads)."""
MAX_REASONS = 40


class Feature(StrEnum):
    """A behaviour seen in startup code."""

    DECODE_EXEC = "decode_exec"
    EXEC_DYNAMIC = "exec_dynamic"
    OBFUSCATED_NAME = "obfuscated_name"
    """exec, __import__, os.system... reached through a name built from pieces."""
    SPAWN_PROCESS = "spawn_process"
    NETWORK = "network"
    ENCODED_BLOB = "encoded_blob"
    LONG_LINE = "long_line"
    FILE_WRITE = "file_write"
    ENV_HARVEST = "env_harvest"
    DYNAMIC_IMPORT = "dynamic_import"
    KNOWN_BENIGN = "known_benign"
    URL_LITERAL = "url_literal"
    """A URL or address written in module code (import-time grading keeps it apart from use)."""


class Budget:
    """Characters of decoded payload still allowed for one grading call."""

    def __init__(self, chars: int) -> None:
        self.chars = chars


class Findings:
    """Features with their reasons, in discovery order."""

    def __init__(self) -> None:
        self.entries: List[Tuple[Optional[Feature], str]] = []
        self._seen: Set[Tuple[Optional[Feature], str]] = set()

    @property
    def features(self) -> Set[Feature]:
        """The distinct features found so far (a new set on every access)."""
        return {f for f, _ in self.entries if f is not None}

    def add(self, feature: Optional[Feature], reason: str) -> None:
        """Record ``reason`` (with its feature, or ``None`` for a note) unless already recorded."""
        key = (feature, reason)
        if key not in self._seen:
            self._seen.add(key)
            self.entries.append(key)

    def extend(self, other: Findings, waived: FrozenSet[Feature] = frozenset()) -> None:
        """Add every entry of ``other`` whose feature is not in ``waived``."""
        for feature, reason in other.entries:
            if feature not in waived:
                self.add(feature, reason)

    def reasons(self) -> Tuple[str, ...]:
        """The reasons in order, capped at :data:`MAX_REASONS` (the last one counts the rest)."""
        texts = [reason for _, reason in self.entries]
        if len(texts) > MAX_REASONS:
            texts = [*texts[: MAX_REASONS - 1], f"... and {len(texts) - MAX_REASONS + 1} more"]
        return tuple(texts)
