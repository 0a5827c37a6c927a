"""Benchmark sitesweep against the floor (``find``) and a responder's alternatives.

Every measured thing runs as a child process; its wall time comes from the parent's clock, its
CPU time (user + sys) and peak RSS from ``os.wait4``. Rows are measured in paired rounds: one
warm-up round (page cache), then ``--repeat`` rounds, each running the floor (``find``) and then
every other row once; a row reports the median of its rounds, and its ratio to the floor is the
median of the per-round ratios (each against the same round's ``find``), so load from other
work on the machine weighs on both sides of a pair. The load average is recorded before and after.

Usage (trees from ``bench/generate.py``)::

    .venv/bin/python bench/run.py /tmp/sitesweep-bench/small /tmp/sitesweep-bench/medium \
        /tmp/sitesweep-bench/large --json /tmp/sitesweep-bench/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from measure import Measure, median, run_child, table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHILD = [sys.executable, str(HERE / "child.py")]
FLOOR = "find"
PIP_LIST_MAX_DISTS = 5_000
"""The pip loop is measured on trees up to this many distributions (the small one)."""


def run_loop(argvs: Sequence[Sequence[str]]) -> Measure:
    """Run children one after another: wall and CPU add up, RSS is the largest."""
    parts = [run_child(a) for a in argvs]
    return Measure(
        "loop",
        sum(p.wall for p in parts),
        sum(p.cpu for p in parts),
        max(p.rss_mb for p in parts),
        {"runs": len(parts)},
    )


def paired(named: Sequence[Tuple[str, Callable[[], Measure]]], repeat: int) -> List[Measure]:
    """Measure every row in rounds: each round runs the floor and then every other row once.

    One warm-up round first (page cache), then ``repeat`` timed rounds. A row's wall and CPU
    are the medians of its rounds; its ratios to the floor are the medians of the per-round
    ratios (each against the floor run of the same round, so machine load shared by the pair
    cancels out), kept in ``facts['wall_ratio']`` and ``facts['cpu_ratio']``.
    """
    for _, measure in named:
        measure()
    rounds = [{name: measure() for name, measure in named} for _ in range(repeat)]
    out: List[Measure] = []
    for name, _ in named:
        runs = [r[name] for r in rounds]
        floors = [r[FLOOR] for r in rounds]
        facts = dict(runs[len(runs) // 2].facts)
        facts["walls"] = [round(m.wall, 4) for m in runs]
        facts["cpus"] = [round(m.cpu, 4) for m in runs]
        facts["wall_ratio"] = median([m.wall / f.wall for m, f in zip(runs, floors)])
        facts["cpu_ratio"] = median([m.cpu / max(f.cpu, 1e-6) for m, f in zip(runs, floors)])
        if "match_seconds" in runs[0].facts:
            facts["match_seconds"] = median([float(str(m.facts["match_seconds"])) for m in runs])
        rss = max(m.rss_mb for m in runs)
        out.append(
            Measure(name, median([m.wall for m in runs]), median([m.cpu for m in runs]), rss, facts)
        )
    return out


def env_python(site: str) -> Optional[str]:
    """The environment's own interpreter, where the bench made a real venv holding pip.

    ``PREFIX/lib/pythonX.Y/site-packages`` with ``PREFIX/pyvenv.cfg``, a ``PREFIX/bin/python``
    and ``pip`` in the site dir; else ``None`` (the bench's interpreter lists it with ``--path``).
    """
    path = Path(site)
    prefix = path.parents[2] if len(path.parents) > 2 else path
    python = prefix / "bin" / "python"
    if (prefix / "pyvenv.cfg").is_file() and python.exists() and (path / "pip").is_dir():
        return str(python)
    return None


def pip_list_argvs(sites: Sequence[str]) -> List[List[str]]:
    """One ``pip list`` per environment: its own ``bin/python -m pip`` or ours ``--path``."""
    argvs = []
    for site in sites:
        own = env_python(site)
        if own is not None:
            argvs.append([own, "-m", "pip", "list", "--disable-pip-version-check"])
        else:
            argvs.append([sys.executable, "-m", "pip", "list", "--path", site])
    return argvs


def cli_rules(work: Path) -> List[Path]:
    """The packs' rule files as Debian's yara 4.2 accepts them.

    yara 4.2 refuses unreferenced strings even when named ``$_*`` (yara-python 4.5 accepts
    them as evidence-only strings), so the copies leave those string lines out: the CLI then
    searches slightly fewer strings than sitesweep does.
    """
    out = work / "cli-rules"
    copies = []
    for rule in sorted((REPO / "signatures").glob("*/yara/*.yar")):
        target = out / rule.parent.parent.name / rule.name
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = rule.read_text().splitlines(keepends=True)
        target.write_text("".join(li for li in lines if not li.lstrip().startswith("$_")))
        copies.append(target)
    return copies


def yara_cli_argv(rules: Sequence[Path], scan_list: Path) -> List[str]:
    """The Debian ``yara`` command over a list of files, printing strings and metadata."""
    named = [f"{r.parent.parent.name}:{r}" for r in rules]
    return ["yara", "-N", "-w", "-s", "-m", "-e", *named, "--scan-list", str(scan_list)]


_BUNDLE_FACTS = """
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
facts = {"archive_bytes": sum(a.stat().st_size for a in out.rglob("*.tar.gz"))}
facts["unpacked_bytes"] = sum(
    p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.name.endswith(".tar.gz")
)
for index in out.rglob("evidence/index.json"):
    kept = {}
    entries = json.loads(index.read_text())
    for entry in entries:
        kept[str(entry.get("kept"))] = kept.get(str(entry.get("kept")), 0) + 1
    facts["evidence_entries"] = len(entries)
    facts["evidence_kept"] = kept
print(json.dumps(facts))
"""


def bundle_facts(out: Path) -> Dict[str, object]:
    """The archive's size and what its evidence kept (content or hashed only).

    Read in a child process: parsing a large index here would grow this process, and every
    child forked from it afterwards would report that memory as its own peak RSS.
    """
    done = subprocess.run(
        [sys.executable, "-c", _BUNDLE_FACTS, str(out)], capture_output=True, check=True
    )
    facts: Dict[str, object] = json.loads(done.stdout)
    return facts


def measure_tree(root: Path, repeat: int, pip_list: Optional[bool]) -> Dict[str, object]:
    """Measure every row on one tree, in paired rounds; return the tree's facts and measures."""
    work = Path(tempfile.mkdtemp(prefix="sitesweep-bench-"))
    try:
        load_before = os.getloadavg()
        prep = run_child([*CHILD, "prep", str(root), str(work)], capture=True).facts
        sites = (work / "sites.txt").read_text().split()
        generated = json.loads((root / "BENCH.json").read_text())
        marker = ["(", "-name", "pyvenv.cfg", "-o", "-name", "*.dist-info", "-o", "-name"]
        marker += ["*.egg-info", "-o", "-name", "*.pth", ")"]
        named: List[Tuple[str, Callable[[], Measure]]] = [
            (FLOOR, lambda: run_child(["find", str(root), *marker])),
            (
                "importlib.metadata",
                lambda: run_child([*CHILD, "stdlib", str(work / "sites.txt")], capture=True),
            ),
        ]
        dists = int(str(prep["distributions"]))
        pips = pip_list_argvs(sites)
        if pip_list or (pip_list is None and dists <= PIP_LIST_MAX_DISTS):
            named.append(("pip list loop", lambda: run_loop(pips)))
        named.append(
            ("sitesweep walk alone", lambda: run_child([*CHILD, "walk", str(root)], capture=True))
        )
        named.append(
            (
                "sitesweep discovery+inventory",
                lambda: run_child([*CHILD, "inventory", str(root)], capture=True),
            )
        )
        named.append(
            ("sitesweep full scan", lambda: run_child([*CHILD, "scan", str(root)], capture=True))
        )
        bundle_out = work / "bundle"
        cli = [str(Path(sys.executable).parent / "sitesweep"), "scan", "--root", str(root)]

        def scan_cli() -> Measure:
            shutil.rmtree(bundle_out, ignore_errors=True)
            measure = run_child([*cli, "--output", str(bundle_out)])
            measure.facts.update(bundle_facts(bundle_out))
            return measure

        named.append(("sitesweep scan CLI (+bundle)", scan_cli))
        named.append(
            (
                "sitesweep YARA pass",
                lambda: run_child([*CHILD, "yara", str(work), str(root)], capture=True),
            )
        )
        yara_note = add_yara_cli(named, work)
        rows = paired(named, repeat)
        return {
            "root": str(root),
            "generated": generated,
            "prep": prep,
            "pip_list": {
                "own_interpreter": sum(1 for a in pips if a[0] != sys.executable),
                "with_path": sum(1 for a in pips if a[0] == sys.executable),
            },
            "load_average": {"before": load_before, "after": os.getloadavg()},
            "yara_note": yara_note,
            "rows": [asdict(r) for r in rows],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def add_yara_cli(named: List[Tuple[str, Callable[[], Measure]]], work: Path) -> str:
    """Add the yara CLI over the same candidates (and over one file, its start-up cost)."""
    if shutil.which("yara") is None:
        return "yara CLI not installed: row skipped (apt-get install yara)"
    rules = cli_rules(work)
    scan_list = work / "candidates.txt"
    one = work / "one.txt"
    one.write_text(scan_list.read_text().splitlines()[0] + "\n")
    named.append(("yara CLI", lambda: run_child(yara_cli_argv(rules, scan_list))))
    named.append(("yara CLI (1 file: start-up)", lambda: run_child(yara_cli_argv(rules, one))))
    return ""


def _exit_note(row: Dict[str, object]) -> str:
    """Say when a child did not exit 0 (for the scan CLI, 1 means findings: expected here)."""
    code = row["facts"].get("exit", 0)  # type: ignore[attr-defined]
    if code == 0:
        return ""
    if code == 1 and "CLI" in str(row["name"]) and "yara" not in str(row["name"]):
        return " (exit 1: findings)"
    return f" (FAILED: exit {code})"


def tree_table(tree: Dict[str, object]) -> str:
    """Rows of one tree with their ratios to the floor."""
    rows = tree["rows"]
    assert isinstance(rows, list)
    floor = next(r for r in rows if r["name"] == FLOOR)
    body = [
        [
            r["name"] + _exit_note(r),
            f"{r['wall']:.3f}",
            f"{r['cpu']:.3f}",
            f"{r['rss_mb']:.0f}",
            f"{r['facts'].get('wall_ratio', r['wall'] / floor['wall']):.2f}x",
            f"{r['facts'].get('cpu_ratio', r['cpu'] / max(floor['cpu'], 1e-6)):.2f}x",
        ]
        for r in rows
    ]
    head = ["measure", "wall s", "CPU s", "peak RSS MB", "wall / find", "CPU / find"]
    return table(head, body)


def yara_line(tree: Dict[str, object]) -> str:
    """YARA throughput: sitesweep's matching loop against the yara CLI minus its start-up."""
    rows = {r["name"]: r for r in tree["rows"]}  # type: ignore[attr-defined]
    size = int(tree["prep"]["yara_bytes"])  # type: ignore[index]
    ours = rows.get("sitesweep YARA pass")
    cli, start = rows.get("yara CLI"), rows.get("yara CLI (1 file: start-up)")
    if ours is None or cli is None or start is None:
        return f"\nYARA throughput: {tree['yara_note']}"
    loop = float(ours["facts"]["match_seconds"])
    cli_time = max(cli["wall"] - start["wall"], 1e-6)
    mine, theirs = size / loop / 1e6, size / cli_time / 1e6
    return (
        f"\nYARA throughput over {size / 1e6:.1f} MB: sitesweep matching loop {mine:.1f} MB/s "
        f"({loop:.3f} s), yara CLI {theirs:.1f} MB/s ({cli_time:.3f} s after start-up): "
        f"{mine / theirs:.2f}x. Whole processes, start-up included: "
        f"{cli['wall'] / ours['wall']:.2f}x."
    )


def growth_table(trees: Sequence[Dict[str, object]]) -> str:
    """How each row grows: wall ms per 1,000 distributions and per 100k files, RSS, per size."""
    names = [r["name"] for r in trees[0]["rows"]]  # type: ignore[index]
    body = []
    for name in names:
        cells = [name]
        for tree in trees:
            row = next((r for r in tree["rows"] if r["name"] == name), None)  # type: ignore[attr-defined]
            gen = tree["generated"]
            if row is None:
                cells.append("-")
                continue
            per_k = row["wall"] / (gen["dists"] / 1000) * 1000  # type: ignore[index]
            per_100k = row["wall"] / (gen["files"] / 100_000) * 1000  # type: ignore[index]
            cells.append(f"{per_k:.0f} / {per_100k:.0f} / {row['rss_mb']:.0f}")
        body.append(cells)
    head = ["measure"] + [
        f"{t['generated']['size']}: ms per 1k dists / ms per 100k files / RSS MB"  # type: ignore[index]
        for t in trees
    ]
    return table(head, body)


def main() -> int:
    """Measure every tree given and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, help="trees made by bench/generate.py")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measure")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    pip = parser.add_mutually_exclusive_group()
    pip.add_argument("--pip-list", dest="pip_list", action="store_true", default=None)
    pip.add_argument("--no-pip-list", dest="pip_list", action="store_false")
    parser.add_argument(
        "--from-json",
        nargs="+",
        type=Path,
        default=(),
        help="also print the trees of earlier --json results (measured in other runs)",
    )
    args = parser.parse_args()
    results = [t for path in args.from_json for t in json.loads(path.read_text())["trees"]]
    for root in args.trees:
        print(f"measuring {root} ...", file=sys.stderr)
        results.append(measure_tree(root.resolve(), args.repeat, args.pip_list))
    results.sort(key=lambda t: int(t["generated"]["dists"]))  # type: ignore[index]
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "repeat": args.repeat}
    for tree in results:
        gen = tree["generated"]
        prep = tree["prep"]
        print(
            f"\n## {gen['size']}: {gen['envs']} environments, {gen['dists']} distributions, "  # type: ignore[index]
            f"{gen['files']} files; YARA candidates: {prep['yara_candidates']} files, "  # type: ignore[index]
            f"{prep['yara_bytes']} bytes. {tree['yara_note']}\n"  # type: ignore[index]
        )
        print(tree_table(tree))
        print(yara_line(tree))
    if len(results) > 1:
        print("\n## Growth\n")
        print(growth_table(results))
    if args.json:
        measured = [t for t in results if t["root"] in {str(r.resolve()) for r in args.trees}]
        args.json.write_text(json.dumps({"machine": info, "trees": measured}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
