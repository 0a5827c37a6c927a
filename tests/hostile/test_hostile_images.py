"""Hostile container images: what a layer's tar headers say is data, checked like any other.

A PAX header can give a member any modification time as text: ``nan``, ``inf``, ``1e300``.
Before, ``nan`` and ``inf`` ended ``scan --image`` with an internal error (exit 2, no bundle) and
``1e300`` was written into a bundle that ``analyze`` then refused as out of range.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from clirun import RunCli
from scanrun import load, only_bundle

pytestmark = pytest.mark.nonroot

SITE = "usr/lib/python3.11/site-packages"


def _layer(members: List[Tuple[str, bytes, Dict[str, str]]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, pax in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = pax
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _layout(out: Path, raw: bytes) -> None:
    """An OCI image layout directory with one gzip layer holding the tar ``raw``."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return digest

    layer = gzip.compress(raw, mtime=0)
    diff = hashlib.sha256(raw).hexdigest()
    config = json.dumps(
        {"os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff}"]}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{put(config)}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{put(layer)}",
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{put(manifest)}",
                "size": len(manifest),
            }
        ],
    }
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (out / "index.json").write_text(json.dumps(index))


def test_member_times_that_are_no_time_are_gaps(tmp_path: Path, run_cli: RunCli) -> None:
    times = {"nan": "nan", "inf": "inf", "huge": "1e300", "ancient": "-70000000000"}
    members = [(f"{SITE}/{n}.pth", b"import os\n", {"mtime": t}) for n, t in times.items()]
    members.append(("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", {}))
    image = tmp_path / "image"
    _layout(image, _layer(members))

    scan = run_cli("scan", "--image", str(image), "--output", str(tmp_path / "out"))
    assert scan.code in (0, 1), scan.err
    bundle = only_bundle(tmp_path / "out")
    inventory = load(bundle, "inventory.json")
    mtimes = {
        p["file"]["path"].rsplit("/", 1)[1]: p["file"]["mtime"] for p in inventory["pth_files"]
    }
    assert mtimes == {"nan.pth": 0.0, "inf.pth": 0.0, "huge.pth": 0.0, "ancient.pth": -7e10}
    gaps = {g["path"] for g in load(bundle, "coverage.json")["gaps"] if "no time" in g["detail"]}
    assert gaps == {f"/{SITE}/{n}.pth" for n in ("nan", "inf", "huge")}
    analyzed = run_cli("analyze", str(bundle), "--output", str(tmp_path / "analysis"))
    assert analyzed.code in (0, 1), analyzed.err
