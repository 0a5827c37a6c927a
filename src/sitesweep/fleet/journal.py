"""The fleet record: one append-only journal per host, one line per attempt.

Every sweep attempt of a host (by ``sweep`` or the Ansible playbook) appends one JSON line to
``<output>/journal/<host>.jsonl`` as soon as that host is done, so an interrupted sweep keeps what
it did and a re-run adds attempts instead of replacing the record. Nothing is ever rewritten.
The fleet view (:mod:`sitesweep.fleet.summary`) takes, per host, the latest attempt that left a
good bundle (else the latest attempt); ``sweep --retry-failed`` re-runs the hosts that have none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sitesweep.errors import OutputError

JOURNAL_DIR = "journal"
JOURNAL_SUFFIX = ".jsonl"
OK = "ok"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LINE_LIMIT = 64 << 10


def now_text() -> str:
    """The current UTC time as ISO 8601 with ``Z`` (sortable as text)."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def safe_name(name: str) -> str:
    """A file-name-safe form of a host name (the directory of its bundles)."""
    return _SAFE.sub("_", name).strip("._") or "host"


@dataclass(frozen=True)
class Attempt:
    """One sweep attempt of one host, as journalled.

    Attributes:
        host: the inventory name (or host spec): the host's identity in the fleet view.
        address, user, port, root, python: how it was reached (enough to retry it).
        status: how the attempt ended (``ok``, ``unreachable``, ``python_too_old``...).
        detail: why, in one line.
        bundle: the fetched bundle, relative to the sweep's output directory.
        sha256: the bundle's SHA-256 as the agent printed it and the fetch verified it.
        analysis: the analysis written for it, relative to the output directory.
        started, finished: UTC times of the attempt.
        seconds: how long it took.
        cleaned: whether everything pushed to the target was removed (or nothing was pushed).
        sweep: id of the sweep run that made the attempt.
        agent_sha256: the agent pushed.
        source: ``sweep`` or ``ansible``.
        attempt: 1 for the host's first attempt in this journal, then 2, 3...
    """

    host: str
    address: str
    status: str
    detail: str
    user: Optional[str] = None
    port: Optional[int] = None
    root: Optional[str] = None
    python: Optional[str] = None
    bundle: Optional[str] = None
    sha256: Optional[str] = None
    analysis: Optional[str] = None
    started: str = ""
    finished: str = ""
    seconds: float = 0.0
    cleaned: bool = False
    sweep: str = ""
    agent_sha256: Optional[str] = None
    source: str = "sweep"
    attempt: int = 0

    @property
    def ok(self) -> bool:
        """Whether the attempt says it left a verified bundle."""
        return self.status == OK and bool(self.bundle)

    def doc(self) -> Dict[str, Any]:
        """The attempt as one JSON object."""
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: Dict[str, Any]) -> Optional[Attempt]:
        """An attempt from a journal line (``None`` when it is not one)."""
        if not isinstance(doc.get("host"), str) or not isinstance(doc.get("status"), str):
            return None
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        values.setdefault("address", doc["host"])
        values.setdefault("detail", "")
        values["address"] = str(values["address"])
        values["detail"] = str(values["detail"])
        for key in ("bundle", "sha256", "analysis", "user", "root", "python", "agent_sha256"):
            if key in values and not isinstance(values[key], (str, type(None))):
                values[key] = None
        for key in ("started", "finished", "sweep", "source"):
            if key in values and not isinstance(values[key], str):
                values[key] = str(values[key])
        if not isinstance(values.get("port"), (int, type(None))) or isinstance(
            values.get("port"), bool
        ):
            values["port"] = None
        if not isinstance(values.get("seconds", 0.0), (int, float)):
            values["seconds"] = 0.0
        if not isinstance(values.get("attempt", 0), int):
            values["attempt"] = 0
        values["cleaned"] = values.get("cleaned") is True
        return cls(**values)


def journal_path(output: Path, host: str) -> Path:
    """Where ``host``'s journal lives under ``output`` (a name hash keeps ``a b``/``a_b`` apart)."""
    digest = hashlib.sha256(host.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return output / JOURNAL_DIR / f"{safe_name(host)[:80]}-{digest}{JOURNAL_SUFFIX}"


def append(output: Path, attempt: Attempt) -> Attempt:
    """Append ``attempt`` to its host's journal (numbered after the ones there); return it.

    One ``write`` of one line on an ``O_APPEND`` descriptor, then ``fsync``: a line is either
    whole in the journal or absent, even when the sweep is killed right after.

    Raises:
        OutputError: the journal cannot be written.
    """
    path = journal_path(output, attempt.host)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        number = attempt.attempt or len(read_journal(path)) + 1
        numbered = Attempt(**{**attempt.doc(), "attempt": number})
        line = json.dumps(numbered.doc(), sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot append to the journal {path}: {exc}") from exc
    return numbered


def read_journal(path: Path) -> List[Attempt]:
    """Every attempt in one journal file; malformed lines (a torn write) are skipped."""
    attempts: List[Attempt] = []
    try:
        with path.open("rb") as fh:
            for raw in fh:
                if len(raw) > _LINE_LIMIT:
                    continue
                try:
                    doc = json.loads(raw)
                except ValueError:
                    continue
                found = Attempt.from_doc(doc) if isinstance(doc, dict) else None
                if found is not None:
                    attempts.append(found)
    except OSError:
        return attempts
    return attempts


def journal_files(directory: Path) -> List[Path]:
    """Every journal under ``directory`` (its own and those of sweeps stored below it)."""
    return sorted(p for p in directory.rglob(f"*{JOURNAL_SUFFIX}") if p.parent.name == JOURNAL_DIR)


def read_attempts(directory: Path) -> List[Tuple[Attempt, Path]]:
    """Every attempt journalled under ``directory``, each with its sweep's output directory."""
    found: List[Tuple[Attempt, Path]] = []
    for path in journal_files(directory):
        base = path.parent.parent
        found.extend((attempt, base) for attempt in read_journal(path))
    return found


def good_bundle(attempt: Attempt, base: Path) -> Optional[Path]:
    """The attempt's bundle when the attempt succeeded and the file is still there."""
    if not attempt.ok or attempt.bundle is None:
        return None
    path = (base / attempt.bundle).resolve()
    return path if path.is_file() or path.is_dir() else None


def latest(attempts: Iterable[Tuple[Attempt, Path]]) -> Dict[str, Tuple[Attempt, Path]]:
    """Per host: the latest attempt with a good bundle, else the latest attempt."""
    chosen: Dict[str, Tuple[Tuple[bool, str, int], Tuple[Attempt, Path]]] = {}
    for attempt, base in attempts:
        rank = (good_bundle(attempt, base) is not None, attempt.finished, attempt.attempt)
        held = chosen.get(attempt.host)
        if held is None or rank > held[0]:
            chosen[attempt.host] = (rank, (attempt, base))
    return {host: pair for host, (_, pair) in chosen.items()}


def hosts_with_good_bundle(output: Path) -> Tuple[str, ...]:
    """Names of the hosts journalled under ``output`` that have a good bundle there."""
    picked = latest(read_attempts(output))
    return tuple(sorted(h for h, (a, base) in picked.items() if good_bundle(a, base) is not None))
