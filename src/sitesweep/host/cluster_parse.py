"""Read the pods out of ``kubectl get pods -o json`` output, leniently.

The document is parsed in memory and only :class:`ClusterPod` fields are kept: container
environments, arguments, labels and annotations (which may hold secrets) are never copied.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from sitesweep.host.cluster_model import ClusterPod, HostMount
from sitesweep.model import Gap
from sitesweep.parsing import PARSE_ERRORS, guarded, loads_json

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class ClusterParseError(ValueError):
    """The output is not a Kubernetes list document."""


def _dict(value: object) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> List[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> Optional[str]:
    return value if isinstance(value, str) else None


def _epoch(value: object) -> Optional[float]:
    """``2026-03-24T11:02:03Z`` as UTC epoch seconds; ``None`` when absent or malformed."""
    text = _str(value)
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _containers(spec: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [_dict(c) for key in CONTAINER_LISTS for c in _list(spec.get(key))]


def _host_mounts(spec: Dict[str, Any], containers: List[Dict[str, Any]]) -> Tuple[HostMount, ...]:
    mounted: Dict[str, List[str]] = {}
    for container in containers:
        for mount in _list(container.get("volumeMounts")):
            name, where = _str(_dict(mount).get("name")), _str(_dict(mount).get("mountPath"))
            if name is not None and where is not None:
                mounted.setdefault(name, []).append(where)
    found = []
    for volume in _list(spec.get("volumes")):
        name = _str(_dict(volume).get("name")) or ""
        path = _str(_dict(_dict(volume).get("hostPath")).get("path"))
        if path is not None:
            found.append(HostMount(name, path, tuple(sorted(set(mounted.get(name, ()))))))
    return tuple(found)


def parse_pod(item: Dict[str, Any]) -> ClusterPod:
    """One pod object of the list; absent or ill-typed fields take empty values."""
    meta, spec = _dict(item.get("metadata")), _dict(item.get("spec"))
    containers = _containers(spec)
    images = (_str(c.get("image")) for c in containers)
    return ClusterPod(
        namespace=_str(meta.get("namespace")) or "",
        name=_str(meta.get("name")) or "",
        node=_str(spec.get("nodeName")),
        phase=_str(_dict(item.get("status")).get("phase")),
        created=_epoch(meta.get("creationTimestamp")),
        images=tuple(i for i in images if i),
        privileged=any(
            _dict(c.get("securityContext")).get("privileged") is True for c in containers
        ),
        host_pid=spec.get("hostPID") is True,
        host_network=spec.get("hostNetwork") is True,
        host_mounts=_host_mounts(spec, containers),
    )


def parse_pods(data: bytes, gaps: Optional[List[Gap]] = None) -> Tuple[Tuple[ClusterPod, ...], int]:
    """Every pod of a ``kind: List`` document, and how many items were not objects or could
    not be read (each of those is a gap [``parse_error``] in ``gaps`` naming the item).

    Raises:
        ClusterParseError: the text is not JSON (or nests deeper than
            :data:`~sitesweep.parsing.MAX_DEPTH`), or not an object with an ``items`` list.
    """
    try:
        doc = loads_json(data.decode("utf-8", "surrogateescape"))
    except PARSE_ERRORS as exc:
        raise ClusterParseError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ClusterParseError("not a Kubernetes list (no items array)")
    items: List[Any] = doc["items"]
    failed: List[Gap] = [] if gaps is None else gaps
    pods: List[ClusterPod] = []
    for number, item in enumerate(items):
        if isinstance(item, dict):
            where = f"kubectl get pods: items[{number}]"
            pod = guarded("kubernetes", where, failed, None, parse_pod, item)
            if pod is not None:
                pods.append(pod)
    skipped = len(items) - len(pods)
    return tuple(sorted(pods, key=lambda p: (p.namespace, p.name))), skipped
