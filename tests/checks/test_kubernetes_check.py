"""Pods listed by ``--kubernetes``: the payload's are critical, look-alikes in its window high."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Tuple

from builders import FakeRoot
from kubefake import SECRET, payload_pod, pod, pod_list, printing_kubectl
from scanrun import bundle_bytes, load
from sitesweep.bundle.reader import read_inventory
from sitesweep.bundle.writer import RunInfo, write_bundle
from sitesweep.checks.kubernetes import POD_INDICATORS, ClusterPods
from sitesweep.engine import ScanResult, analyze
from sitesweep.host.cluster_model import ClusterPod
from sitesweep.host.kubernetes import query_cluster
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.model import Category, Severity
from sitesweep.packs import load_packs

ROOT_AT_HOST = (("/", "/host"),)
LATER = "2026-05-01T09:00:00Z"
RULE = "litellm-2026-03/cluster-pod"
CRITICAL = Severity.CRITICAL


def _pods(tmp_path: Path) -> Tuple[ClusterPod, ...]:
    """The fixture cluster, listed through the fake kubectl."""
    items = [
        payload_pod("node-setup-worker-1"),
        dict(
            payload_pod("node-setup-worker-2"),
            spec=dict(
                payload_pod()["spec"],
                containers=[
                    {
                        "image": "docker.io/library/alpine@sha256:0a1b",
                        "volumeMounts": [{"name": "v0", "mountPath": "/host"}],
                    }
                ],
            ),
        ),
        pod("debug-root", image="busybox:1.36", privileged=True, host_paths=ROOT_AT_HOST),
        pod(
            "debug-later", image="busybox", privileged=True, host_paths=ROOT_AT_HOST, created=LATER
        ),
        pod("node-setup-elsewhere", namespace="default", privileged=True, host_paths=ROOT_AT_HOST),
        pod("node-setup-logs", privileged=True, host_paths=(("/var/log", "/logs"),)),
        pod("node-setup-quiet", host_paths=ROOT_AT_HOST),
        pod(
            "kube-proxy-x1",
            image="registry.k8s.io/kube-proxy:v1.30.0",
            privileged=True,
            host_network=True,
            host_paths=(("/lib/modules", "/lib/modules"), ("/run/xtables.lock", "/run/x.lock")),
        ),
        pod("app-7d9", namespace="default", image="python:3.12"),
    ]
    seen = query_cluster(str(printing_kubectl(tmp_path / "bin", pod_list(items))), 5)
    assert seen.gaps == ()
    return seen.pods


def _analyze(fake_root: FakeRoot, pods: Tuple[ClusterPod, ...], builtin: bool = True) -> ScanResult:
    static = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    inventory = dataclasses.replace(static, live=True, cluster_pods=pods)
    return analyze(inventory, load_packs(builtin=builtin), checks=(ClusterPods,), strict=True)


def test_payload_pods_are_critical_and_window_look_alikes_high(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    result = _analyze(fake_root, _pods(tmp_path))
    by_pod: Dict[str, Tuple[str, Severity]] = {}
    for finding in result.findings:
        pod_name = next(e.value for e in finding.evidence if e.label == "pod")
        assert pod_name not in by_pod
        by_pod[pod_name] = (finding.rule, finding.severity)
        assert finding.category is Category.PERSISTENCE
        assert finding.pack == "litellm-2026-03"
    assert by_pod == {
        "kube-system/node-setup-worker-1": (f"{RULE}/kube-system/node-setup-worker-1", CRITICAL),
        "kube-system/node-setup-worker-2": (f"{RULE}/kube-system/node-setup-worker-2", CRITICAL),
        "kube-system/debug-root": (f"{RULE}-in-window/kube-system/debug-root", Severity.HIGH),
    }
    critical = next(f for f in result.findings if "worker-1" in f.title)
    evidence = {(e.label, e.value) for e in critical.evidence}
    assert ("node", "worker-1") in evidence
    assert ("host path", "/ at /host") in evidence
    assert ("host access", "privileged, hostPID, hostNetwork") in evidence
    assert ("created", "2026-03-24T11:05:00+00:00") in evidence
    assert "kubectl get pod -n kube-system node-setup-worker-1 -o yaml" in (
        critical.remediation or ""
    )
    assert SECRET not in repr(result.findings)


def test_no_pods_or_no_pack_no_findings(fake_root: FakeRoot, tmp_path: Path) -> None:
    assert _analyze(fake_root, ()).findings == ()
    assert _analyze(fake_root, _pods(tmp_path), builtin=False).findings == ()


def test_every_indicator_names_a_built_in_pack() -> None:
    packs = load_packs()
    assert all(packs.get(i.pack) is not None for i in POD_INDICATORS)


def test_whole_check_suite_accepts_cluster_pods(fake_root: FakeRoot, tmp_path: Path) -> None:
    static = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    inventory = dataclasses.replace(static, live=True, cluster_pods=_pods(tmp_path))
    result = analyze(inventory, load_packs(), strict=True)
    rules = {f.rule for f in result.findings}
    assert f"{RULE}/kube-system/node-setup-worker-1" in rules
    assert f"{RULE}-in-window/kube-system/debug-root" in rules


def test_bundle_holds_pods_and_findings_but_no_pod_secret(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    result = _analyze(fake_root, _pods(tmp_path))
    now = datetime.now(timezone.utc)
    paths = write_bundle(result, HostRoot(fake_root.path), tmp_path / "out", RunInfo((), now, now))
    inventory = read_inventory(paths.directory)
    assert inventory.cluster_pods == result.inventory.cluster_pods
    findings = load(paths.directory, "findings.json")["findings"]
    assert f"{RULE}/kube-system/node-setup-worker-1" in {f["rule"] for f in findings}
    assert "node-setup-worker-1" in (paths.directory / "report.txt").read_text()
    assert all(SECRET.encode() not in data for data in bundle_bytes(paths.directory))
