"""Malformed items read by third-party or format parsers are gaps; their siblings are still read.

Registry hives (regipy), ``.lnk`` shortcuts (LnkParse3), Scheduled Task XML, launchd plists,
``conda-meta`` and ``kubectl`` output: one hostile file must cost that file only. Before issue 18
a hive that opened but broke further in (truncated, a corrupt cell) raised out of the
persistence collector, which then recorded nothing at all (one ``collector_failed`` gap, the
planted Run values, shortcuts and tasks of every other file lost).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from builders import FakeRoot
from kubefake import payload_pod, pod, pod_list
from osimages import macos_image, windows_image
from persistbuild import launchd_plist, shortcut, task_xml
from regf import Hive, sz
from scanrun import load, scan
from sitesweep.host.cluster_parse import ClusterParseError, parse_pods
from sitesweep.model import Gap

pytestmark = pytest.mark.nonroot

HOME = "/Users/alice"
STARTUP = f"{HOME}/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup"
TASKS = "/Windows/System32/Tasks"
RUN = r"Microsoft\Windows\CurrentVersion\Run"
NTUSER = f"{HOME}/NTUSER.DAT"
BOB_NTUSER = "/Users/bob/NTUSER.DAT"


def _gaps(bundle: Path) -> List[Dict[str, Any]]:
    gaps: List[Dict[str, Any]] = load(bundle, "coverage.json")["gaps"]
    return gaps


def _no_collector_failed(bundle: Path) -> None:
    failed = [g for g in _gaps(bundle) if g["reason"] == "collector_failed"]
    assert failed == [], failed


def _gap_on(bundle: Path, path: str) -> Dict[str, Any]:
    found = [g for g in _gaps(bundle) if g["path"] == path and g["reason"] == "parse_error"]
    assert found, f"no parse_error gap names {path}: {_gaps(bundle)}"
    return found[0]


def _persistence_paths(bundle: Path) -> List[str]:
    return [p["path"] for p in load(bundle, "inventory.json")["persistence"]]


def _user_hive(path: Path, value: str) -> None:
    hive = Hive("NTUSER.DAT")
    hive.set(rf"Software\{RUN}", "Updater", sz(value))
    for number in range(40):  # enough cells that a cut lands inside them
        hive.set(rf"Software\{RUN}Once", f"filler{number:02d}", sz("x" * 200))
    hive.write(path)


@pytest.mark.parametrize("damage", ["truncated", "corrupt-cells"])
def test_a_broken_hive_is_a_gap_and_every_other_persistence_is_read(
    tmp_path: Path, damage: str
) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"), users=(("alice", 1001), ("bob", 1002)))
    _user_hive(root.host(NTUSER), r"C:\Users\alice\AppData\Local\Temp\u\pythonw.exe upd.py")
    _user_hive(root.host(BOB_NTUSER), r"C:\Users\bob\AppData\Local\Temp\u\pythonw.exe upd.py")
    data = bytearray(root.host(NTUSER).read_bytes())
    if damage == "truncated":
        data = data[: 4096 + 900]  # the base block and the first cells only
    else:
        for offset in range(4096 + 32, len(data), 7):
            data[offset] ^= 0x5A
    root.host(NTUSER).write_bytes(bytes(data))
    root.add_file(f"{STARTUP}/Telemetry.lnk", shortcut(r"C:\Python312\pythonw.exe", "evil.py"))
    root.add_file(f"{STARTUP}/Broken.lnk", shortcut(r"C:\x.exe", "")[:80])
    root.add_file(f"{TASKS}/Good", task_xml(r"\Good", r"C:\Python312\python.exe", "job.py"))
    deep = "<?xml version='1.0'?>" + "<a>" * 100_000 + "</a>" * 100_000
    root.add_file(f"{TASKS}/Deep", deep.encode("utf-16"))
    root.add_file(f"{TASKS}/Junk", b"\xff\xfe<\x00T\x00a\x00s\x00k\x00" + b"\x00\xd8" * 50)

    code, bundle = scan(root.path, tmp_path / "out")
    assert code in (0, 1)
    _no_collector_failed(bundle)
    assert "registry hive" in _gap_on(bundle, NTUSER)["detail"]
    _gap_on(bundle, f"{STARTUP}/Broken.lnk")
    paths = _persistence_paths(bundle)
    assert BOB_NTUSER in paths, "the other user's hive is still read"
    assert f"{STARTUP}/Telemetry.lnk" in paths
    assert f"{TASKS}/Good" in paths


def test_bad_launchd_plists_are_gaps_beside_a_good_one(tmp_path: Path) -> None:
    root = macos_image(FakeRoot(tmp_path / "mac"))
    agents = f"{HOME}/Library/LaunchAgents"
    good = f"{agents}/com.example.good.plist"
    root.add_file(good, launchd_plist("com.example.good", ["/usr/bin/python3", "/tmp/x.py"]))
    binary = launchd_plist("com.example.cut", ["/usr/bin/python3", "y.py"], binary=True)
    root.add_file(f"{agents}/com.example.cut.plist", binary[: len(binary) // 2])
    root.add_file(f"{agents}/com.example.deep.plist", b"<plist>" + b"<array>" * 50_000)
    offsets = bytearray(binary)
    offsets[-26:] = b"\xff" * 26  # a trailer whose offsets point nowhere
    root.add_file(f"{agents}/com.example.trailer.plist", bytes(offsets))

    code, bundle = scan(root.path, tmp_path / "out")
    assert code in (0, 1)
    _no_collector_failed(bundle)
    paths = _persistence_paths(bundle)
    assert good in paths
    for name in ("cut", "deep", "trailer"):
        path = f"{agents}/com.example.{name}.plist"
        assert path in paths or any(g["path"] == path for g in _gaps(bundle)), path


def test_bad_conda_meta_files_never_cost_the_environment(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "root")
    root.add_passwd([("alice", 1000, "/home/alice")])
    prefix = "/home/alice/miniconda3/envs/app"
    root.add_conda(prefix, python="3.11")
    meta = f"{prefix}/conda-meta"
    root.add_file(f"{meta}/python-3.11.7-h955ad1f_0.json", b"[" * 200_000)
    root.add_file(f"{meta}/numpy-1.26.0-py311_0.json", b"\xff\xfe\x00garbage{")
    root.add_file(f"{meta}/history", b"\x00" * 100)
    root.add_file(meta.encode().decode() + "/caf\udce9-1.0-0.json", b"{}")

    code, bundle = scan(root.path, tmp_path / "out")
    assert code in (0, 1)
    _no_collector_failed(bundle)
    envs = {e["prefix"]: e for e in load(bundle, "inventory.json")["environments"]}
    assert prefix in envs
    assert envs[prefix]["kind"] == "conda"
    assert any(v.startswith("3.11") for v in envs[prefix]["python_versions"])


def test_a_bad_pod_costs_that_pod_only() -> None:
    deep: Any = "x"
    for _ in range(30):
        deep = {"k": [deep]}
    items: List[Any] = [
        pod("web-1", namespace="default"),
        {"metadata": {"name": 5, "creationTimestamp": "0000-99-99"}, "spec": []},
        {"metadata": {"name": "odd\x1b[2J", "annotations": deep}},
        "not an object",
        payload_pod(),
    ]
    gaps: List[Gap] = []
    pods, skipped = parse_pods(pod_list(items), gaps)
    names = {p.name for p in pods}
    assert {"web-1", "node-setup-worker-1"} <= names
    assert skipped == len(items) - len(pods)
    with pytest.raises(ClusterParseError, match="nested deeper"):
        parse_pods(b'{"items": [' + b"[" * 100_000 + b"]}")
    with pytest.raises(ClusterParseError):
        parse_pods(json.dumps({"items": 3}).encode())
