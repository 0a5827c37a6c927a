"""``--no-builtin-packs``: scan, collect and analyze judge with the heuristics alone."""

from __future__ import annotations

from pathlib import Path

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, load, only_bundle, scan
from sitesweep.cli import main


def _host(root: FakeRoot) -> None:
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_venv(VENV)
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))


def _rules(bundle: Path) -> set[str]:
    return {f["rule"] for f in load(bundle, "findings.json")["findings"]}


def test_scan_without_builtin_packs_loads_none_and_still_grades(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    _host(fake_root)
    code, with_packs = scan(fake_root.path, tmp_path / "a")
    assert code == 1
    assert "litellm-2026-03/affected/litellm" in _rules(with_packs)

    code, bundle = scan(fake_root.path, tmp_path / "b", "--no-builtin-packs")
    assert code == 1  # the .pth grader alone says high
    rules = _rules(bundle)
    assert "heuristic/pth-exec" in rules
    assert not any(r.startswith("litellm-2026-03/") for r in rules)
    assert load(bundle, "manifest.json")["packs"] == []
    assert not fake_root.marker.exists()


def test_collect_and_analyze_take_no_builtin_packs(fake_root: FakeRoot, tmp_path: Path) -> None:
    _host(fake_root)
    out = tmp_path / "c"
    assert main(["collect", "--root", str(fake_root.path), "--output", str(out)]) == 0
    bundle = only_bundle(out)
    assert (
        main(["analyze", str(bundle), "--no-builtin-packs", "--output", str(tmp_path / "d")]) == 1
    )
    analysis = only_bundle(tmp_path / "d")
    rules = _rules(analysis)
    assert "heuristic/pth-exec" in rules
    assert not any(r.startswith("litellm-2026-03/") for r in rules)
    assert (
        main(
            [
                "collect",
                "--root",
                str(fake_root.path),
                "--output",
                str(tmp_path / "e"),
                "--no-builtin-packs",
            ]
        )
        == 0
    )
    assert load(only_bundle(tmp_path / "e"), "manifest.json")["packs"] == []
    assert not fake_root.marker.exists()
