"""An infected fixture host with known times and hostile names, scanned into a bundle.

Shared by the tests of the report page, timeline, SBOM, exports, ``verify`` and encryption.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
OTHER_VENV = "/srv/job/.venv"
OTHER_SITE = f"{OTHER_VENV}/lib/python3.11/site-packages"
INSTALLED_AT = 1774348800  # 2026-03-24T10:40:00Z: litellm 1.82.8 installed
INSTALLED_ISO = "2026-03-24T10:40:00.000000Z"
PTH_AT = 1774349000  # 2026-03-24T10:43:20Z: litellm_init.pth written
PTH_ISO = "2026-03-24T10:43:20.000000Z"
LATER_AT = 1774435200  # 2026-03-25T10:40:00Z: everything else
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_PTH = "<img src=x onerror=alert(2)>.pth"


def build_infected(root: FakeRoot) -> None:
    """litellm 1.82.8 with its .pth at known times, a clean venv, and hostile names."""
    root.add_machine_id()
    root.add_os_release()
    root.add_venv(VENV)
    root.add_venv(OTHER_VENV)
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_dist(OTHER_SITE, "requests", "2.31.0")
    metadata = f"Metadata-Version: 2.1\nName: {SCRIPT_NAME}\nVersion: 1.0\n\n"
    root.add_file(f"{OTHER_SITE}/hostile-1.0.dist-info/METADATA", metadata)
    root.add_pth(SITE, IMG_PTH, f"import os; print({SCRIPT_NAME!r})\n")
    for base, _dirs, files in os.walk(root.path):
        for name in (*files, *_dirs):
            os.utime(Path(base) / name, (LATER_AT, LATER_AT), follow_symlinks=False)
    dist = root.add_dist(SITE, "litellm", "1.82.8")
    pth = root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    os.utime(dist, (INSTALLED_AT, INSTALLED_AT))
    os.utime(pth, (PTH_AT, PTH_AT))


def scan_bundle(root: FakeRoot, out: Path, run_cli: RunCli, *extra: str) -> Path:
    """Scan ``root`` into ``out`` and return the bundle directory."""
    run = run_cli("scan", "--root", str(root.path), "--output", str(out), *extra)
    assert run.code == 1, run.err
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def load_json(bundle: Path, name: str) -> Any:
    """Parse one JSON file of the bundle."""
    return json.loads((bundle / name).read_text(encoding="utf-8"))


PROJECT = "/home/alice/app"
"""The repository whose .venv holds litellm: its requirements and lockfile pin the bad release."""
SYSMON_UNIT = "/home/alice/.config/systemd/user/sysmon.service"
AWS_CREDENTIALS = "/home/alice/.aws/credentials"


def build_wide(root: FakeRoot) -> None:
    """:func:`build_infected` plus the incident's other traces: an account with AWS credentials,
    the sysmon user unit and script, and a project that pins litellm 1.82.8 in its requirements
    file and uv.lock (every timestamp after the .pth's)."""
    build_infected(root)
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_file(AWS_CREDENTIALS, "[default]\naws_access_key_id = AKIAFIXTURE\n", mode=0o600)
    unit = (
        "[Unit]\nDescription=System Telemetry Service\n\n[Service]\n"
        "ExecStart=/usr/bin/python3 /home/alice/.config/sysmon/sysmon.py\nRestart=always\n\n"
        "[Install]\nWantedBy=default.target\n"
    )
    root.add_user_unit("/home/alice", "sysmon.service", unit)
    root.add_file("/home/alice/.config/sysmon/sysmon.py", "import time\ntime.sleep(300)\n")
    root.add_file(f"{PROJECT}/requirements.txt", "requests==2.31.0\nlitellm==1.82.8\n")
    lock = 'version = 1\n\n[[package]]\nname = "litellm"\nversion = "1.82.8"\n'
    root.add_file(f"{PROJECT}/uv.lock", lock)
    later = PTH_AT + 3600
    link = "/home/alice/.config/systemd/user/default.target.wants/sysmon.service"
    for path in (AWS_CREDENTIALS, SYSMON_UNIT, "/home/alice/.config/sysmon/sysmon.py", link):
        os.utime(root.host(path), (later, later), follow_symlinks=False)
