"""The report tree: a file hangs from the release whose RECORD lists it (as 1.82.8's wheel does)."""

from __future__ import annotations

from builders import FakeRoot, malicious_pth_content
from sitesweep.exports.picture import affected_tree
from sitesweep.pipeline import ScanOptions, run_scan

VENV = "/srv/api/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"


def test_a_pth_listed_in_the_wheels_record_hangs_from_that_release(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    pth = malicious_pth_content(fake_root.marker).encode()
    files = {"litellm/__init__.py": b"__version__ = '1.82.8'\n", "litellm_init.pth": pth}
    fake_root.add_dist(SITE, "litellm", "1.82.8", files=files)
    fake_root.add_pth(f"{VENV}/lib/python3.11/site-packages", "other.pth", "import os\n")
    result = run_scan(ScanOptions(root=fake_root.path)).result
    tree = affected_tree(result)
    env = next(node for node in tree if node.label == VENV)
    assert env.kind == "venv"
    release = env.packages[("litellm", "1.82.8")]
    assert f"{SITE}/litellm_init.pth" in release.files
    assert f"{SITE}/litellm-1.82.8.dist-info" in release.files
    assert f"{SITE}/litellm_init.pth" not in env.files
    assert release.worst.value == "critical"
    assert not fake_root.marker.exists()
