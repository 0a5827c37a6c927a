"""Facts about the collection that the report shows beside the observations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class CollectionFacts:
    """Who collected what, when and with which tool (chain of custody, for the report page).

    Attributes:
        mode: ``scan``, ``collect`` or ``analyze``.
        started, finished: ISO 8601 UTC times.
        command: the exact command line, shell-quoted.
        case_id, examiner, note: given by the responder on the command line.
        tool_version, tool_sha256: the scanner that ran.
        boot_time: the host's boot time (ISO 8601 UTC, live scans only).
        addresses: the host's IP addresses (live scans only).
        source_bundle: for ``analyze``, the bundle judged.
    """

    mode: str
    started: str
    finished: str
    command: str
    tool_version: str
    tool_sha256: str
    case_id: Optional[str] = None
    examiner: Optional[str] = None
    note: Optional[str] = None
    boot_time: Optional[str] = None
    addresses: Tuple[str, ...] = ()
    source_bundle: Optional[str] = None
