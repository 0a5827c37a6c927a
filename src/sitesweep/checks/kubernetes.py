"""Pods a payload created in the cluster, from the ``--kubernetes`` query's pod list.

A pod shaped like a pack's cluster indicator (name, namespace, image, host access) is critical.
Any privileged pod in the indicator's namespace that mounts the node's ``/`` and was created
inside that pack's incident window is high: the payload's pods by another name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.host.cluster_model import ClusterPod
from sitesweep.model import Category, Evidence, Finding, Severity
from sitesweep.packs.model import Pack


@dataclass(frozen=True)
class PodIndicator:
    """What a pack's payload pods look like.

    Attributes:
        pack: the pack id.
        namespace: where the payload creates them.
        name_prefix: their name up to the node name.
        images: image repositories used (any tag or digest).
        description: what the pods are, for the finding.
    """

    pack: str
    namespace: str
    name_prefix: str
    images: Tuple[str, ...]
    description: str


POD_INDICATORS: Tuple[PodIndicator, ...] = (
    PodIndicator(
        pack="litellm-2026-03",
        namespace="kube-system",
        name_prefix="node-setup-",
        images=("alpine", "library/alpine", "docker.io/library/alpine"),
        description="one privileged pod per node (alpine:latest, hostPID, hostNetwork, host / at "
        "/host) that installs the sysmon backdoor on the node (iocs.md 1.8)",
    ),
)
"""Cluster indicators, as data. Kept here rather than in the pack format until a second
incident needs it (like ``checks.credentials.CLUSTER_INDICATORS``)."""


def _repository(image: str) -> str:
    """``docker.io/library/alpine:latest@sha256:..`` -> ``docker.io/library/alpine``."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def mounts_host_root(pod: ClusterPod) -> bool:
    """Whether a ``hostPath`` volume gives the pod the node's whole filesystem."""
    return any(m.host_path.rstrip("/") == "" for m in pod.host_mounts)


def host_access(pod: ClusterPod) -> bool:
    """Whether the pod escapes its container: privileged, or the node's PID or network."""
    return pod.privileged or pod.host_pid or pod.host_network


def matches(indicator: PodIndicator, pod: ClusterPod) -> bool:
    """Whether ``pod`` has every trait of the indicator's pods."""
    return (
        pod.namespace == indicator.namespace
        and pod.name.startswith(indicator.name_prefix)
        and any(_repository(i) in indicator.images for i in pod.images)
        and host_access(pod)
        and mounts_host_root(pod)
    )


def _in_window(pack: Pack, pod: ClusterPod) -> bool:
    if pack.window_start is None or pack.window_end is None or pod.created is None:
        return False
    return pack.window_start.timestamp() <= pod.created <= pack.window_end.timestamp()


def _created(pod: ClusterPod) -> str:
    if pod.created is None:
        return "unknown"
    return datetime.fromtimestamp(pod.created, timezone.utc).isoformat()


def _evidence(pod: ClusterPod) -> Tuple[Evidence, ...]:
    traits = (("privileged", pod.privileged), ("hostPID", pod.host_pid))
    flags = [n for n, on in (*traits, ("hostNetwork", pod.host_network)) if on]
    return (
        Evidence("pod", f"{pod.namespace}/{pod.name}"),
        Evidence("node", pod.node or "unscheduled"),
        Evidence("phase", pod.phase or "unknown"),
        Evidence("created", _created(pod)),
        Evidence("images", ", ".join(pod.images) or "none"),
        Evidence("host access", ", ".join(flags) or "none"),
        *(
            Evidence("host path", f"{m.host_path} at {', '.join(m.mount_paths) or 'unmounted'}")
            for m in pod.host_mounts
        ),
    )


def _remediation(pod: ClusterPod, pack: Pack) -> str:
    return (
        f"Treat node {pod.node or '(unscheduled)'} and every node with such a pod as compromised; "
        f"keep the pod spec (`kubectl get pod -n {pod.namespace} {pod.name} -o yaml`) before "
        f"removing it, and rotate every secret of the cluster (the payload dumps them all). "
        f"{pack.remediation}"
    )


class ClusterPods(Check):
    """The cluster runs pods shaped like a pack's payload pods (``--kubernetes`` live scans)."""

    id = "kubernetes/pods"
    default_severity = Severity.CRITICAL

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a critical finding per indicator pod, a high one per privileged pod in window."""
        pods = ctx.inventory.cluster_pods
        for indicator in POD_INDICATORS:
            pack = ctx.packs.get(indicator.pack)
            if pack is None:
                continue
            for pod in pods:
                if matches(indicator, pod):
                    yield self._finding(pack, pod, Severity.CRITICAL, indicator.description)
                elif (
                    pod.namespace == indicator.namespace
                    and pod.privileged
                    and mounts_host_root(pod)
                    and _in_window(pack, pod)
                ):
                    yield self._finding(pack, pod, Severity.HIGH, "created in the incident window")

    @staticmethod
    def _finding(pack: Pack, pod: ClusterPod, severity: Severity, why: str) -> Finding:
        critical = severity is Severity.CRITICAL
        kind = "payload pod" if critical else "privileged host-root pod"
        kind_rule = "cluster-pod" if critical else "cluster-pod-in-window"  # one id per pod
        return Finding(
            rule=f"{pack.id}/{kind_rule}/{pod.namespace}/{pod.name}",
            severity=severity,
            category=Category.PERSISTENCE,
            title=f"{kind} {pod.namespace}/{pod.name} on node {pod.node or '(unscheduled)'}",
            evidence=(*_evidence(pod), Evidence("why", why)),
            remediation=_remediation(pod, pack),
            pack=pack.id,
        )
