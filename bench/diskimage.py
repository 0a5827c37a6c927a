"""Paired runs: ``scan --root TREE`` against ``scan --image`` of the same tree packed as a raw
ext4 image and as a qcow2 (issue 19). Not a test: the figures go in docs/design-notes.md.

    python3 bench/generate.py --size small --out /tmp/sitesweep-bench/small
    .venv/bin/python bench/diskimage.py /tmp/sitesweep-bench/small --work /tmp/sitesweep-bench/disk

Builds the images with ``mkfs.ext4 -d`` and ``qemu-img convert`` (e2fsprogs, qemu-utils), then
runs each scan (full scan, bundle written) ``--repeat`` times in rotation after one warm-up
round, as a child process: wall time, CPU (user + sys of the child, ``os.wait4``) and peak RSS.
Prints the median of each and its ratio to ``--root``, and whether the findings and inventory
(but ``dirs_walked``: the image has ``/lost+found``) are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

_SCAN = "import sys; from sitesweep.cli import main; sys.exit(main(sys.argv[1:]))"


def _size(tree: Path) -> Tuple[int, int]:
    """Bytes of the files under ``tree`` and how many entries it has."""
    total, entries = 0, 0
    for base, dirs, files in os.walk(tree):
        entries += len(dirs) + len(files)
        for name in files:
            path = Path(base) / name
            if not path.is_symlink() and path.is_file():
                total += path.stat().st_size
    return total, entries


def _build(tree: Path, work: Path) -> Tuple[Path, Path]:
    raw = work / "disk.img"
    total, entries = _size(tree)
    size = (total * 2 + entries * 8192 + (64 << 20)) // (1 << 20)
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-N", str(entries + 4096), "-d", str(tree), str(raw), f"{size}M"],
        check=True,
    )
    qcow2 = work / "disk.qcow2"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True
    )
    return raw, qcow2


def _run(args: List[str], out: Path) -> Dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCAN, "scan", *args, "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"scan {' '.join(args)} exited {code}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss}


def _bundle(out: Path) -> Path:
    return next(p for p in out.iterdir() if p.is_dir())


def _seconds(value: Any) -> Any:
    """Times to whole seconds (mkfs.ext4 1.47.0 ``-d`` keeps no sub-second part)."""
    if isinstance(value, float):
        return int(value)
    if isinstance(value, dict):
        return {k: _seconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_seconds(v) for v in value]
    return value


def _same(a: Path, b: Path) -> str:
    def load(bundle: Path, name: str) -> Any:
        return json.loads((bundle / name).read_text())

    inv_a, inv_b = load(a, "inventory.json"), load(b, "inventory.json")
    inv_a.pop("dirs_walked")
    inv_b.pop("dirs_walked")
    findings = load(a, "findings.json")["findings"] == load(b, "findings.json")["findings"]
    exact = inv_a == inv_b
    seconds = _seconds(inv_a) == _seconds(inv_b)
    return f"findings {findings}, inventory {exact} (to the second: {seconds})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="scratch directory (emptied)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    raw, qcow2 = _build(args.tree, args.work)
    runs = {
        "--root": ["--root", str(args.tree)],
        "raw ext4": ["--image", str(raw)],
        "qcow2": ["--image", str(qcow2)],
    }
    figures: Dict[str, List[Dict[str, float]]] = {name: [] for name in runs}
    for round_ in range(args.repeat + 1):
        for name, scan_args in runs.items():
            measured = _run(scan_args, args.work / f"out-{len(figures[name])}-{name[:4]}")
            if round_:
                figures[name].append(measured)
    print(f"raw {raw.stat().st_size >> 20} MiB, qcow2 {qcow2.stat().st_size >> 20} MiB")
    base = {k: statistics.median(r[k] for r in figures["--root"]) for k in ("wall", "cpu", "rss")}
    for name, rows in figures.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "cpu", "rss")}
        ratio = " ".join(f"{k} x{med[k] / base[k]:.2f}" for k in ("wall", "cpu", "rss"))
        rss = med["rss"] / 1024
        print(
            f"{name:9} wall {med['wall']:.2f}s cpu {med['cpu']:.2f}s rss {rss:.0f} MiB  ({ratio})"
        )
    root_out = _bundle(args.work / "out-0---ro")
    for name in ("raw ext4", "qcow2"):
        same = _same(root_out, _bundle(args.work / f"out-0-{name[:4]}"))
        print(f"{name}: same as --root: {same}")


if __name__ == "__main__":
    main()
