"""The fast bundle JSON writer writes exactly the bytes ``json.dumps`` wrote before it.

Every bundle document (inventory, findings, SBOM...) was ``json.dumps(_plain(value),
sort_keys=True, indent=2, ensure_ascii=True)``; ``analyze``, ``verify`` and other tools read those
bytes, so :mod:`sitesweep.bundle.jsontext` must write the same ones, whole or in pieces.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import FakeRoot, malicious_pth_content
from scanrun import scan
from sitesweep.bundle import jsontext
from sitesweep.bundle.serialize import _plain, dumps, inventory_chunks, inventory_doc
from sitesweep.exports.common import csv_text, host_cells
from sitesweep.exports.sbom import render_sbom, sbom_chunks
from sitesweep.exports.timeline import (
    COLUMNS,
    build_timeline,
    timeline_csv,
    timeline_csv_chunks,
    timeline_jsonl,
    timeline_jsonl_chunks,
)
from sitesweep.model import Severity
from sitesweep.pipeline import ScanOptions, run_scan

pytestmark = pytest.mark.nonroot


def _stdlib(value: object) -> str:
    """What the bundle writer wrote before :mod:`jsontext` existed."""
    return json.dumps(_plain(value), sort_keys=True, indent=2, ensure_ascii=True) + "\n"


class Colour(Enum):
    RED = "red"
    NUMBER = 7


@dataclasses.dataclass(frozen=True)
class Leaf:
    name: str
    size: Optional[int]
    ratio: float
    flag: bool
    colour: Colour
    severity: Severity


@dataclasses.dataclass(frozen=True)
class Node:
    zeta: Tuple[Leaf, ...]
    alpha: Tuple[str, ...]
    mapping: Tuple[Tuple[str, int], ...]
    empty: Tuple[int, ...] = ()


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=12),
)
PLAIN = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
        st.dictionaries(st.integers(min_value=0, max_value=9), inner, max_size=3),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=20,
)
LEAVES = st.builds(
    Leaf,
    st.text(max_size=8),
    st.one_of(st.none(), st.integers()),
    st.floats(allow_nan=False),
    st.booleans(),
    st.sampled_from(list(Colour)),
    st.sampled_from(list(Severity)),
)
NODES = st.builds(
    Node,
    st.lists(LEAVES, max_size=3).map(tuple),
    st.lists(st.text(max_size=5), max_size=3).map(tuple),
    st.lists(st.tuples(st.text(max_size=3), st.integers()), max_size=3).map(tuple),
)


@given(PLAIN)
def test_plain_values_encode_as_the_standard_library_does(value: Any) -> None:
    assert jsontext.dumps(value) == _stdlib(value)


@given(st.one_of(NODES, st.lists(NODES, max_size=3), st.dictionaries(st.text(), NODES)))
def test_model_objects_encode_as_their_plain_form_does(value: Any) -> None:
    assert dumps(value) == _stdlib(value)


@given(st.lists(NODES, max_size=4), st.dictionaries(st.text(max_size=4), PLAIN, max_size=3))
def test_streamed_pieces_join_to_the_whole_document(items: Any, extra: Any) -> None:
    doc = {**extra, "items": jsontext.JsonArray(iter(items)), "rest": jsontext.JsonArray(())}
    plain = {**extra, "items": items, "rest": []}
    assert "".join(jsontext.chunks(doc)) + "\n" == _stdlib(plain)


def test_replaced_encodes_as_dataclasses_replace() -> None:
    leaf = Leaf("a", 1, 0.5, True, Colour.RED, Severity.HIGH)
    changed = jsontext.Replaced(leaf, name="b", size=None)
    assert jsontext.dumps(changed) == _stdlib(dataclasses.replace(leaf, name="b", size=None))


def test_undecodable_names_are_escaped_the_same_way() -> None:
    value = {"path": "/opt/caf\udce9/x", "text": '\u00e9\U0001f600\n\t"\\'}
    assert jsontext.dumps(value) == _stdlib(value)


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps(object())


def test_bundle_documents_and_exports_are_unchanged(tmp_path: Path) -> None:
    """A whole scan: the inventory, SBOM and timeline, whole and streamed, as before."""
    fake = FakeRoot(tmp_path / "host")
    fake.add_venv("/srv/app/.venv")
    site = "/srv/app/.venv/lib/python3.11/site-packages"
    for n in range(5):
        fake.add_dist(site, f"pkg{n}", "1.0")
    fake.add_dist(site, "litellm", "1.82.8")
    fake.add_pth(site, "litellm_init.pth", malicious_pth_content(fake.marker))
    result = run_scan(ScanOptions(root=fake.path, output=None)).result
    assert "".join(inventory_chunks(result)) == _stdlib(inventory_doc(result))
    sbom = render_sbom(result, "seed", "2026-03-25T00:00:00Z")
    assert "".join(sbom_chunks(result, "seed", "2026-03-25T00:00:00Z")) == sbom
    assert sbom == json.dumps(json.loads(sbom), sort_keys=True, indent=2, ensure_ascii=True) + "\n"
    events = build_timeline(result)
    host = host_cells(result)
    assert len(events) > 5
    assert "".join(timeline_csv_chunks(events, host)) == timeline_csv(events, host)
    assert timeline_csv(events, host) == csv_text(
        COLUMNS, ([e.row(host)[c] for c in COLUMNS] for e in events)
    )
    assert "".join(timeline_jsonl_chunks(events, host)) == timeline_jsonl(events, host)
    assert timeline_jsonl(events, host) == "".join(
        json.dumps(e.row(host), sort_keys=True, ensure_ascii=True) + "\n" for e in events
    )
    assert not fake.marker.exists()


def test_a_shared_value_is_encoded_once_per_indentation_as_itself() -> None:
    leaf = Leaf("a", 1, 0.5, True, Colour.RED, Severity.HIGH)
    rows = (leaf, leaf)
    texts: Dict[str, str] = {}
    doc = {"one": jsontext.Shared(rows, texts), "deeper": {"two": jsontext.Shared(rows, texts)}}
    assert jsontext.dumps(doc) == _stdlib({"one": rows, "deeper": {"two": rows}})
    assert len(texts) == 2, "one text per indentation"


def test_shared_record_rows_and_the_evidence_index_are_written_as_before(tmp_path: Path) -> None:
    """The same release in three environments (one RECORD tuple, its rows written once and
    reused) and an affected one: inventory.json and evidence/index.json (content and
    facts-only entries) are the standard library's text of what they hold."""
    fake = FakeRoot(tmp_path / "host")
    for n in range(3):
        fake.add_venv(f"/srv/app{n}/.venv")
        site = f"/srv/app{n}/.venv/lib/python3.11/site-packages"
        fake.add_dist(site, "litellm", "1.82.6", files={"litellm/caf\u00e9.py": b"x = 1\n"})
    bad = "/srv/app0/.venv/lib/python3.11/site-packages"
    fake.add_pth(bad, "litellm_init.pth", malicious_pth_content(fake.marker))
    result = run_scan(ScanOptions(root=fake.path, output=None)).result
    installs = [d for d in result.inventory.distributions if d.name == "litellm"]
    assert len({id(d.record) for d in installs}) == 1
    assert "".join(inventory_chunks(result)) == _stdlib(inventory_doc(result))
    code, bundle = scan(fake.path, tmp_path / "out")
    assert code == 1
    for name in ("inventory.json", "evidence/index.json"):
        text = (bundle / name).read_text(encoding="utf-8")
        assert text == _stdlib(json.loads(text)), name
    kept = {e["kept"] for e in json.loads((bundle / "evidence/index.json").read_text())}
    assert kept == {"content", "hashed only"}
    assert not fake.marker.exists()
