"""Every YARA rule of every built-in pack against its inert samples (tests/samples/<rule>/).

``match/`` must hold at least one sample and every sample must match; every ``benign/`` sample (a
near-miss) must not. A rule without a match sample fails here instead of passing vacuously.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from sitesweep.packs import load_packs, yara_paths
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import CompiledRules, YaraHit, rule_names

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _builtin_rules() -> List[Tuple[str, str]]:
    """(pack id, rule name) for every rule of every built-in pack, in a stable order."""
    packs = load_packs(builtin=True)
    return [
        (pack.id, name)
        for pack in packs.packs
        for path in yara_paths(pack)
        for name in rule_names(path)
    ]


BUILTIN_RULES = _builtin_rules()


@pytest.fixture(scope="module")
def builtin() -> PackSet:
    return load_packs(builtin=True)


def _compiled(packs: PackSet) -> CompiledRules:
    assert packs.yara is not None, "built-in packs with YARA files must compile"
    return packs.yara


def _hits(rules: CompiledRules, sample: Path, pack: str, rule: str) -> List[YaraHit]:
    return [h for h in rules.match(sample.read_bytes()) if (h.pack, h.rule) == (pack, rule)]


def _files(directory: Path) -> List[Path]:
    return sorted(p for p in directory.glob("*") if p.is_file()) if directory.is_dir() else []


def test_builtin_packs_have_rules() -> None:
    assert ("litellm-2026-03", "litellm_pth_loader") in BUILTIN_RULES
    assert len(BUILTIN_RULES) >= 3


def test_rule_names_are_unique_so_sample_dirs_are_unambiguous() -> None:
    names = [rule for _, rule in BUILTIN_RULES]
    assert len(names) == len(set(names))


def test_every_sample_dir_belongs_to_a_rule() -> None:
    names = {rule for _, rule in BUILTIN_RULES}
    orphans = [d.name for d in SAMPLES.iterdir() if d.is_dir() and d.name not in names]
    assert orphans == []


@pytest.mark.parametrize(("pack", "rule"), BUILTIN_RULES, ids=[r for _, r in BUILTIN_RULES])
def test_rule_matches_every_match_sample(builtin: PackSet, pack: str, rule: str) -> None:
    samples = _files(SAMPLES / rule / "match")
    assert samples, f"rule {rule} of {pack} has no sample in tests/samples/{rule}/match/"
    rules = _compiled(builtin)
    missed = [s.name for s in samples if not _hits(rules, s, pack, rule)]
    assert missed == []


@pytest.mark.parametrize(("pack", "rule"), BUILTIN_RULES, ids=[r for _, r in BUILTIN_RULES])
def test_rule_ignores_every_benign_sample(builtin: PackSet, pack: str, rule: str) -> None:
    samples = _files(SAMPLES / rule / "benign")
    assert samples, f"rule {rule} of {pack} has no near-miss in tests/samples/{rule}/benign/"
    rules = _compiled(builtin)
    matched = [s.name for s in samples if _hits(rules, s, pack, rule)]
    assert matched == []


@pytest.mark.parametrize(("pack", "rule"), BUILTIN_RULES, ids=[r for _, r in BUILTIN_RULES])
def test_rule_meta_is_complete(builtin: PackSet, pack: str, rule: str) -> None:
    sample = _files(SAMPLES / rule / "match")[0]
    hit = _hits(_compiled(builtin), sample, pack, rule)[0]
    for key in ("id", "severity", "description", "reference"):
        assert hit.meta_text(key), f"rule {rule}: meta {key} missing"
    assert hit.strings, "a match reports the offsets of its strings"
