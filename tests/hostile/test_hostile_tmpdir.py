"""A decompression killed part-way leaves nothing in ``TMPDIR``.

Before issue 18 a gzip bomb killed mid-way left 3 GB there. Each test runs a real sitesweep
process with ``TMPDIR`` set to an empty test directory, on input that inflates to gigabytes from a
few megabytes (gzip members of zeros, concatenated: cheap to build), waits until the process is
visibly inflating, kills it, and asserts the directory is empty again:

* a bundle archive (``analyze``, ``verify``, ``report``) is unpacked into a scratch directory
  (names are needed): ``SIGTERM``, ``SIGINT`` and ``SIGHUP`` remove it before the process ends;
* an image's gzip layer is inflated into an anonymous file (``O_TMPFILE``): it never has a name
  in ``TMPDIR``, so even ``SIGKILL`` leaves nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import pytest

from builders import FakeRoot
from clirun import RunCli
from scanrun import VENV, scan
from sitesweep.door import oci
from sitesweep.hostfs import HostRoot

pytestmark = pytest.mark.nonroot

CHUNK = 16 << 20
_ZEROS = gzip.compress(b"\0" * CHUNK, compresslevel=9, mtime=0)


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _bomb_member(out: io.BufferedWriter, name: str, chunks: int) -> None:
    """Write a tar member of ``chunks`` x 16 MiB of zeros as gzip members (about 16 KiB each)."""
    out.write(gzip.compress(_tar_header(name, chunks * CHUNK), mtime=0))
    for _ in range(chunks):
        out.write(_ZEROS)


def _default_signals() -> None:
    """In the child before it runs: the signals the tests send act as they do for a responder's
    shell. A suite started under ``nohup`` (or as a background job) passes them on ignored, and
    sitesweep rightly keeps an inherited ``SIG_IGN``: the child would finish instead of dying."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _start(argv: List[str], tmpdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.Popen(
        [sys.executable, "-I", "-m", "sitesweep", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_default_signals,
    )


def _wait_for(child: subprocess.Popen[bytes], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        if child.poll() is not None:
            err = child.stderr.read().decode() if child.stderr else ""
            pytest.fail(f"ended ({child.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            pytest.fail(f"never saw {what}")
        time.sleep(0.005)


def _end(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    child.send_signal(sig)
    child.communicate(timeout=60)


def _bytes_under(directory: Path) -> int:
    total = 0
    for path in directory.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            pass
    return total


def _bomb_bundle(base: Path, chunks: int) -> Path:
    """A real bundle's archive with one evidence member of ``chunks`` x 16 MiB of zeros."""
    root = FakeRoot(base / "root")
    root.add_venv(VENV)
    _code, bundle = scan(root.path, base / "out")
    archive = base / "bomb.tar.gz"
    with archive.open("wb") as out:
        top = bundle.name
        # the bomb first (unpacked first), then the real bundle's files
        _bomb_member(out, f"{top}/evidence/bomb.evidence", chunks)
        body = io.BytesIO()
        with tarfile.open(fileobj=body, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(bundle.rglob("*")):
                name = f"{top}/{path.relative_to(bundle).as_posix()}"
                tar.add(path, arcname=name, recursive=False)
        out.write(gzip.compress(body.getvalue(), mtime=0))
    return archive


@pytest.fixture(scope="module")
def bomb_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An evidence member of 240 MiB in about 250 KiB: under the 256 MiB an archive may always
    unpack to, so it is unpacked (and killed part-way)."""
    return _bomb_bundle(tmp_path_factory.mktemp("bomb"), 15)


@pytest.mark.parametrize("command", ["analyze", "verify", "report"])
def test_a_bundle_bomb_is_refused_before_it_is_unpacked(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A member declaring 1 GiB in an archive of about 1 MiB: refused by its ratio (200 x the
    archive, past 256 MiB) from its header, before a byte of it is written to TMPDIR."""
    archive = _bomb_bundle(tmp_path / "bomb", 64)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    argv = [command, str(archive)]
    if command != "verify":
        argv += ["--output", str(tmp_path / "out")]
    run = run_cli(*argv)
    assert run.code in (2, 3), run.out  # could not run / the host unchecked (report)
    assert "decompression bomb" in run.out + run.err
    assert list(tmpdir.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("command", ["analyze", "verify", "report"])
def test_a_bundle_bomb_killed_midway_leaves_nothing(
    bomb_bundle: Path, tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "out"
    argv = {
        "analyze": ["analyze", str(bomb_bundle), "--output", str(out)],
        "verify": ["verify", str(bomb_bundle)],
        "report": ["report", str(bomb_bundle), "--output", str(out)],
    }[command]
    child = _start(argv, tmpdir)
    _wait_for(child, lambda: _bytes_under(tmpdir) > 8 << 20, "8 MiB inflated into TMPDIR")
    _end(child, sig)
    assert child.returncode != 0
    left = sorted(str(p.relative_to(tmpdir)) for p in tmpdir.rglob("*"))
    assert left == [], f"left in TMPDIR after {sig.name}: {left[:10]}"


def _bomb_layout(out: Path, chunks: int) -> None:
    """An OCI layout whose one gzip layer inflates to ``chunks`` x 16 MiB."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layer = out / "layer.tmp"
    with layer.open("wb") as fh:
        _bomb_member(fh, "big.bin", chunks)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return digest

    layer_data = layer.read_bytes()
    layer.unlink()
    layer_digest = put(layer_data)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
        }
    ).encode()
    config_digest = put(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_digest}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer_digest}",
                    "size": len(layer_data),
                }
            ],
        }
    ).encode()
    manifest_digest = put(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_digest}",
                "size": len(manifest),
            }
        ],
    }
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (out / "index.json").write_text(json.dumps(index))


def _inflating_into(pid: int, tmpdir: Path) -> int:
    """Bytes in the files the process holds open under ``tmpdir`` (by ``/proc/PID/fd``)."""
    total = 0
    fds = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fds.iterdir())
    except OSError:
        return 0
    for fd in entries:
        try:
            if str(fd.readlink()).startswith(str(tmpdir) + "/"):
                total += fd.stat().st_size
        except OSError:
            continue
    return total


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/PID/fd")
def test_an_image_layer_bomb_killed_midway_leaves_nothing(tmp_path: Path) -> None:
    layout = tmp_path / "image"
    _bomb_layout(layout, 256)  # 4 GiB inflated from 4 MiB
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    child = _start(["scan", "--image", str(layout), "--output", str(tmp_path / "out")], tmpdir)
    seen: List[str] = []

    def inflating() -> bool:
        seen[:] = [p.name for p in tmpdir.iterdir()]
        return _inflating_into(child.pid, tmpdir) > 8 << 20

    _wait_for(child, inflating, "8 MiB inflated into an open file under TMPDIR")
    assert seen == [], f"the layer's scratch file has a name in TMPDIR: {seen}"
    _end(child, signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL
    assert list(tmpdir.iterdir()) == []


def test_an_image_layer_bomb_is_refused_by_its_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer may inflate to 100 times its size past a floor (1 GiB; lowered here to 32 MiB):
    before, only the 64 GiB cap stopped a bomb, 64 GiB of the analyst's TMPDIR later."""
    monkeypatch.setattr(oci, "INFLATE_FLOOR", 32 << 20)
    layout = tmp_path / "image"
    _bomb_layout(layout, 8)  # 128 MiB from about 130 KiB
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(oci.ImageError, match="decompression bomb"):
        HostRoot.image(layout)
