"""Package caches: affected wheels and sdists found by name, by dist-info member or by hash."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping

import pytest

from builders import FakeRoot
from clirun import RunCli
from sitesweep.checks import CheckContext
from sitesweep.checks.caches import CachedAffectedArtifact
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.metadata.archives import (
    MAX_MEMBERS,
    ArchiveError,
    list_zip,
    parse_conda_filename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from sitesweep.metadata.caches import ArtifactKind
from sitesweep.model import GapReason
from sitesweep.packs import load_packs
from sitesweep.packs.model import ArtifactHash, PackSet

PIP_WHEELS = "/home/alice/.cache/pip/wheels/ab/cd/ef/0123456789"
HTTP_V2 = "/home/alice/.cache/pip/http-v2/a/b/c/d/e"
BODY = f"{HTTP_V2}/5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2.body"
LOCK = "/home/alice/proj/uv.lock"


def wheel_members(version: str) -> Dict[str, bytes]:
    """Members of a small, harmless litellm-like wheel."""
    info = f"litellm-{version}.dist-info"
    return {
        "litellm/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: litellm\nVersion: {version}\n".encode(),
        f"{info}/RECORD": b"",
    }


def uv_lock(version: str) -> str:
    return (
        'version = 1\nrequires-python = ">=3.9"\n\n'
        '[[package]]\nname = "litellm"\n'
        f'version = "{version}"\nsource = {{ registry = "https://pypi.org/simple" }}\n\n'
        '[[package]]\nname = "requests"\nversion = "2.31.0"\n'
    )


def build_caches(root: FakeRoot, version: str) -> None:
    root.add_zip(f"{PIP_WHEELS}/litellm-{version}-py3-none-any.whl", wheel_members(version))
    root.add_zip(BODY, wheel_members(version))
    root.add_file(f"{HTTP_V2}/5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2", b"hdr")
    root.add_file(f"{HTTP_V2}/0aa1/simple-index.body", b"<html>litellm</html>")
    root.add_file(LOCK, uv_lock(version))


def scan_json(run_cli: RunCli, root: FakeRoot, out: Path) -> List[Dict[str, Any]]:
    run = run_cli("scan", "--root", str(root.path), "--output", str(out), "--json")
    assert run.code in (0, 1), run.err
    findings: List[Dict[str, Any]] = json.loads(run.out)["findings"]
    return findings


def test_cached_wheels_and_uv_lock_of_affected_version_are_medium(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_caches(fake_root, "1.82.8")
    findings = scan_json(run_cli, fake_root, tmp_path / "out")
    cache = [f for f in findings if f["category"] == "cache"]
    assert {p for f in cache for p in f["paths"]} == {
        f"{PIP_WHEELS}/litellm-1.82.8-py3-none-any.whl",
        BODY,
    }
    assert {(f["rule"], f["severity"], f["version"]) for f in cache} == {
        ("litellm-2026-03/cache/litellm", "medium", "1.82.8")
    }
    locks = [f for f in findings if f["category"] == "lockfile"]
    assert [(f["rule"], f["severity"], f["paths"]) for f in locks] == [
        ("litellm-2026-03/lockfile/litellm", "medium", [LOCK])
    ]
    assert not fake_root.marker.exists()


def test_same_names_at_a_safe_version_are_not_reported(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_caches(fake_root, "1.82.6")
    findings = scan_json(run_cli, fake_root, tmp_path / "out")
    assert [f for f in findings if f["category"] in ("cache", "lockfile")] == []
    inv = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    seen = {(a.path, a.kind, a.name, a.version) for a in inv.cached_artifacts}
    assert seen == {
        (f"{PIP_WHEELS}/litellm-1.82.6-py3-none-any.whl", ArtifactKind.WHEEL, "litellm", "1.82.6"),
        (BODY, ArtifactKind.HTTP_BODY, "litellm", "1.82.6"),
    }
    body = next(a for a in inv.cached_artifacts if a.path == BODY)
    assert body.members == ("litellm-1.82.6.dist-info/",)
    assert [(p.name, p.version) for lock in inv.lockfiles for p in lock.pins] == [
        ("litellm", "1.82.6"),
        ("requests", "2.31.0"),
    ]


def test_uv_poetry_and_conda_caches(fake_root: FakeRoot) -> None:
    fake_root.add_conda("/opt/conda")
    fake_root.add_file("/opt/conda/pkgs/litellm-1.82.7-pyhd8ed1ab_0.conda", b"PK\x03\x04junk")
    fake_root.add_dir("/opt/conda/pkgs/litellm-1.82.7-pyhd8ed1ab_0/info")
    fake_root.add_file("/home/bob/.cache/uv/archive-v0/Xy12/litellm-1.82.8.dist-info/RECORD", "")
    fake_root.add_file("/home/bob/.cache/uv/archive-v0/Xy12/litellm/__init__.py", "")
    fake_root.add_file(
        "/home/bob/.cache/uv/wheels-v5/pypi/litellm/litellm-1.82.8-py3-none-any.msgpack", b"\x90"
    )
    fake_root.add_file(
        "/root/.cache/pypoetry/artifacts/01/02/03/abc/litellm-1.82.7.tar.gz", b"\x1f\x8b"
    )
    inv = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    seen = {(a.path, a.tool, a.kind, a.version) for a in inv.cached_artifacts}
    assert seen == {
        (
            "/opt/conda/pkgs/litellm-1.82.7-pyhd8ed1ab_0.conda",
            "conda",
            ArtifactKind.CONDA,
            "1.82.7",
        ),
        ("/opt/conda/pkgs/litellm-1.82.7-pyhd8ed1ab_0", "conda", ArtifactKind.UNPACKED, "1.82.7"),
        (
            "/home/bob/.cache/uv/archive-v0/Xy12/litellm-1.82.8.dist-info",
            "uv",
            ArtifactKind.UNPACKED,
            "1.82.8",
        ),
        (
            "/home/bob/.cache/uv/wheels-v5/pypi/litellm/litellm-1.82.8-py3-none-any.msgpack",
            "uv",
            ArtifactKind.CACHE_ENTRY,
            "1.82.8",
        ),
        (
            "/root/.cache/pypoetry/artifacts/01/02/03/abc/litellm-1.82.7.tar.gz",
            "poetry",
            ArtifactKind.SDIST,
            "1.82.7",
        ),
    }
    findings = list(CachedAffectedArtifact().run(CheckContext(inv, load_packs())))
    assert len(findings) == len(seen)


def test_body_matching_an_artifact_hash_is_reported_without_a_name(fake_root: FakeRoot) -> None:
    sdist_body = b"\x1f\x8b\x08\x00 pretend this is litellm-1.82.8.tar.gz"
    path = f"{HTTP_V2}/77aa.body"
    fake_root.add_file(path, sdist_body)
    inv = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    (artifact,) = inv.cached_artifacts
    assert (artifact.name, artifact.kind) == (None, ArtifactKind.HTTP_BODY)
    builtin = load_packs().packs[0]
    digest = hashlib.sha256(sdist_body).hexdigest()
    pack = dataclasses.replace(
        builtin, artifacts=(ArtifactHash(digest, "litellm-1.82.8.tar.gz", "test sdist"),)
    )
    findings = list(CachedAffectedArtifact().run(CheckContext(inv, PackSet((pack,)))))
    assert [(f.paths, f.severity.value) for f in findings] == [((path,), "medium")]
    assert any(e.value == "SHA-256 of litellm-1.82.8.tar.gz" for e in findings[0].evidence)


def _zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _claims_many_members(data: bytes, count: int = 200_000) -> bytes:
    """Rewrite the end records as zip64 ones claiming ``count`` members."""
    pos = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, pos + 12)
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, pos, 1)
    end = bytearray(data[pos : pos + 22])
    struct.pack_into("<HH", end, 8, 0xFFFF, 0xFFFF)
    return data[:pos] + record + locator + bytes(end)


def _claims_absurd_size(data: bytes) -> bytes:
    pos = data.find(b"PK\x01\x02")
    patched = bytearray(data)
    struct.pack_into("<I", patched, pos + 24, 0xFFFFFF00)  # uncompressed size
    return bytes(patched)


def test_zip_bomb_and_truncated_zips_become_gaps(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    good = _zip_bytes(wheel_members("1.82.8"))
    fake_root.add_file(f"{PIP_WHEELS}/litellm-1.82.8-py3-none-any.whl", good[: len(good) // 2])
    fake_root.add_file(f"{HTTP_V2}/bomb.body", _claims_absurd_size(good))
    fake_root.add_file(f"{HTTP_V2}/many.body", _claims_many_members(good))
    out = tmp_path / "out"
    findings = scan_json(run_cli, fake_root, out)
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    gaps = json.loads((bundle / "coverage.json").read_text())["gaps"]
    parse = {g["path"] for g in gaps if g["area"] == "caches" and g["reason"] == "parse_error"}
    assert parse == {
        f"{PIP_WHEELS}/litellm-1.82.8-py3-none-any.whl",
        f"{HTTP_V2}/bomb.body",
        f"{HTTP_V2}/many.body",
    }
    # the truncated wheel still carries its name: it is reported, by name
    cache = [f for f in findings if f["category"] == "cache"]
    assert [f["paths"] for f in cache] == [[f"{PIP_WHEELS}/litellm-1.82.8-py3-none-any.whl"]]


def test_list_zip_refuses_hostile_archives() -> None:
    good = _zip_bytes({"a.dist-info/METADATA": b"x", "b.pth": b"import os\n"})
    assert list_zip(good) == ("a.dist-info/METADATA", "b.pth")
    for bad in (good[:-10], b"PK\x03\x04", _claims_absurd_size(good), _claims_many_members(good)):
        with pytest.raises(ArchiveError):
            list_zip(bad)
    assert MAX_MEMBERS < 200_000


def test_cache_symlink_loop_is_a_gap_and_absolute_links_stay_inside_root(
    fake_root: FakeRoot,
) -> None:
    fake_root.add_symlink("/home/alice/.cache/pip/wheels", "/home/alice/.cache/pip/wheels")
    # an absolute link in an image points into the image, never at the analyst's own files
    fake_root.add_symlink("/home/bob/.cache/uv", "/srv/uvcache")
    fake_root.add_file("/srv/uvcache/archive-v0/Q/litellm-1.82.8.dist-info/RECORD", "")
    inv = collect_inventory(HostRoot(fake_root.path), CollectSpec())
    assert any(
        g.area == "caches"
        and g.reason is GapReason.SYMLINK_LOOP
        and g.path == "/home/alice/.cache/pip/wheels"
        for g in inv.gaps
    )
    assert [a.path for a in inv.cached_artifacts] == [
        "/srv/uvcache/archive-v0/Q/litellm-1.82.8.dist-info"
    ]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("litellm-1.82.8-py3-none-any.whl", ("litellm", "1.82.8")),
        ("LiteLLM-1.82.8-1-py3-none-any.whl", ("litellm", "1.82.8")),
        ("not-a-wheel.whl", None),
    ],
)
def test_parse_wheel_filename(filename: str, expected: Any) -> None:
    assert parse_wheel_filename(filename) == expected


def test_parse_sdist_and_conda_filenames() -> None:
    assert parse_sdist_filename("python-dateutil-2.8.2.tar.gz") == ("python-dateutil", "2.8.2")
    assert parse_sdist_filename("litellm-1.82.7.zip") == ("litellm", "1.82.7")
    assert parse_sdist_filename("README.zip") is None
    assert parse_conda_filename("litellm-1.82.8-pyhd8ed1ab_0.tar.bz2") == ("litellm", "1.82.8")
    assert parse_conda_filename("cache") is None
