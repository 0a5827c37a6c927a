"""Wall time of a sweep over 8 loopback sshd hosts at --parallel 1 against --parallel 8.

Not a test: run as root on a machine with OpenSSH installed (as CI is)::

    .venv/bin/python bench/fleet.py

Starts 8 sshd on 127.0.0.1 (keys made for this run), gives each its own small fixture root
(``sitesweep_root``), builds the agent once, sweeps the 8 hosts once with each setting and prints
both wall times and their ratio. Everything lives in a temporary directory removed at the end.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "src")]

from fleet.fleetlab import clean_root, infected_root  # noqa: E402
from fleet.sshlab import SshLab, sshd_missing_reason  # noqa: E402
from sitesweep.fleet.agent_build import build_agent  # noqa: E402
from sitesweep.fleet.inventory_parse import read_inventory  # noqa: E402
from sitesweep.fleet.sweep import HostStatus, SweepSettings, run_sweep  # noqa: E402
from sitesweep.fleet.transport import SshSettings  # noqa: E402

HOSTS = 8


def main() -> int:
    """Run the benchmark; exit 2 when sshd cannot be started here."""
    reason = sshd_missing_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sitesweep-bench-") as scratch:
        base = Path(scratch)
        lab = SshLab.create(base / "lab")
        try:
            lines = []
            aliases = {}
            for n in range(HOSTS):
                port = lab.start_server(f"h{n}")
                make = infected_root if n == 0 else clean_root
                root = make(base / f"root{n}")
                aliases[f"h{n}"] = {"Port": str(port)}
                lines.append(f"h{n} sitesweep_root={root.path} sitesweep_python=/usr/bin/python3")
            config = lab.ssh_config(aliases)
            inventory = base / "hosts.ini"
            inventory.write_text("\n".join(lines) + "\n")
            hosts = read_inventory(inventory)
            agent = build_agent(base / "agent.pyz").path
            times = {}
            for parallel in (1, 8):
                settings = SweepSettings(
                    output=base / f"out-{parallel}",
                    agent=agent,
                    ssh=SshSettings(config=config),
                    parallel=parallel,
                    timeout=300,
                    remote_tmp=str(base),
                )
                started = time.perf_counter()
                results = run_sweep(hosts, settings)
                times[parallel] = time.perf_counter() - started
                ok = sum(r.status == HostStatus.OK for r in results)
                print(f"--parallel {parallel}: {times[parallel]:.2f} s, {ok}/{HOSTS} hosts ok")
            print(f"speed-up parallel 8 vs 1: {times[1] / times[8]:.2f}x")
        finally:
            lab.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
