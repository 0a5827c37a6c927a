"""Files and directories that vanish or change type while the scan runs.

The races are made deterministic by driving the collector's stages one at a time (walk, then
classify; discovery, then inventory) and changing the tree in between, exactly as a process on
the host could between two of the scanner's system calls.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Set, Tuple

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV
from sitesweep.discovery import WalkSpec, discover
from sitesweep.discovery.classify import classify
from sitesweep.discovery.walk import walk
from sitesweep.hostfs import HostRoot
from sitesweep.metadata import hash_file, read_site
from sitesweep.model import Gap, HostPath

pytestmark = pytest.mark.nonroot

OTHER = "/srv/other/.venv"
OTHER_SITE = f"{OTHER}/lib/python3.11/site-packages"
CONDA = "/opt/conda"


def _gaps(gaps: List[Gap]) -> Set[Tuple[str, str]]:
    return {(g.reason.value, g.path or "") for g in gaps}


def test_marker_files_and_prefixes_vanish_between_walk_and_classify(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_venv(OTHER)
    fake_root.add_conda(CONDA)
    root = HostRoot(fake_root.path)
    walked = walk(root, WalkSpec())
    fake_root.host(f"{VENV}/pyvenv.cfg").unlink()
    os.mkfifo(fake_root.host(f"{VENV}/pyvenv.cfg"))
    shutil.rmtree(fake_root.host(f"{CONDA}/conda-meta"))
    shutil.rmtree(fake_root.host(OTHER))
    envs, gaps = classify(
        root, walked.site_dirs, walked.venv_prefixes, walked.conda_prefixes, {}, ()
    )
    found = _gaps(gaps)
    assert ("special_file", f"{VENV}/pyvenv.cfg") in found
    assert ("vanished", f"{CONDA}/conda-meta") in found
    assert ("vanished", OTHER) in found
    assert {e.prefix for e in envs} >= {VENV, OTHER, CONDA}, "still reported, with the gaps"


def test_site_contents_vanish_or_change_type_between_discovery_and_inventory(
    fake_root: FakeRoot,
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_venv(OTHER)
    fake_root.add_dist(SITE, "victim", "1.0")
    fake_root.add_pth(SITE, "hook.pth", "import os\n")
    fake_root.add_file("/srv/indicator.bin", b"x")
    root = HostRoot(fake_root.path)
    found = discover(root, WalkSpec(names=frozenset({"indicator.bin"})), ())
    assert HostPath("/srv/indicator.bin") in found.named_files

    meta = fake_root.host(f"{SITE}/victim-1.0.dist-info/METADATA")
    meta.unlink()
    os.mkfifo(meta)  # a regular file became a FIFO
    pth = fake_root.host(f"{SITE}/hook.pth")
    pth.unlink()
    os.mkfifo(pth)
    fake_root.host(f"{SITE}/victim-1.0.dist-info/RECORD").unlink()  # simply gone
    shutil.rmtree(fake_root.host(OTHER_SITE))
    fake_root.host(OTHER_SITE).write_text("now a file\n")  # a directory became a file
    fake_root.host("/srv/indicator.bin").unlink()

    gaps: List[Gap] = []
    for env in found.environments:
        for site in env.site_dirs:
            inventory = read_site(root, site, frozenset(), 1 << 20)
            gaps += inventory.gaps
            if site == SITE:
                (dist,) = inventory.distributions
                assert dist.record == ()
    assert hash_file(root, "/srv/indicator.bin", 1 << 20, gaps) is None
    reasons = _gaps(gaps)
    assert ("special_file", f"{SITE}/victim-1.0.dist-info/METADATA") in reasons
    assert ("special_file", f"{SITE}/hook.pth") in reasons
    assert ("vanished", OTHER_SITE) in reasons
    assert ("vanished", "/srv/indicator.bin") in reasons
