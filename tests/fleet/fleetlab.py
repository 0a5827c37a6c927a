"""Shared pieces of the fleet tests: the lab's handles and the fixture host trees."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from builders import FakeRoot, malicious_pth_content
from fleet.sshlab import SshLab

SITE = "/srv/app/.venv/lib/python3.11/site-packages"
TARGET_MARKER_PTH = "zz_sitesweep_marker.pth"


@dataclass(frozen=True)
class Lab:
    """The running sshd hosts and the client config (aliases: infected, clean, wrongkey, closed)."""

    ssh: SshLab
    config: Path
    ports: Dict[str, int]


@dataclass(frozen=True)
class TargetPython:
    """An interpreter on the "targets" whose site-packages holds a marker-writing ``.pth``."""

    python: Path
    marker: Path


def infected_root(path: Path) -> FakeRoot:
    """A host tree with litellm 1.82.8 and its litellm_init.pth."""
    root = FakeRoot(path)
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_hostname("infected-host")
    root.add_venv("/srv/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.8")
    root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    return root


def clean_root(path: Path) -> FakeRoot:
    """A host tree with a clean litellm."""
    root = FakeRoot(path)
    root.add_passwd([("alice", 1000, "/home/alice")])
    root.add_hostname("clean-host")
    root.add_venv("/srv/app/.venv")
    root.add_dist(SITE, "litellm", "1.82.6")
    root.add_dist(SITE, "requests", "2.31.0")
    return root
