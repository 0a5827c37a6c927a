"""Types for what ``kubectl get pods`` reported about a cluster (``--kubernetes`` live scans).

Only the pod facts a responder needs to spot a payload's pods are kept: never environment
values, arguments, annotations or anything else that may carry a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class HostMount:
    """A ``hostPath`` volume of a pod: a directory of the node shared with its containers.

    Attributes:
        volume: the volume's name in the pod spec.
        host_path: the node's directory (``/`` gives the container the whole node).
        mount_paths: where the pod's containers mount it (empty when declared but unmounted).
    """

    volume: str
    host_path: str
    mount_paths: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterPod:
    """One pod of the cluster, as the API server described it.

    Attributes:
        namespace, name: where and what.
        node: the node it is scheduled on, ``None`` when not yet scheduled.
        phase: ``Running``, ``Pending``, ``Succeeded``... as reported.
        created: ``metadata.creationTimestamp`` (UTC epoch seconds), ``None`` when absent.
        images: the images of every container (init and ephemeral ones included).
        privileged: whether any container runs privileged.
        host_pid: whether the pod shares the node's process namespace.
        host_network: whether the pod shares the node's network namespace.
        host_mounts: its ``hostPath`` volumes.
    """

    namespace: str
    name: str
    node: Optional[str]
    phase: Optional[str]
    created: Optional[float]
    images: Tuple[str, ...]
    privileged: bool
    host_pid: bool
    host_network: bool
    host_mounts: Tuple[HostMount, ...] = ()
