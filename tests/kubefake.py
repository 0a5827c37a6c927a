"""A fake ``kubectl`` for tests: a shell script that records its arguments and prints a fixture.

Nothing here talks to a cluster. Pod fixtures mimic ``kubectl get pods -A -o json``.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

SECRET = "FIXTURE-CLUSTER-SECRET-4d1e"  # noqa: S105 - a marker string, not a credential
"""An env value in a fixture pod spec; it must never reach an observation or a bundle."""


def pod(
    name: str,
    namespace: str = "kube-system",
    image: str = "alpine:latest",
    created: str = "2026-03-24T11:05:00Z",
    privileged: bool = False,
    host_pid: bool = False,
    host_network: bool = False,
    host_paths: Tuple[Tuple[str, Optional[str]], ...] = (),
) -> Dict[str, Any]:
    """One pod object; ``host_paths`` are (node directory, container mount path or None)."""
    volumes = [{"name": f"v{i}", "hostPath": {"path": p}} for i, (p, _) in enumerate(host_paths)]
    mounts = [{"name": f"v{i}", "mountPath": m} for i, (_, m) in enumerate(host_paths) if m]
    container = {
        "name": "setup",
        "image": image,
        "env": [{"name": "TOKEN", "value": SECRET}],
        "securityContext": {"privileged": privileged},
        "volumeMounts": mounts,
    }
    return {
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
        "spec": {
            "nodeName": "worker-1",
            "hostPID": host_pid,
            "hostNetwork": host_network,
            "containers": [container],
            "volumes": [*volumes, {"name": "cfg", "configMap": {"name": "x"}}],
        },
        "status": {"phase": "Running"},
    }


def payload_pod(name: str = "node-setup-worker-1") -> Dict[str, Any]:
    """A pod as the litellm payload creates them (iocs.md 1.8)."""
    return pod(
        name, privileged=True, host_pid=True, host_network=True, host_paths=(("/", "/host"),)
    )


def pod_list(items: List[Any]) -> bytes:
    """A ``kind: List`` document."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}).encode()


def write_kubectl(directory: Path, body: str) -> Path:
    """Write an executable ``kubectl`` in ``directory`` that logs its argv to ``args.txt``."""
    directory.mkdir(parents=True, exist_ok=True)
    args = directory / "args.txt"
    script = directory / "kubectl"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{args}'\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def printing_kubectl(directory: Path, output: bytes) -> Path:
    """A kubectl that prints ``output`` and exits 0."""
    fixture = directory / "pods.json"
    directory.mkdir(parents=True, exist_ok=True)
    fixture.write_bytes(output)
    return write_kubectl(directory, f"cat '{fixture}'")
