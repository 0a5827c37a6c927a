"""Fleet figures: hosts/minute at each --parallel, controller CPU per host, disk per host.

Not a test: run as root on a machine with OpenSSH installed (as CI is)::

    .venv/bin/python bench/fleet.py [--hosts 16] [--parallel 1 4 8] [--tree DIR] [--json out.json]

Starts ``--hosts`` sshd on 127.0.0.1 (keys made for this run), gives each its own small fixture
root (``sitesweep_root``; one infected) or, with ``--tree DIR``, a tree made by
``bench/generate.py`` (the same one for every host but the infected one), builds the agent once
and sweeps all hosts once per ``--parallel`` value and per ``--match-on`` value (``target``: the
agent matches and the controller merges; ``controller``: the agent only collects and the
controller matches everything), each into a fresh output, the two one after the other in the same
run so that their figures are paired. Per run it prints wall time, hosts per minute, the
controller's CPU per host (user + sys of this process and every child it waited for: ssh, scp
and the analysis; the sshd side and the agents run as children of the lab's sshd and are not
counted), the output's disk use per host, and then the time of ``report`` over the last output
twice: cold (cache emptied) and warm (the analysis cache of the sweep). Everything lives in a
temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "src")]

from fleet.fleetlab import clean_root, infected_root  # noqa: E402
from fleet.sshlab import SshLab, sshd_missing_reason  # noqa: E402
from sitesweep.fleet.agent_build import build_agent  # noqa: E402
from sitesweep.fleet.hosts import Host  # noqa: E402
from sitesweep.fleet.inventory_parse import read_inventory  # noqa: E402
from sitesweep.fleet.summary import summarize  # noqa: E402
from sitesweep.fleet.sweep import HostStatus, SweepSettings, run_sweep  # noqa: E402
from sitesweep.fleet.transport import SshSettings  # noqa: E402
from sitesweep.fleet.views import CACHE_DIR  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name != "agent.pyz")


def _report(output: Path) -> float:
    started = time.perf_counter()
    summarize((output,))
    return time.perf_counter() - started


def _sweeps(
    args: argparse.Namespace,
    hosts: Sequence[Host],
    agent: Path,
    config: Path,
    base: Path,
    rows: List[Dict[str, object]],
) -> Path:
    """One sweep per --parallel and --match-on value; a row each; the last output."""
    output = base
    for parallel in args.parallel:
        for match_on in args.match_on:
            output = base / f"out-{parallel}-{match_on}"
            settings = SweepSettings(
                output=output,
                agent=agent,
                ssh=SshSettings(config=config),
                parallel=parallel,
                timeout=600,
                remote_tmp=str(base),
                match_on_target=match_on == "target",
            )
            cpu, started = _cpu(), time.perf_counter()
            results = run_sweep(hosts, settings)
            wall, used = time.perf_counter() - started, _cpu() - cpu
            row: Dict[str, object] = {
                "parallel": parallel,
                "match_on": match_on,
                "hosts": len(hosts),
                "ok": sum(r.status == HostStatus.OK for r in results),
                "wall_s": round(wall, 2),
                "hosts_per_minute": round(60 * len(hosts) / wall, 1),
                "controller_cpu_s_per_host": round(used / len(hosts), 3),
                "disk_kib_per_host": round(_disk(output) / len(hosts) / 1024, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return output


def main() -> int:
    """Run the benchmark; exit 2 when sshd cannot be started here."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tree", type=Path, help="a bench/generate.py tree for the clean hosts")
    parser.add_argument(
        "--match-on", nargs="+", default=["controller", "target"], choices=["controller", "target"]
    )
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    rows: List[Dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="sitesweep-bench-") as scratch:
        base = Path(scratch)
        lab = SshLab.create(base / "lab")
        try:
            lines = []
            aliases = {}
            for n in range(args.hosts):
                port = lab.start_server(f"h{n}")
                if n == 0 or args.tree is None:
                    make = infected_root if n == 0 else clean_root
                    where = make(base / f"root{n}").path
                else:
                    where = args.tree.resolve()
                aliases[f"h{n}"] = {"Port": str(port)}
                lines.append(f"h{n} sitesweep_root={where} sitesweep_python=/usr/bin/python3")
            config = lab.ssh_config(aliases)
            inventory = base / "hosts.ini"
            inventory.write_text("\n".join(lines) + "\n")
            hosts = read_inventory(inventory)
            agent = build_agent(base / "agent.pyz").path
            output = base
            output = _sweeps(args, hosts, agent, config, base, rows)
            warm = _report(output)
            for cache in output.rglob(CACHE_DIR):
                shutil.rmtree(cache)
            cold = _report(output)
            summary = {
                "report_cold_s": round(cold, 2),
                "report_warm_s": round(_report(output), 2),
                "report_after_sweep_s": round(warm, 2),
                "cores": os.cpu_count() or 1,
                "load_1min": round(os.getloadavg()[0], 1),
            }
            print(json.dumps(summary))
        finally:
            lab.stop()
    if args.json is not None:
        args.json.write_text(json.dumps({"runs": rows, **summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
