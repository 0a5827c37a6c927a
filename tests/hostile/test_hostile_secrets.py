"""No secret leaves the host: marker secrets planted everywhere a credential shows up never reach
any bundle file (directory, exports, evidence copies, the ``.tar.gz``).

Each marker is unique and shaped like nothing the token patterns know, so only the contextual
rules (the option, the assignment, the URL's user info, the header) can mask it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV, bundle_bytes, load, scan
from sitesweep.bundle.writer import RunInfo, write_bundle
from sitesweep.engine import analyze
from sitesweep.host.processes import collect_processes
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.model import Gap
from sitesweep.packs import load_packs
from sitesweep.redact import REDACTED, redact_argv, redact_config, redact_text, redact_url

pytestmark = pytest.mark.nonroot


def _mark(n: int) -> str:
    return f"Mk{n}qZsecret"


def _leaks(bundle: Path, markers: List[str]) -> Dict[str, int]:
    blobs = bundle_bytes(bundle)
    return {
        m: sum(b.count(m.encode()) for b in blobs)
        for m in markers
        if any(m.encode() in b for b in blobs)
    }


def test_marker_secrets_never_reach_the_bundle(fake_root: FakeRoot, tmp_path: Path) -> None:
    m = [_mark(n) for n in range(20)]
    fake_root.add_venv(VENV)
    fake_root.add_dist(
        SITE, "privlib", "1.0", direct_url={"url": f"https://deploy:{m[0]}@git.example/privlib.git"}
    )
    fake_root.add_dist(
        SITE, "tokenlib", "2.0", direct_url={"url": f"https://files.example/t.whl?token={m[1]}"}
    )
    fake_root.add_file(
        "/etc/crontab",
        f"SHELL=/bin/sh\n* * * * * root curl -u bob:{m[2]} https://x.example/p | python3\n"
        f"*/5 * * * * root python3 /opt/job.py --password={m[3]} --api-key {m[4]}\n",
    )
    fake_root.add_file(
        "/etc/systemd/system/sync.service",
        "[Service]\n"
        f"Environment=DB_PASSWORD={m[5]}\n"
        f'Environment="PIP_INDEX_URL=https://ci:{m[6]}@pypi.corp.example/simple"\n'
        f"ExecStart=/usr/bin/python3 -m sync --token {m[7]} -H 'Authorization: Bearer {m[8]}'\n",
    )
    fake_root.add_file(
        "/home/alice/.bash_history",
        f"pip install --index-url https://alice:{m[9]}@pypi.corp.example/simple corp-lib==1.0\n"
        f"conda install -c https://conda.anaconda.org/t/{m[10]}/private corp-tool\n"
        f"mysql -uroot -p{m[11]} prod\n"
        f"API_TOKEN={m[12]} pip install requests\n",
    )
    fake_root.add_file(
        "/home/alice/.config/pip/pip.conf",
        f"[global]\nindex-url = https://alice:{m[13]}@pypi.corp.example/simple\n",
    )
    fake_root.add_file(
        "/home/alice/app/requirements.txt",
        f"corp-lib @ https://alice:{m[14]}@files.corp.example/corp_lib-1.0-py3-none-any.whl\n",
    )
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code in (0, 1)
    assert _leaks(bundle, m) == {}
    assert REDACTED.encode() in (bundle / "inventory.json").read_bytes()
    inventory = load(bundle, "inventory.json")
    urls = {d["name"]: d["direct_url"] for d in inventory["distributions"]}
    assert urls["privlib"] == f"https://{REDACTED}@git.example/privlib.git"
    unit = next(
        e for e in load(bundle, "evidence/index.json") if e["host_path"].endswith("sync.service")
    )
    assert unit["copied"]
    assert unit["redacted_lines"] == 3
    copy = (bundle / unit["bundle_path"]).read_bytes()
    assert unit["sha256"] != unit["copied_sha256"], "the index keeps the original's hash"
    assert b"ExecStart=/usr/bin/python3 -m sync --token" in copy


@pytest.mark.live
def test_an_affected_release_copied_whole_keeps_no_credential_of_its_url(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    """An affected release's metadata directory is copied into ``evidence/``, its
    ``direct_url.json`` included: the copy used to carry ``https://user:token@...`` raw (the
    inventory and SBOM were redacted, the evidence copy was not)."""
    secret = _mark(90)
    fake_root.add_venv(VENV)
    fake_root.add_dist(
        SITE,
        "litellm",
        "1.82.8",
        direct_url={"url": f"https://bob:{secret}@git.example/litellm.git", "vcs_info": {}},
    )
    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    index = {e["host_path"]: e for e in load(bundle, "evidence/index.json")}
    copy = index[f"{SITE}/litellm-1.82.8.dist-info/direct_url.json"]
    assert copy["copied"] is True
    assert copy["redacted_lines"] == 1
    assert _leaks(bundle, [secret]) == {}


def test_live_process_command_lines_are_redacted(fake_root: FakeRoot, tmp_path: Path) -> None:
    m = [_mark(n) for n in range(100, 104)]
    program = "import time; time.sleep(30)"
    argv = [sys.executable, "-c", program, f"--password={m[0]}", "--api-key", m[1]]
    argv += [f"https://u:{m[2]}@h.example/", f"AWS_SECRET_ACCESS_KEY={m[3]}"]
    child = subprocess.Popen(argv)
    try:
        time.sleep(0.5)
        gaps: List[Gap] = []
        processes = collect_processes(HostRoot(None), gaps)
        mine = [p for p in processes if p.pid == child.pid]
        assert mine
        assert mine[0].cmdline[:3] == (sys.executable, "-c", program)
        static = collect_inventory(HostRoot(fake_root.path), CollectSpec())
        inventory = dataclasses.replace(static, live=True, processes=processes)
        result = analyze(inventory, load_packs(), strict=True)
        now = datetime.now(timezone.utc)
        run = RunInfo(("scan",), now, now)
        paths = write_bundle(result, HostRoot(fake_root.path), tmp_path / "out", run)
    finally:
        child.terminate()
        child.wait(timeout=10)
    bundle = paths.directory
    assert _leaks(bundle, m) == {}
    text = json.dumps(load(bundle, "inventory.json"))
    assert f"--password={REDACTED}" in text


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("python app.py --password=S3 -v", "S3"),
        ("python app.py --api-key S3 -v", "S3"),
        ("curl -u bob:S3 https://h", "S3"),
        ("curl --user=bob:S3 https://h", "S3"),
        ('curl -H "Authorization: Bearer S3" https://h', "S3"),
        ("mysql -uroot -pS3 db", "S3"),
        ("sshpass -p S3 ssh host", "S3"),
        ("redis-cli -a S3 ping", "S3"),
        ("TOKEN=S3 ./run", "S3"),
        ("Environment=DB_PASSWORD=S3", "S3"),
        ('Environment="API_KEY=S3" OTHER=1', "S3"),
        ("git clone https://S3@github.com/o/r", "S3"),
        ("https://h.example/x?access_token=S3&page=2", "S3"),
        ("conda install -c https://conda.anaconda.org/t/S3/chan pkg", "S3"),
        ("openssl enc -passin pass:S3", "S3"),
        ("machine h login u password S3", "S3"),
    ],
)
def test_redact_text_masks_each_shape(raw: str, secret: str) -> None:
    out = redact_text(raw)
    assert secret not in out
    assert REDACTED in out


def test_redactor_keeps_what_is_not_a_secret() -> None:
    assert redact_text("python3 -m pip install requests==2.31.0") == (
        "python3 -m pip install requests==2.31.0"
    )
    assert redact_url("https://pypi.org/simple/requests/") == "https://pypi.org/simple/requests/"
    assert redact_argv(["curl", "-u", "bob:pw", "-o", "out"]) == (
        "curl", "-u", REDACTED, "-o", "out",
    )  # fmt: skip
    masked, changed = redact_config(b"[x]\npassword = pw\nname = n\n\xff\n")
    assert masked == b"[x]\npassword = <redacted>\nname = n\n\xff\n"
    assert changed == 1
