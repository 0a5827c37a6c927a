"""The bundle's documents as types, both ways, and the JSON Schema of each.

``manifest.json``, ``findings.json``, ``coverage.json`` and ``inventory.json`` are dataclasses
here (the inventory is :class:`~sitesweep.inventory.Inventory` itself): written through
:mod:`sitesweep.bundle.serialize`, read back with :func:`load` (typed decoding, every field
checked, :mod:`sitesweep.bundle.decode`). Their JSON Schemas are generated from the same types
by :func:`schema_of` and published in ``schemas/`` at the top of the repository; a test checks
that the published files are the generated ones and that real bundles validate against them.
After changing a document type, regenerate them::

    python -m sitesweep.bundle.documents schemas/
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Type, TypeVar, Union

from sitesweep.bundle import layout
from sitesweep.bundle.decode import from_plain
from sitesweep.fleet.journal import Attempt
from sitesweep.inventory import Inventory
from sitesweep.model import Finding, Gap, Severity
from sitesweep.outcome import RotationItem, Verdict

T = TypeVar("T")

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://sitesweep.invalid/schemas/"
"""``$id`` prefix of the published schemas (a name, not a place anything is fetched from)."""


@dataclass(frozen=True)
class PackRef:
    """A pack a run loaded: id, version and the SHA-256 of its ``pack.toml``."""

    id: str
    version: str
    sha256: str


@dataclass(frozen=True)
class ManifestHost:
    """The manifest's ``host`` section (its other keys, e.g. live boot time, are kept as extra)."""

    hostname: str
    machine_id: Optional[str] = None
    os_release: Optional[str] = None
    kernel: Optional[str] = None


@dataclass(frozen=True)
class BundleGap:
    """Something the writer could not copy into the bundle."""

    path: Optional[str]
    reason: str
    detail: str


@dataclass(frozen=True)
class ReducedCheck:
    """A check that ran in reduced form on the host, and why."""

    area: str
    detail: str


@dataclass(frozen=True)
class SourceBundle:
    """The bundle an analysis judged, and the SHA-256 of its manifest."""

    path: str
    manifest_sha256: str


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: what was collected, by what, when, and every file's SHA-256.

    Scan and collect bundles fill the host fields; an analysis names its ``source_bundle``.
    Keys not listed here are allowed (additions within a major ``schema_version``).
    """

    schema_version: str
    mode: str
    started: str
    finished: str
    files: Dict[str, str]
    packs: Tuple[PackRef, ...] = ()
    argv: Tuple[str, ...] = ()
    command: str = ""
    custody: Dict[str, Optional[str]] = dataclasses.field(default_factory=dict)
    tool: Dict[str, Any] = dataclasses.field(default_factory=dict)
    scan_root: Optional[str] = None
    live: Optional[bool] = None
    host: Optional[ManifestHost] = None
    encrypted_to: Tuple[str, ...] = ()
    bundle_gaps: Tuple[BundleGap, ...] = ()
    reduced_checks: Tuple[ReducedCheck, ...] = ()
    source_bundle: Optional[SourceBundle] = None


@dataclass(frozen=True)
class Coverage:
    """``coverage.json``: how much was looked at, and every gap."""

    live: bool
    dirs_walked: int
    files_seen: int
    environments: int
    site_dirs: int
    distributions: int
    checks_run: Tuple[str, ...]
    gaps: Tuple[Gap, ...]


@dataclass(frozen=True)
class FindingsHost:
    """Who ``findings.json`` is about."""

    hostname: str
    machine_id: Optional[str]
    os_release: Optional[str]
    live: bool


@dataclass(frozen=True)
class OutcomeDoc:
    """The outcome as :meth:`sitesweep.outcome.Outcome.doc` writes it."""

    verdict: Verdict
    threshold: Severity
    headline: str
    counts: Dict[str, int]
    rotation: Tuple[RotationItem, ...]
    incomplete: Tuple[str, ...]


@dataclass(frozen=True)
class FindingsDocument:
    """``findings.json``: the outcome (verdict, counts, rotation list), then every finding."""

    schema_version: str
    host: FindingsHost
    outcome: OutcomeDoc
    findings: Tuple[Finding, ...]


@dataclass(frozen=True)
class SweepRecord:
    """``sweep.json``: a sweep's summary of its journal, each host's chosen attempt.

    Each line of ``journal/*.jsonl`` is one :class:`~sitesweep.fleet.journal.Attempt`
    (``sweep-attempt.schema.json``).
    """

    started: str
    finished: str
    agent_sha256: str
    parallel: int
    journal: str
    hosts: Tuple[Attempt, ...]


SWEEP_FILE = "sweep.json"
ATTEMPT_LINE = "sweep-attempt.json"
"""The name the schema of one journal line is published under."""

DOCUMENTS: Dict[str, Tuple[type, bool]] = {
    layout.MANIFEST: (Manifest, True),
    layout.FINDINGS: (FindingsDocument, False),
    layout.COVERAGE: (Coverage, False),
    layout.INVENTORY: (Inventory, False),
    SWEEP_FILE: (SweepRecord, True),
    ATTEMPT_LINE: (Attempt, True),
}
"""Bundle file -> (its type, whether keys beyond the type's are allowed)."""

_OMITTED = {layout.INVENTORY: ("root",)}
"""Fields of a type that its file leaves out (the scan root is in the manifest only)."""


def load(cls: Type[T], data: Any, where: str) -> T:
    """Decode a document read from a bundle into its type (every field checked).

    Raises:
        BundleError: naming the field that does not fit.
    """
    return from_plain(cls, data, where)


def _hints(cls: type) -> Dict[str, Any]:
    return typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))


def _schema(tp: Any, extra: bool) -> Dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return {}
    if origin is Union:
        return {"anyOf": [_schema(a, extra) for a in args]}
    if tp is type(None):
        return {"type": "null"}
    if origin in (tuple, typing.Tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0], extra)}
        items = [_schema(a, extra) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items)}
    if origin in (frozenset, typing.FrozenSet):
        return {"type": "array", "items": _schema(args[0], extra)}
    if origin in (dict, typing.Dict):
        return {"type": "object", "additionalProperties": _schema(args[1], extra)}
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _schema(supertype, extra)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _object(tp, extra)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _object(cls: type, extra: bool, omit: Tuple[str, ...] = ()) -> Dict[str, Any]:
    hints = _hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in omit]
    required = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {
        "type": "object",
        "title": cls.__name__,
        "properties": {f.name: _schema(hints[f.name], extra) for f in fields},
        "required": required,
        "additionalProperties": extra,
    }


def schema_of(name: str) -> Dict[str, Any]:
    """The JSON Schema of bundle file ``name`` (one of :data:`DOCUMENTS`)."""
    cls, extra = DOCUMENTS[name]
    body = _object(cls, extra, _OMITTED.get(name, ()))
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}{schema_file(name)}",
        "description": (cls.__doc__ or "").strip().split("\n", 1)[0],
        **body,
    }


def schema_file(name: str) -> str:
    """The published schema's file name for bundle file ``name``."""
    return f"{name.rsplit('.', 1)[0]}.schema.json"


def schema_text(name: str) -> str:
    """The published schema's text (sorted keys, so it diffs well)."""
    return json.dumps(schema_of(name), indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> None:
    """Write every document's schema into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in DOCUMENTS:
        (directory / schema_file(name)).write_text(schema_text(name), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - the regeneration command in the docstring
    write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas"))
