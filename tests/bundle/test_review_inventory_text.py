"""inventory.json is written one distribution at a time and never held whole: the text of a
RECORD's rows is kept for reuse only while another install listing the same rows is still to
be written (the same release in many environments), not for every targeted distribution.

Eight environments each hold litellm 1.82.6 with its own RECORD (a different set of files), and
two more hold one shared RECORD text. The document stays the standard library's text of it, and
writing it holds about one distribution's text at a time, not all eight."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

from builders import FakeRoot
from sitesweep.bundle.serialize import _plain, inventory_chunks, inventory_doc
from sitesweep.pipeline import ScanOptions, run_scan

DISTINCT = 8
FILES = 400


def _site(name: str) -> str:
    return f"/srv/{name}/.venv/lib/python3.11/site-packages"


def test_rows_of_distinct_records_are_not_all_held_while_written(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path / "host")
    for n in range(DISTINCT):
        fake.add_venv(f"/srv/app{n}/.venv")
        files = {f"litellm/proxy/ui/app{n}/chunk{i:04d}.js": b"x\n" for i in range(FILES)}
        fake.add_dist(_site(f"app{n}"), "litellm", "1.82.6", files=files)
    for n in range(2):  # one release twice: one RECORD text
        fake.add_venv(f"/srv/same{n}/.venv")
        fake.add_dist(_site(f"same{n}"), "litellm", "1.82.6", files={"litellm/a.py": b"a\n"})
    result = run_scan(ScanOptions(root=fake.path, output=None)).result
    installs = [d for d in result.inventory.distributions if d.name == "litellm"]
    assert len({id(d.record) for d in installs}) == DISTINCT + 1

    pieces = list(inventory_chunks(result))
    text = "".join(pieces)
    want = json.dumps(_plain(inventory_doc(result)), sort_keys=True, indent=2, ensure_ascii=True)
    assert text == want + "\n"
    largest = max(len(p) for p in pieces)

    gc.collect()
    tracemalloc.start()
    try:
        for piece in inventory_chunks(result):
            del piece
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one distribution's text and its parts at a time; all eight held would be 8x its text
    assert peak < 4 * largest, (peak, largest)
