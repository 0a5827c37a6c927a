"""``run_analyze`` takes packs loaded once by a caller that analyses many bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Set

from builders import FakeRoot
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.pipeline import ScanOptions, run_analyze, run_collect

SITE = "/home/alice/app/.venv/lib/python3.11/site-packages"


def test_given_packs_are_the_ones_matched(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv("/home/alice/app/.venv")
    fake_root.add_dist(SITE, "litellm", "1.82.8")
    outcome = run_collect(ScanOptions(root=fake_root.path, output=tmp_path / "c"))
    assert outcome.bundle is not None
    archive = outcome.bundle.archive

    def packs_of(packs: Optional[PackSet]) -> Set[str]:
        result = run_analyze(archive, packs=packs).result
        return {f.pack for f in result.findings if f.pack}

    assert "litellm-2026-03" in packs_of(None)
    assert packs_of(load_packs()) == packs_of(None)
    assert packs_of(load_packs((), builtin=False)) == set()
