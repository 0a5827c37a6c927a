"""The fake-host builder writes what real tools write, and nothing in it ever runs."""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import json
import stat
from pathlib import Path

import pytest

from builders import FakeRoot, malicious_pth_content, record_hash


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_venv_with_dist_has_correct_record(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    prefix = "/home/alice/proj/.venv"
    venv = root.add_venv(prefix, python="3.11")
    site = FakeRoot.venv_site_packages(prefix, "3.11")
    files = {"demo/__init__.py": b"VALUE = 1\n", "demo/data/blob.bin": bytes(range(256))}
    dist_info = root.add_dist(
        site, "Demo-Pkg", "1.2.3", files=files, direct_url={"url": "file:///src"}
    )

    assert dist_info == root.host(f"{site}/Demo_Pkg-1.2.3.dist-info")
    rows = list(csv.reader((dist_info / "RECORD").read_text().splitlines()))
    listed = {row[0] for row in rows}
    assert listed == {
        "demo/__init__.py",
        "demo/data/blob.bin",
        *(
            f"Demo_Pkg-1.2.3.dist-info/{n}"
            for n in ("METADATA", "WHEEL", "INSTALLER", "direct_url.json", "RECORD")
        ),
    }
    site_path = root.host(site)
    for path, digest, size in rows:
        if path.endswith("/RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = (site_path / path).read_bytes()
        assert digest == "sha256=" + _urlsafe_sha256(data) == record_hash(data)
        assert int(size) == len(data)

    metadata = (dist_info / "METADATA").read_text()
    assert metadata.startswith("Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 1.2.3\n")
    assert json.loads((dist_info / "direct_url.json").read_text()) == {"url": "file:///src"}
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "version = 3.11.5" in cfg
    assert "include-system-site-packages = false" in cfg
    python = venv / "bin" / "python"
    assert stat.S_IMODE(python.stat().st_mode) == 0o755
    assert python.read_text() == f"#!/bin/sh\necho ran >> {root.marker}\n"
    assert not root.marker.exists()


def test_egg_info_and_default_package(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    site = "/usr/lib/python3/dist-packages"
    assert root.add_system_python("3.11") == root.host(site)
    egg = root.add_dist(site, "old-thing", "0.1", egg_info=True)
    assert egg.name == "old-thing.egg-info"
    assert "Version: 0.1" in (egg / "PKG-INFO").read_text()
    assert (root.host(site) / "old_thing" / "__init__.py").is_file()
    assert (root.host("/usr/lib/python3.11") / "os.py").is_file()
    assert root.host("/usr/local/lib/python3.11/dist-packages").is_dir()


def test_layouts_for_conda_windows_and_user_site(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    base = root.add_conda("/opt/miniconda3", python="3.11", env_names=("ml",))
    assert (base / "conda-meta" / "python-3.11.5-h123_0.json").is_file()
    assert (base / "conda-meta" / "history").is_file()
    assert (base / "envs" / "ml" / "conda-meta" / "history").is_file()
    assert (base / "envs" / "ml" / "lib" / "python3.11" / "site-packages").is_dir()
    win = root.add_venv("/mnt/c/Users/carol/venv", windows=True)
    assert (win / "Lib" / "site-packages").is_dir()
    assert (win / "Scripts" / "python.exe").is_file()
    user = root.add_user_site("/home/alice", "3.12")
    assert user == root.host("/home/alice/.local/lib/python3.12/site-packages")
    passwd = root.add_passwd([("alice", 1000, "/home/alice")]).read_text().splitlines()
    assert passwd[0] == "root:x:0:0:root:/root:/bin/bash"
    assert passwd[1].startswith("alice:x:1000:1000:")
    assert root.add_hostname("box").read_text() == "box\n"
    assert root.add_machine_id().read_text().strip()
    assert "PRETTY_NAME=" in root.add_os_release().read_text()
    assert not root.marker.exists()


def test_malicious_pth_only_touches_the_marker(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    text = malicious_pth_content(root.marker, pad_to=34_628)
    pth = root.add_pth("/usr/lib/python3/dist-packages", "litellm_init", text)
    assert pth.name == "litellm_init.pth"
    assert text.count("\n") == 1
    assert text.startswith("import subprocess, sys, base64;")
    assert abs(len(text) - 34_628) < 16
    blob = text.split("'")[1]
    assert blob.startswith("aW1wb3J0")  # base64 of "import", like the real payload
    payload = base64.b64decode(blob).decode()
    calls = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(ast.parse(payload))
        if isinstance(node, ast.Call)
    }
    assert calls == {"open", "write"}
    assert repr(str(root.marker)) in payload
    assert not root.marker.exists()


def test_host_paths_must_be_absolute_and_stay_inside(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    with pytest.raises(ValueError, match="absolute"):
        root.host("etc/passwd")
    with pytest.raises(ValueError, match="climb"):
        root.host("/etc/../../outside")
