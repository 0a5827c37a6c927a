"""Identical RECORD files in many environments share one parsed tuple of rows."""

from __future__ import annotations

from builders import FakeRoot
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.metadata.distinfo import parse_record

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
