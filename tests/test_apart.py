"""Work apart: the import-time collector runs in a forked worker beside the RECORD collector and
the YARA check, with the same findings, inventory and gaps as a scan that forks nothing.

The worker is this very process forked: what it returns comes back pickled, a failure or a death
becomes a coverage gap, and it never runs the caller's clean-up (its scratch directories stay).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import zlib
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from builders import FakeRoot
from imagebuild import oci_image
from scanrun import SITE, VENV, scan
from sitesweep.apart import ApartError, can_fork, running, start
from sitesweep.checks import CHECKS
from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.collectors.importtime import ImportTimeCollector
from sitesweep.collectors.registry import COLLECTORS, start_collectors
from sitesweep.content import HostContent
from sitesweep.engine import analyze
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import NOT_YET, CollectSpec, start_inventory
from sitesweep.model import GapReason
from sitesweep.osprofile.detect import detect_family
from sitesweep.osprofile.model import KNOWN_OSES
from sitesweep.packs import load_packs
from sitesweep.progress import NullProgress
from sitesweep.scratch import scratch_dir
from waves import base_host, canary_code

FORKS = can_fork(HostRoot(Path("/")))
forking = pytest.mark.skipif(not FORKS, reason="no second core or no fork here: runs inline")


def _plant(fake_root: FakeRoot) -> None:
    """Three environments with a decode-and-exec package, one clean package, a .pth."""
    payload = base64.b64encode(zlib.compress(canary_code(fake_root).encode())).decode()
    init = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{payload}')))\n"
    base_host(fake_root)
    for name in (".venv", "api", "worker"):
        prefix = VENV.replace("/.venv", f"/{name}")
        site = SITE.replace("/.venv/", f"/{name}/")
        if name != ".venv":
            fake_root.add_venv(prefix)
        fake_root.add_dist(site, "colorlogx", "0.3.0", {"colorlogx/__init__.py": init.encode()})
        fake_root.add_dist(site, "tidy", "1.0", {"tidy/__init__.py": b"VERSION = '1.0'\n"})
        fake_root.add_file(f"{site}/tidy.pth", "import tidy\n")


def _documents(bundle: Path) -> Dict[str, object]:
    """The bundle's findings, inventory and coverage without what differs between two runs."""
    docs: Dict[str, object] = {}
    for name in ("findings.json", "inventory.json", "coverage.json"):
        doc = json.loads((bundle / name).read_text())
        for key in ("scan_id", "generated_at", "started_at", "finished_at", "run"):
            doc.pop(key, None)
        if name == "findings.json":
            for finding in doc["findings"]:
                finding.pop("id", None)
        docs[name] = doc
    return docs


@forking
def test_a_forked_scan_equals_an_inline_one(
    fake_root: FakeRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import-time analysis in a worker: the same findings, inventory and coverage as inline,
    the payload found in each environment, and never run."""
    _plant(fake_root)
    code_forked, forked = scan(fake_root.path, tmp_path / "forked", "--no-builtin-packs")
    monkeypatch.setenv("SITESWEEP_NO_FORK", "1")
    code_inline, inline = scan(fake_root.path, tmp_path / "inline", "--no-builtin-packs")
    assert code_forked == code_inline == 1
    assert _documents(forked) == _documents(inline)
    found = json.loads((forked / "findings.json").read_text())["findings"]
    flagged = {
        p.split("/colorlogx")[0]
        for f in found
        if f["rule"] == "heuristic/import-time-code"
        for p in f["paths"]
        if "/colorlogx/" in p
    }
    assert len(flagged) == 3
    assert not fake_root.marker.exists()


@forking
def test_the_worker_runs_in_another_process_and_sends_its_value_back(tmp_path: Path) -> None:
    work = start(lambda: (os.getpid(), {"k": (1, 2)}), HostRoot(tmp_path))
    assert work.forked
    pid, value = work.result()
    assert pid != os.getpid()
    assert value == {"k": (1, 2)}


@forking
def test_a_worker_counts_as_running_until_it_is_waited_for(tmp_path: Path) -> None:
    """What the YARA check sizes its threads by: a worker holds a core until its result is
    taken or it is cancelled; work run inline holds none."""
    root = HostRoot(tmp_path)
    before = running()
    first, second = start(os.getpid, root), start(os.getpid, root)
    assert running() == before + 2
    first.result()
    assert running() == before + 1
    second.cancel()
    assert running() == before
    inline = start(os.getpid, HostRoot.image(_image(tmp_path)))
    assert not inline.forked
    assert running() == before


def _image(tmp_path: Path) -> Path:
    layer = FakeRoot(tmp_path / "layer")
    layer.add_file("/etc/hostname", "box\n")
    image = tmp_path / "img.tar"
    oci_image(image, [layer.path], ["ADD etc"], {})
    return image


def test_an_image_is_never_shared_with_a_worker(tmp_path: Path) -> None:
    """An image door reads one file by offset: work on it runs inline, in this process."""
    layer = FakeRoot(tmp_path / "layer")
    layer.add_file("/etc/hostname", "box\n")
    image = tmp_path / "img.tar"
    oci_image(image, [layer.path], ["ADD etc"], {})
    root = HostRoot.image(image)
    assert not can_fork(root)
    work = start(os.getpid, root)
    assert not work.forked
    assert work.result() == os.getpid()


@forking
def test_a_failing_or_killed_worker_is_an_error_not_a_value(tmp_path: Path) -> None:
    root = HostRoot(tmp_path)

    def fails() -> int:
        raise ValueError("bad RECORD")

    with pytest.raises(ApartError, match="ValueError: bad RECORD"):
        start(fails, root).result()

    def dies() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    with pytest.raises(ApartError, match="killed by signal 9"):
        start(dies, root).result()


@forking
def test_the_worker_never_runs_the_callers_clean_up(tmp_path: Path) -> None:
    """A worker ended by SIGTERM or by an exception leaves the caller's scratch directory alone."""
    root = HostRoot(tmp_path)

    def terminated() -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    with scratch_dir("sitesweep-apart-") as scratch:
        with pytest.raises(ApartError, match=f"killed by signal {int(signal.SIGTERM)}"):
            start(terminated, root).result()
        with pytest.raises(ApartError, match="SystemExit"):
            start(lambda: exit(3), root).result()
        assert scratch.is_dir()


class _Boom(Collector):
    """A collector working apart that raises: its observations stay empty, a gap says why."""

    id = "boom"
    oses = KNOWN_OSES
    observes = ("import_modules",)
    apart = True

    def collect(self, ctx: CollectContext) -> Collected:
        raise OSError("disk went away")


@forking
def test_a_collector_failing_apart_is_a_gap(fake_root: FakeRoot) -> None:

    base_host(fake_root)
    root = HostRoot(fake_root.path)
    ctx = CollectContext(root, CollectSpec(), NullProgress(), detect_family(root)[0])
    collectors = tuple(c for c in COLLECTORS if not isinstance(c, ImportTimeCollector))
    run = start_collectors(ctx, (*collectors[:3], _Boom(), *collectors[3:]))
    assert run.pending == {"import_modules"}
    seen, gaps = run.finish()
    assert seen.import_modules == ()
    failed = [g for g in gaps if g.area == "boom"]
    assert [g.reason for g in failed] == [GapReason.COLLECTOR_FAILED]
    assert "disk went away" in failed[0].detail


def _early_checks() -> Iterator[type]:
    return (c for c in CHECKS if c.runs_without)


@forking
def test_checks_that_run_early_never_read_what_is_still_collected(fake_root: FakeRoot) -> None:
    """Each check declaring ``runs_without`` runs (strict: a read raises) over an inventory whose
    import-time observations are still being made, and finds what it finds on the whole one."""
    _plant(fake_root)
    root = HostRoot(fake_root.path)
    packs = load_packs()
    underway = start_inventory(root, CollectSpec())
    try:
        assert underway.pending == {"import_modules", "package_shapes"}
        assert underway.now.import_modules is NOT_YET
        with pytest.raises(RuntimeError, match="still being collected"):
            list(underway.now.import_modules)
        early: List[type] = list(_early_checks())
        assert early, "the YARA check at least runs early"
        partial = analyze(underway.now, packs, early, True, HostContent(root))
    finally:
        whole = underway.finish()
    assert analyze(whole, packs, early, True, HostContent(root)).findings == partial.findings
    assert whole.import_modules


@forking
def test_a_scan_drawing_progress_on_a_terminal_still_forks(fake_root: FakeRoot) -> None:
    """On a terminal the progress bar's refresh thread runs; it is stopped while the worker is
    forked (a lock it held would stay held in the worker), then draws again."""
    import io
    import threading

    from rich.console import Console

    from sitesweep.cli.console import RichProgress

    _plant(fake_root)
    root = HostRoot(fake_root.path)
    console = Console(file=io.StringIO(), force_terminal=True)
    with RichProgress(console) as progress:
        drawing = threading.active_count()
        assert drawing > 1
        ctx = CollectContext(root, CollectSpec(), progress, detect_family(root)[0])
        run = start_collectors(ctx)
        assert run.pending == {"import_modules", "package_shapes"}  # forked, not inline
        assert threading.active_count() == drawing
        seen, _ = run.finish()
    assert seen.import_modules


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@forking
def test_a_worker_dies_with_its_caller(tmp_path: Path) -> None:
    """A scan killed midway (SIGKILL: no clean-up runs) leaves no worker reading the host."""
    import subprocess
    import sys
    import textwrap
    import time

    pid_file = tmp_path / "worker.pid"
    caller = tmp_path / "caller.py"
    caller.write_text(
        textwrap.dedent(
            f"""
            import os, time
            from pathlib import Path
            from sitesweep.apart import start
            from sitesweep.hostfs import HostRoot

            def work():
                Path({str(pid_file)!r}).write_text(str(os.getpid()))
                time.sleep(120)
                return 0

            start(work, HostRoot(Path({str(tmp_path)!r}))).result()
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(caller)])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the worker never started"
            assert proc.poll() is None
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert _alive(worker)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived its caller"
        time.sleep(0.05)
