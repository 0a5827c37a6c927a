"""The collector contract: every collector registered once, declaring its OSes and observations,
and one guard that turns any failure into a named gap while the scan goes on."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import List, Set

import sitesweep.collectors
from builders import FakeRoot
from scanrun import load, scan
from sitesweep.collectors.base import CollectContext, Collected, Collector, Observed
from sitesweep.collectors.registry import COLLECTORS, run_collectors
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec
from sitesweep.model import GapReason
from sitesweep.osprofile.model import KNOWN_OSES, OsFamily
from sitesweep.progress import NullProgress


def _all_subclasses(cls: type) -> List[type]:
    found: List[type] = []
    subs: List[type] = cls.__subclasses__()
    for sub in subs:
        found += [sub, *_all_subclasses(sub)]
    return found


def test_every_collector_class_is_registered_once() -> None:
    for info in pkgutil.walk_packages(sitesweep.collectors.__path__, "sitesweep.collectors."):
        importlib.import_module(info.name)
    defined = {c for c in _all_subclasses(Collector) if c.__module__.startswith("sitesweep.")}
    assert defined
    registered = [type(c) for c in COLLECTORS]
    assert len(registered) == len(set(registered))
    assert defined == set(registered)


def test_ids_are_unique_and_each_declares_its_oses_and_observations() -> None:
    ids = [c.id for c in COLLECTORS]
    assert len(ids) == len(set(ids))
    names = Observed.names()
    for collector in COLLECTORS:
        assert collector.oses, collector.id
        assert collector.oses <= KNOWN_OSES, collector.id
        assert collector.observes, collector.id
        assert set(collector.observes) <= names, collector.id
        assert collector.summary, collector.id


def test_every_need_is_observed_by_an_earlier_collector_and_every_field_by_one() -> None:
    seen: Set[str] = set()
    for collector in COLLECTORS:
        missing = set(collector.needs) - seen
        assert not missing, (collector.id, missing)
        seen.update(collector.observes)
    assert seen == Observed.names()


def test_a_lockfile_that_crashes_its_parser_is_a_gap_naming_it_and_the_scan_goes_on(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    """A 504-byte ``uv.lock`` of nested ``[`` (RecursionError in the TOML parser): one gap."""
    fake_root.add_venv("/home/alice/app/.venv")
    fake_root.add_file("/home/alice/app/uv.lock", "a=" + "[" * 502)
    fake_root.add_file("/home/bob/app/requirements.txt", "litellm==1.82.8\n")
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 0
    gaps = load(bundle, "coverage.json")["gaps"]
    named = [g for g in gaps if g["path"] == "/home/alice/app/uv.lock"]
    assert named
    assert named[0]["area"] == "lockfiles"
    assert named[0]["reason"] in {"collector_failed", "parse_error"}  # parse_error once bounded
    inventory = load(bundle, "inventory.json")
    assert "/home/bob/app/requirements.txt" in [lock["path"] for lock in inventory["lockfiles"]]
    assert inventory["environments"], "the other collectors still ran"
    assert not fake_root.marker.exists()


class _Exploding(Collector):
    id = "exploding"
    oses = KNOWN_OSES
    observes = ("users",)
    summary = "raises, as a collector meeting an input its author never thought of"

    def collect(self, ctx: CollectContext) -> Collected:
        raise MemoryError("bounded input, unbounded parser")


class _Overreaching(Collector):
    id = "overreaching"
    oses = frozenset({OsFamily.LINUX})
    observes = ("users",)
    summary = "returns an observation it did not declare"

    def collect(self, ctx: CollectContext) -> Collected:
        return Collected({"processes": ()})


class _WindowsOnly(Collector):
    id = "windows-only"
    oses = frozenset({OsFamily.WINDOWS})
    observes = ("persistence",)
    summary = "serves Windows alone"

    def collect(self, ctx: CollectContext) -> Collected:
        raise AssertionError("never run on Linux")


def test_the_loop_turns_failures_into_gaps_and_names_areas_no_collector_serves(
    fake_root: FakeRoot,
) -> None:
    fake_root.add_os_release()
    root = HostRoot(fake_root.path)
    ctx = CollectContext(root, CollectSpec(), NullProgress(), OsFamily.LINUX)
    collectors = (_Exploding(), _Overreaching(), _WindowsOnly(), *COLLECTORS[:1])
    seen, gaps = run_collectors(ctx, collectors)
    by_area = {g.area: g for g in gaps}
    assert by_area["exploding"].reason is GapReason.COLLECTOR_FAILED
    assert "MemoryError" in by_area["exploding"].detail
    assert by_area["overreaching"].reason is GapReason.COLLECTOR_FAILED
    assert "undeclared" in by_area["overreaching"].detail
    assert by_area["windows-only"].reason is GapReason.NOT_COLLECTED
    assert seen.users == ()
    assert seen.processes == ()
    assert seen.identity.hostname == "fixture-host"
