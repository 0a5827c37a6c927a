"""``--kubernetes``: one read-only ``kubectl get pods`` via a fake kubectl; failures are gaps."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import List

import pytest

from builders import FakeRoot
from clirun import RunCli
from kubefake import (
    SECRET,
    payload_pod,
    pod,
    pod_list,
    printing_kubectl,
    write_kubectl,
)
from scanrun import load, only_bundle
from sitesweep.bundle.decode import from_plain
from sitesweep.bundle.serialize import dumps
from sitesweep.host.cluster_model import ClusterPod, HostMount
from sitesweep.host.kubernetes import collect_cluster, query_cluster
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason

READ_ONLY_ARGV = ["get", "pods", "--all-namespaces", "-o", "json", "--request-timeout=5s"]


def test_query_lists_pods_with_the_read_only_command(tmp_path: Path) -> None:
    proxy = pod("kube-proxy-abc", image="registry.k8s.io/kube-proxy:v1.30.0", privileged=True)
    kubectl = printing_kubectl(tmp_path, pod_list([payload_pod(), proxy]))
    seen = query_cluster(str(kubectl), 5)
    assert seen.gaps == ()
    assert (tmp_path / "args.txt").read_text().splitlines() == READ_ONLY_ARGV
    by_name = {p.name: p for p in seen.pods}
    assert set(by_name) == {"node-setup-worker-1", "kube-proxy-abc"}
    bad = by_name["node-setup-worker-1"]
    assert (bad.namespace, bad.node, bad.phase) == ("kube-system", "worker-1", "Running")
    assert bad.images == ("alpine:latest",)
    assert (bad.privileged, bad.host_pid, bad.host_network) == (True, True, True)
    assert bad.host_mounts == (HostMount("v0", "/", ("/host",)),)
    assert bad.created == 1774350300.0  # 2026-03-24T11:05:00Z
    assert by_name["kube-proxy-abc"].host_mounts == ()
    assert SECRET not in repr(seen)


def test_pods_survive_the_bundle_round_trip(tmp_path: Path) -> None:
    seen = query_cluster(str(printing_kubectl(tmp_path, pod_list([payload_pod()]))), 5)
    text = dumps(seen.pods[0])
    assert from_plain(ClusterPod, json.loads(text)) == seen.pods[0]
    assert SECRET not in text


def test_non_zero_exit_is_a_gap(tmp_path: Path) -> None:
    kubectl = write_kubectl(tmp_path, "echo 'error: You must be logged in' >&2\nexit 1")
    seen = query_cluster(str(kubectl), 5)
    assert seen.pods == ()
    assert [(g.area, g.reason) for g in seen.gaps] == [("kubernetes", GapReason.CHECK_FAILED)]
    assert "exited 1: error: You must be logged in" in seen.gaps[0].detail


@pytest.mark.parametrize(
    "output",
    [b"this is not json {", b"[1, 2, 3]", b'{"kind": "List"}', b"\xff\xfe garbage"],
)
def test_unreadable_output_is_a_parse_gap(tmp_path: Path, output: bytes) -> None:
    seen = query_cluster(str(printing_kubectl(tmp_path, output)), 5)
    assert seen.pods == ()
    assert [g.reason for g in seen.gaps] == [GapReason.PARSE_ERROR]


def test_odd_items_are_skipped_with_a_gap(tmp_path: Path) -> None:
    weird = {"metadata": "not a dict", "spec": {"containers": "nope", "hostPID": "yes"}}
    output = pod_list([payload_pod(), 7, "pod", weird])
    seen = query_cluster(str(printing_kubectl(tmp_path, output)), 5)
    assert [p.name for p in seen.pods] == ["", "node-setup-worker-1"]
    odd = seen.pods[0]
    assert (odd.images, odd.host_pid, odd.created) == ((), False, None)
    assert [(g.reason, g.detail) for g in seen.gaps] == [
        (GapReason.PARSE_ERROR, "2 pod entries not objects")
    ]


def test_oversized_output_is_a_gap(tmp_path: Path) -> None:
    kubectl = printing_kubectl(tmp_path, pod_list([payload_pod()] * 50))
    seen = query_cluster(str(kubectl), 5, limit=1000)
    assert seen.pods == ()
    assert [g.reason for g in seen.gaps] == [GapReason.TOO_LARGE]


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_hanging_kubectl_is_killed_and_a_timeout_gap(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    kubectl = write_kubectl(tmp_path, f"sleep 60 &\necho $! > '{pid_file}'\nwait")
    started = time.monotonic()
    seen = query_cluster(str(kubectl), 1)
    assert time.monotonic() - started < 10
    assert seen.pods == ()
    assert [g.reason for g in seen.gaps] == [GapReason.TIMEOUT]
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(sleeper), "kubectl's child outlived the query"


def test_missing_kubectl_is_a_gap(tmp_path: Path) -> None:
    seen = query_cluster(str(tmp_path / "no-such-kubectl"), 5)
    assert seen.pods == ()
    assert [g.reason for g in seen.gaps] == [GapReason.CHECK_SKIPPED]


def test_collect_uses_kubectl_from_path_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    printing_kubectl(bin_dir, pod_list([payload_pod()]))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    gaps: List[Gap] = []
    assert collect_cluster(HostRoot(None), False, gaps, 5) == ()
    assert gaps == []
    assert not (bin_dir / "args.txt").exists()
    pods = collect_cluster(HostRoot(None), True, gaps, 5)
    assert [p.name for p in pods] == ["node-setup-worker-1"]
    assert gaps == []
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert collect_cluster(HostRoot(None), True, gaps, 5) == ()
    assert [(g.reason, g.detail) for g in gaps] == [
        (GapReason.CHECK_SKIPPED, "kubectl is not on PATH")
    ]


def test_root_scan_skips_the_cluster_query(
    fake_root: FakeRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    bin_dir = tmp_path / "bin"
    printing_kubectl(bin_dir, pod_list([payload_pod()]))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    out = tmp_path / "out"
    run = run_cli("scan", "--kubernetes", "--root", str(fake_root.path), "--output", str(out))
    assert run.code == 0, run.err
    assert not (bin_dir / "args.txt").exists()
    bundle = only_bundle(out)
    coverage = load(bundle, "coverage.json")["gaps"]
    assert {"area": "kubernetes", "path": None, "reason": "live_only"} in [
        {k: g[k] for k in ("area", "path", "reason")} for g in coverage
    ]
    assert load(bundle, "inventory.json")["cluster_pods"] == []
    assert not fake_root.marker.exists()
