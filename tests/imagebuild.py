"""Build real container image archives from fixture trees: OCI image layouts (as a directory or a
tarball, gzip layers) and ``docker save`` tarballs (uncompressed ``layer.tar``), the way the tools
write them. A layer is a :class:`~builders.FakeRoot` tree; a whiteout is an empty file named
``.wh.<name>`` in it (``.wh..wh..opq`` for an opaque directory), as in a real layer tar."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"


def compress(data: bytes, how: str) -> bytes:
    """``data`` as ``gzip`` (mtime 0) or ``zstd`` (a real frame, by the zstandard library)."""
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    return gzip.compress(data, mtime=0)


def layer_bytes(tree: Path) -> bytes:
    """The uncompressed tar of a layer tree (paths relative, parents before children)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(tree.rglob("*")):
            tar.add(path, arcname=path.relative_to(tree).as_posix(), recursive=False)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_config(
    layers: Sequence[bytes], history: Sequence[str], config: Mapping[str, Any]
) -> Dict[str, Any]:
    """An image config: rootfs diff_ids of the uncompressed layers, one history line each."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": dict(config),
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha(t)}" for t in layers]},
        "history": [{"created": "2026-03-24T00:00:00Z", "created_by": h} for h in history],
    }


def oci_image(
    out: Path,
    trees: Sequence[Path],
    history: Sequence[str],
    config: Mapping[str, Any],
    name: str = "registry.example/app:1",
    as_dir: bool = False,
    layers: str = "gzip",
) -> Dict[str, Any]:
    """Write an OCI image layout (``layers``: gzip or zstd) at ``out``, a tarball unless ``as_dir``.

    Returns the digests: ``{"layers": [...], "config": ..., "manifest": ...}``.
    """
    raw = [layer_bytes(t) for t in trees]
    blobs: Dict[str, bytes] = {}
    layer_descs: List[Dict[str, Any]] = []
    for data in raw:
        packed = compress(data, layers)
        blobs[_sha(packed)] = packed
        kind = OCI_ZSTD_LAYER if layers == "zstd" else OCI_LAYER
        layer_descs.append(
            {"mediaType": kind, "digest": f"sha256:{_sha(packed)}", "size": len(packed)}
        )
    cfg = json.dumps(image_config(raw, history, config)).encode()
    blobs[_sha(cfg)] = cfg
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{_sha(cfg)}",
                "size": len(cfg),
            },
            "layers": layer_descs,
        }
    ).encode()
    blobs[_sha(manifest)] = manifest
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{_sha(manifest)}",
                "size": len(manifest),
                "annotations": {"io.containerd.image.name": name},
            }
        ],
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index).encode(),
        **{f"blobs/sha256/{h}": b for h, b in blobs.items()},
    }
    _write(out, files, as_dir)
    return {
        "layers": [d["digest"] for d in layer_descs],
        "config": f"sha256:{_sha(cfg)}",
        "manifest": f"sha256:{_sha(manifest)}",
    }


def docker_image(
    out: Path,
    trees: Sequence[Union[Path, bytes]],
    history: Sequence[str],
    config: Mapping[str, Any],
    tag: str = "app:1",
    copies: int = 0,
) -> Dict[str, Any]:
    """Write a legacy ``docker save`` tarball (``<id>/layer.tar``, ``<config>.json``).

    A layer given as bytes is used as its tar as it is (hand-made members); ``copies`` more
    images (other tags of the same layers) are listed after the first, as ``docker save a b``.
    """
    files: Dict[str, bytes] = {}
    entry, digests = _docker_entry(files, trees, history, config, [tag])
    manifest = [entry] + [{**entry, "RepoTags": [f"{tag}-copy{n}"]} for n in range(copies)]
    files["manifest.json"] = json.dumps(manifest).encode()
    _write(out, files, as_dir=False)
    return digests


def docker_save(
    out: Path,
    images: Sequence[Tuple[Sequence[str], Sequence[Union[Path, bytes]], Sequence[str]]],
    config: Mapping[str, Any],
) -> List[Dict[str, Any]]:
    """Write what ``docker save a b`` writes for several images: ``(tags, layers, history)``
    each (no tag: an untagged image, ``RepoTags`` null); the digests of each, in order."""
    files: Dict[str, bytes] = {}
    entries, found = [], []
    for tags, trees, history in images:
        entry, digests = _docker_entry(files, trees, history, config, list(tags))
        entries.append(entry)
        found.append(digests)
    files["manifest.json"] = json.dumps(entries).encode()
    _write(out, files, as_dir=False)
    return found


def _docker_entry(
    files: Dict[str, bytes],
    trees: Sequence[Union[Path, bytes]],
    history: Sequence[str],
    config: Mapping[str, Any],
    tags: List[str],
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    raw = [t if isinstance(t, bytes) else layer_bytes(t) for t in trees]
    cfg = json.dumps(image_config(raw, history, config)).encode()
    files[f"{_sha(cfg)}.json"] = cfg
    names = []
    for data in raw:
        layer_id = _sha(data + b"id")
        files[f"{layer_id}/VERSION"] = b"1.0"
        files[f"{layer_id}/layer.tar"] = data
        names.append(f"{layer_id}/layer.tar")
    entry = {"Config": f"{_sha(cfg)}.json", "RepoTags": tags or None, "Layers": names}
    digests = {"layers": [f"sha256:{_sha(t)}" for t in raw], "config": f"sha256:{_sha(cfg)}"}
    return entry, digests


def _write(out: Path, files: Mapping[str, bytes], as_dir: bool) -> None:
    if as_dir:
        for name, data in files.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    with tarfile.open(out, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1774310400
            tar.addfile(info, io.BytesIO(data))
