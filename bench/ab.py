"""Compare two revisions of sitesweep on one tree, in paired rounds of the scan CLI.

Each revision is materialised with ``git archive`` (its ``src/`` and ``signatures/``) into a
temporary directory; the new side may instead be the working tree this script sits in (the
default). Each run is a child process, ``python -I bench/abchild.py SRC ... scan --root TREE
--output DIR``: the same interpreter and installed dependencies for both sides, each importing
sitesweep from its own ``src`` (checked). One warm-up run of each side (page cache), then
``--rounds`` rounds of old and new, the order flipped every round. Per side: the median wall
time, CPU (user + sys, from ``os.wait4``), peak RSS (``ru_maxrss``), archive size and exit code;
and the median of the per-round new/old CPU ratios, each from one round's pair, so load from
other work on the machine weighs on both sides. The load average is recorded at every round.

Then the last round's bundles are compared: ``findings.json``, ``inventory.json``,
``coverage.json`` and ``evidence/index.json``, with what differs from run to run removed (ids,
times, durations, the tool's own version and digest, output paths, reuse counters). Which
documents differ is printed; a difference is reported, not fatal (a change may mean it).

``--phases``: the CPU of each collector (by id), of ``analyze`` and of ``write_bundle``, timed
inside the child by wrappers (``bench/abchild.py``); the scanner itself is not changed.

    .venv/bin/python bench/ab.py --old 0d2ff0f /tmp/sitesweep-bench/.git/objects/realistic
    .venv/bin/python bench/ab.py --old main~3 --new main TREE --rounds 5 --phases --json F

Outputs go under ``--work DIR`` (a directory of the user's, emptied of what this run made at
the end) or a temporary directory; never into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from measure import REPO, Measure, median, run_child, table

HERE = Path(__file__).resolve().parent
CHILD = HERE / "abchild.py"
WORKTREE = "worktree"
SIDES = ("old", "new")
DOCUMENTS = ("findings.json", "inventory.json", "coverage.json", "evidence/index.json")

VOLATILE = frozenset(
    {
        # ids and times of the run (the four documents hold few: findings[].id)
        "id",
        "scan_id",
        "run_id",
        "started",
        "finished",
        "generated",
        # the tool's own version and digest, and where it wrote (none in the four today)
        "tool_version",
        "tool_digest",
        "sitesweep_version",
        "output",
        "output_dir",
    }
)
"""Keys dropped wherever they occur in a document before the two sides are compared."""
VOLATILE_PATTERN = re.compile(r"(^|_)(reused|searched|seconds|duration)$")
"""Keys dropped by pattern: reuse and work counters (``record_checks[].reused``, and
``js_searched``/``js_reused`` should a document carry them), which say how the work was done
rather than what was found; and durations."""


@dataclass
class Side:
    """One revision under comparison: what it is and where its ``src`` is."""

    name: str
    rev: str
    commit: str
    src: Path
    archive_dir: Optional[Path] = None
    runs: List[Measure] = field(default_factory=list)


def git(*args: str) -> str:
    """A git command in the repository, its output stripped."""
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=True)
    return done.stdout.decode().strip()


def materialise(name: str, rev: str, work: Path) -> Side:
    """The revision ``rev`` unpacked under ``work/name`` (or the working tree, not copied)."""
    if rev == WORKTREE:
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src", "signatures")
        commit = git("rev-parse", "HEAD") + (" + uncommitted changes" if dirty else "")
        return Side(name, rev, commit, REPO / "src")
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    dest = work / f"rev-{name}"
    dest.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src", "signatures"],
        stdout=subprocess.PIPE,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.stdout is not None:
        archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive {rev} failed")
    return Side(name, rev, commit, dest / "src", dest)


def archive_bytes(out: Path) -> int:
    """The size of the bundle archive(s) the scan wrote under ``out``."""
    return sum(p.stat().st_size for p in out.glob("*.tar.gz*"))


def run_side(side: Side, tree: Path, work: Path, phases: bool) -> Measure:
    """One scan of ``tree`` by ``side``'s revision, its bundle under ``work/out-NAME``."""
    out = work / f"out-{side.name}"
    shutil.rmtree(out, ignore_errors=True)
    spent = work / f"phases-{side.name}.json"
    spent.unlink(missing_ok=True)
    argv = [sys.executable, "-I", str(CHILD), str(side.src), str(spent) if phases else "-"]
    argv += ["scan", "--root", str(tree), "--output", str(out)]
    measure = run_child(argv, cwd=work, stderr=work / f"{side.name}.stderr")
    measure.name = side.name
    measure.facts["archive_bytes"] = archive_bytes(out) if out.is_dir() else 0
    measure.facts["load"] = os.getloadavg()[0]
    if phases and spent.is_file():
        measure.facts["phases"] = json.loads(spent.read_text())
    code = measure.facts["exit"]
    if code not in (0, 1):
        tail = (work / f"{side.name}.stderr").read_text(errors="replace")[-2000:]
        print(f"{side.name} ({side.rev}) exited {code}:\n{tail}", file=sys.stderr)
        if code == 3:  # abchild: not the revision's own sitesweep; nothing to measure
            raise SystemExit(2)
    return measure


def measure_pairs(
    sides: Tuple[Side, Side], tree: Path, work: Path, rounds: int, phases: bool
) -> List[float]:
    """The warm-up, then ``rounds`` rounds old/new, flipped each round; the loads seen."""
    loads = [os.getloadavg()[0]]
    for side in sides:
        run_side(side, tree, work, phases)
    for index in range(rounds):
        order = sides if index % 2 == 0 else sides[::-1]
        for side in order:
            side.runs.append(run_side(side, tree, work, phases))
            print(f"round {index + 1} {side.name}: {side.runs[-1].cpu:.2f} s CPU", file=sys.stderr)
        loads.append(os.getloadavg()[0])
    return loads


def summary(side: Side) -> Dict[str, object]:
    """Medians over the side's rounds (peak RSS: the median too; exits: all of them)."""
    runs = side.runs
    phases: Dict[str, float] = {}
    names = {n for m in runs for n in m.facts.get("phases", {})}  # type: ignore[attr-defined]
    for name in names:
        phases[name] = median([float(m.facts.get("phases", {}).get(name, 0.0)) for m in runs])  # type: ignore[attr-defined]
    return {
        "rev": side.rev,
        "commit": side.commit,
        "wall": median([m.wall for m in runs]),
        "cpu": median([m.cpu for m in runs]),
        "rss_mb": median([m.rss_mb for m in runs]),
        "archive_bytes": median([float(str(m.facts["archive_bytes"])) for m in runs]),
        "exits": sorted({int(str(m.facts["exit"])) for m in runs}),
        "walls": [round(m.wall, 3) for m in runs],
        "cpus": [round(m.cpu, 3) for m in runs],
        "phases": phases,
    }


def normalised(value: object, dropped: Set[str], path: str = "") -> object:
    """``value`` without the keys that differ from run to run; their paths added to ``dropped``."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if key in VOLATILE or VOLATILE_PATTERN.search(key):
                dropped.add(f"{path}.{key}")
            else:
                kept[key] = normalised(item, dropped, f"{path}.{key}")
        return kept
    if isinstance(value, list):
        return [normalised(v, dropped, f"{path}[]") for v in value]
    return value


def differences(old: object, new: object, path: str = "") -> Iterator[str]:
    """Where two normalised documents differ, as paths (``findings[3].title``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in new:
                yield f"{path}.{key} (only old)"
            elif key not in old:
                yield f"{path}.{key} (only new)"
            else:
                yield from differences(old[key], new[key], f"{path}.{key}")
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            yield f"{path} ({len(old)} items old, {len(new)} new)"
        for index, (a, b) in enumerate(zip(old, new)):
            yield from differences(a, b, f"{path}[{index}]")
    elif old != new:
        yield f"{path}: {json.dumps(old)[:60]} -> {json.dumps(new)[:60]}"


def bundle_dir(out: Path) -> Optional[Path]:
    """The unpacked bundle directory the scan wrote under ``out``."""
    found = sorted(p for p in out.glob("sitesweep-*") if p.is_dir())
    return found[0] if found else None


def compare(work: Path, dropped: Set[str], shown: int = 5) -> Dict[str, List[str]]:
    """Each document's differences between the last old and new bundles (empty: equal).

    The paths of the keys left out of the comparison are added to ``dropped``.
    """
    dirs = {name: bundle_dir(work / f"out-{name}") for name in SIDES}
    result: Dict[str, List[str]] = {}
    for doc in DOCUMENTS:
        paths = {name: d / doc for name, d in dirs.items() if d is not None}
        missing = [name for name in SIDES if name not in paths or not paths[name].is_file()]
        if missing:
            result[doc] = [f"no {doc} in the {' and '.join(missing)} bundle"]
            continue
        old = normalised(json.loads(paths["old"].read_text()), dropped, doc)
        new = normalised(json.loads(paths["new"].read_text()), dropped, doc)
        found: List[str] = []
        for where in differences(old, new):
            found.append(where)
            if len(found) > shown:
                found[-1] = "..."
                break
        result[doc] = found
    return result


def report(result: Dict[str, object]) -> str:
    """The table of the two sides, the paired ratio, the phases and the documents."""
    sides: Dict[str, Dict[str, object]] = result["sides"]  # type: ignore[assignment]
    body = []
    for name in SIDES:
        s = sides[name]
        body.append(
            [
                f"{name}: {s['rev']} ({str(s['commit'])[:10]})",
                f"{s['wall']:.2f}",
                f"{s['cpu']:.2f}",
                f"{s['rss_mb']:.0f}",
                f"{float(str(s['archive_bytes'])) / 1e6:.2f}",
                ",".join(str(c) for c in s["exits"]),  # type: ignore[attr-defined]
            ]
        )
    head = ["side", "wall s", "CPU s", "peak RSS MB", "archive MB", "exit"]
    lines = [table(head, body), ""]
    loads = ", ".join(f"{x:.1f}" for x in result["loads"])  # type: ignore[attr-defined]
    lines.append(
        f"new/old, median of {result['rounds']} paired rounds: CPU {result['cpu_ratio']:.3f}x "
        f"(rounds: {', '.join(f'{r:.3f}' for r in result['cpu_ratios'])}), "  # type: ignore[attr-defined]
        f"wall {result['wall_ratio']:.3f}x; load average (1 min) {loads}"
    )
    old_phases: Dict[str, float] = sides["old"]["phases"]  # type: ignore[assignment]
    new_phases: Dict[str, float] = sides["new"]["phases"]  # type: ignore[assignment]
    if old_phases or new_phases:
        names = sorted(set(old_phases) | set(new_phases), key=_phase_order)
        rows = [
            [
                n,
                _seconds(old_phases.get(n)),
                _seconds(new_phases.get(n)),
                f"{new_phases[n] / old_phases[n]:.2f}x"
                if old_phases.get(n) and n in new_phases
                else "-",
            ]
            for n in names
        ]
        lines += ["", table(["phase (CPU, median)", "old s", "new s", "new/old"], rows)]
    lines.append("")
    for doc, found in result["documents"].items():  # type: ignore[attr-defined]
        lines.append(f"{doc}: " + ("equal" if not found else "DIFFERS"))
        lines += [f"    {where}" for where in found]
    dropped = ", ".join(result["dropped"]) or "nothing"  # type: ignore[arg-type]
    lines.append(f"(compared without {dropped})")
    return "\n".join(lines)


def _phase_order(name: str) -> Tuple[int, str]:
    return (0 if name.startswith("collect ") else 1 if name == "analyze" else 2, name)


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def ab(args: argparse.Namespace, work: Path) -> Dict[str, object]:
    """Materialise both sides, measure them in pairs, compare their bundles."""
    tree = args.tree.resolve()
    sides = (materialise("old", args.old, work), materialise("new", args.new, work))
    loads = measure_pairs(sides, tree, work, args.rounds, args.phases)
    pairs = list(zip(sides[0].runs, sides[1].runs))
    dropped: Set[str] = set()
    documents = compare(work, dropped)
    return {
        "tree": str(tree),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
        "loads": loads,
        "sides": {s.name: summary(s) for s in sides},
        "cpu_ratios": [n.cpu / max(o.cpu, 1e-6) for o, n in pairs],
        "cpu_ratio": median([n.cpu / max(o.cpu, 1e-6) for o, n in pairs]),
        "wall_ratio": median([n.wall / max(o.wall, 1e-6) for o, n in pairs]),
        "runs": {s.name: [asdict(m) for m in s.runs] for s in sides},
        "documents": documents,
        "dropped": sorted(dropped),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the arguments, run the comparison, print the report (and write ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="the tree to scan (--root)")
    parser.add_argument("--old", required=True, help="the old revision (any git revision)")
    parser.add_argument(
        "--new", default=WORKTREE, help=f"the new revision, or {WORKTREE!r} (default)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (default 3)")
    parser.add_argument("--phases", action="store_true", help="time the scan's phases too")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--work", type=Path, help="a directory for the outputs (else a temp dir)")
    args = parser.parse_args(argv)
    if not args.tree.is_dir():
        parser.error(f"{args.tree} is not a directory")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.work is not None:
        inside = args.work.resolve()
        if inside == REPO or REPO in inside.parents:
            parser.error("--work must be outside the repository")
        args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sitesweep-ab-", dir=args.work) as work:
        result = ab(args, Path(work))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
