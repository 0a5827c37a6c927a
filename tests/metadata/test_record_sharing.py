"""Identical RECORD files in many environments share one parsed tuple of rows."""

from __future__ import annotations

import csv
from typing import Dict, List, Tuple

from hypothesis import given
from hypothesis import strategies as st

from builders import FakeRoot
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.metadata.distinfo import parse_record
from sitesweep.metadata.model import RecordEntry

VENVS = ("/home/alice/a/.venv", "/home/alice/b/.venv", "/home/bob/c/.venv")


def test_identical_records_are_shared_and_equal(fake_root: FakeRoot) -> None:
    files = {"six.py": b"# six\n"}
    for venv in VENVS:
        fake_root.add_venv(venv)
        site = f"{venv}/lib/python3.11/site-packages"
        fake_root.add_dist(site, "six", "1.16.0", files=files)
        fake_root.add_dist(site, "idna", "3.7", files={"idna/__init__.py": venv.encode()})
    inv = collect_inventory(
        HostRoot(fake_root.path), CollectSpec(live_processes=False, verify_record=True)
    )
    six = [d for d in inv.distributions if d.name == "six"]
    idna = [d for d in inv.distributions if d.name == "idna"]
    assert len(six) == len(idna) == len(VENVS)
    assert all(d.record is six[0].record for d in six)
    assert six[0].record[0].path == "six.py"
    # idna's files differ per venv, so do its RECORDs: nothing is shared between them.
    assert len({id(d.record) for d in idna}) == len(VENVS)
    for dist in six + idna:
        text = (fake_root.path / dist.path.lstrip("/") / "RECORD").read_text()
        assert dist.record == parse_record(text)[0]


ROW_PARTS = st.sampled_from(
    ["pkg/a.py", "sha256=AbC", "12", "", " 7 ", "x", "1e3", '"q,uoted"', '"', "\0", "\t"]
)
LINES = st.lists(ROW_PARTS, max_size=4).map(",".join)
SEPARATORS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\u2028", "\n\n"])


@given(st.lists(st.tuples(LINES, SEPARATORS), max_size=8), st.lists(LINES, max_size=4))
def test_rows_shared_by_line_parse_as_csv_does(
    rows: List[Tuple[str, str]], seen: List[str]
) -> None:
    """With rows shared by line text (across one collection's RECORDs), every RECORD still
    parses to what csv reads of it, problems (line numbers, csv's refusals) included."""
    text = "".join(line + end for line, end in rows)
    shared: Dict[str, RecordEntry] = {}
    parse_record("\n".join(seen), shared)  # lines of an earlier RECORD
    assert parse_record(text, shared) == parse_record(text)


def test_the_rows_of_two_installers_variants_are_one_parse(fake_root: FakeRoot) -> None:
    """pip's RECORD lists the .pyc it compiled, uv's does not: the rows both list are shared
    within a collection, so each is one entry."""
    files = {"six.py": b"# six\n"}
    pip_site = f"{VENVS[0]}/lib/python3.11/site-packages"
    uv_site = f"{VENVS[1]}/lib/python3.11/site-packages"
    for venv, site, installer in ((VENVS[0], pip_site, "pip"), (VENVS[1], uv_site, "uv")):
        fake_root.add_venv(venv)
        fake_root.add_dist(site, "six", "1.16.0", files=files, installer=installer)
    record = fake_root.host(f"{pip_site}/six-1.16.0.dist-info/RECORD")
    record.write_text(record.read_text() + "__pycache__/six.cpython-311.pyc,,\n")
    inv = collect_inventory(
        HostRoot(fake_root.path), CollectSpec(live_processes=False, verify_record=True)
    )
    pip, uv = sorted((d for d in inv.distributions if d.name == "six"), key=lambda d: d.path)
    assert pip.record is not uv.record
    assert pip.record[0] is uv.record[0], "six.py's row: one entry"
    for dist in (pip, uv):
        text = (fake_root.path / dist.path.lstrip("/") / "RECORD").read_text()
        assert dist.record == parse_record(text)[0]


def test_a_row_over_csvs_field_limit_is_refused_as_csv_refuses_it() -> None:
    text = "a.py,sha256=x,1\n" + "b" * (csv.field_size_limit() + 1) + ",,\nc.py,,\n"
    entries, problems = parse_record(text, {})
    assert (entries, problems) == parse_record(text)
    assert [e.path for e in entries] == ["a.py"]
    assert len(problems) == 1
    assert "field larger than field limit" in problems[0]
