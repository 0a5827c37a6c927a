"""RECORD is read only where a pack's target could be: elsewhere only METADATA is read."""

from __future__ import annotations

from typing import Dict

from builders import FakeRoot
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, Inventory, collect_inventory
from sitesweep.metadata.distinfo import scan_headers
from sitesweep.metadata.model import Distribution

CLEAN = "/home/alice/clean/.venv/lib/python3.11/site-packages"
HIT = "/home/alice/hit/.venv/lib/python3.11/site-packages"
TARGETS = frozenset({"litellm"})


def _collect(root: FakeRoot, verify_all: bool = False) -> Inventory:
    spec = CollectSpec(live_processes=False, verify_targets=TARGETS, verify_record=verify_all)
    return collect_inventory(HostRoot(root.path), spec)


def _by_site(inv: Inventory, site: str) -> Dict[str, Distribution]:
    return {d.name: d for d in inv.distributions if d.site_dir == site}


def _read(dist: Distribution) -> bool:
    """Whether a distribution's RECORD was read (its rows and their count are there)."""
    return dist.record_rows == len(dist.record) > 0


def _install(root: FakeRoot) -> None:
    for site in (CLEAN, HIT):
        root.add_venv(site.split("/lib/")[0])
        root.add_dist(site, "six", "1.16.0", files={"six.py": b"# six\n"})
    root.add_dist(HIT, "litellm", "1.83.0")


def test_record_is_not_read_where_nothing_is_targeted(fake_root: FakeRoot) -> None:
    _install(fake_root)
    inv = _collect(fake_root)
    six = _by_site(inv, CLEAN)["six"]
    assert six.record == ()
    assert six.record_rows is None
    # In the site dir of a target, every RECORD is read (unlisted files are judged against all).
    hit = _by_site(inv, HIT)
    assert _read(hit["six"])
    assert "six.py" in {e.path for e in hit["six"].record}
    assert _read(hit["litellm"])
    assert [c.name for c in inv.record_checks] == ["litellm"]


def test_verify_record_reads_every_record(fake_root: FakeRoot) -> None:
    _install(fake_root)
    inv = _collect(fake_root, verify_all=True)
    assert all(_read(d) for d in inv.distributions)
    assert sorted(c.site_dir for c in inv.record_checks) == [CLEAN, HIT, HIT]


def test_target_package_under_another_name_is_read(fake_root: FakeRoot) -> None:
    """A renamed distribution that ships the targeted top-level package is still verified."""
    fake_root.add_venv(CLEAN.split("/lib/")[0])
    fake_root.add_dist(CLEAN, "llm-helper", "0.1", files={"litellm/__init__.py": b"x = 1\n"})
    inv = _collect(fake_root)
    (dist,) = inv.distributions
    assert _read(dist)
    assert [(c.name, c.top_levels) for c in inv.record_checks] == [("llm-helper", ("litellm",))]


def test_metadata_name_not_dir_name_decides(fake_root: FakeRoot) -> None:
    """The directory says ``innocent`` but METADATA says litellm: METADATA is what counts."""
    fake_root.add_venv(CLEAN.split("/lib/")[0])
    meta = fake_root.add_dist(CLEAN, "innocent", "1.0", files={"innocent.py": b"\n"})
    text = (meta / "METADATA").read_text().replace("Name: innocent", "Name: litellm")
    (meta / "METADATA").write_text(text)
    inv = _collect(fake_root)
    (dist,) = inv.distributions
    assert dist.name == "litellm"
    assert _read(dist)
    assert [c.name for c in inv.record_checks] == ["litellm"]


def test_header_scanner_rules() -> None:
    block = "metadata-version: 2.1\nNAME: a\n  b\nVersion: 1\nVersion: 2\nnot a header\nName: x"
    values, repeated = scan_headers(block)
    assert values == {"metadata-version": "2.1", "name": "a b"}
    assert repeated == ["version"]
    assert scan_headers("Name: a\r\nVersion: 3\rSummary: s\n") == (
        {"name": "a", "version": "3"},
        [],
    )
