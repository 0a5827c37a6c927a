"""The package index's answers as a file of the analysis (``index-witness.json``), for custody."""

from __future__ import annotations

import dataclasses
import json

from sitesweep.intel.model import IndexWitness

INDEX_WITNESS = "index-witness.json"
"""What the index said of each release, every request and answer, and the gaps."""


def witness_json(witness: IndexWitness) -> bytes:
    """Return ``witness`` as indented JSON (UTF-8)."""
    doc = dataclasses.asdict(witness)
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
