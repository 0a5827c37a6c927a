"""``analyze --index``: a loopback package index as the witness, and the same answers offline.

The index is a small HTTP server on 127.0.0.1 started by the test. It serves PEP 691 JSON
project pages and real wheels (zip files with a dist-info and a RECORD) built here. The host holds
a release that matches the published wheel, one the index no longer lists, one it yanked as
malicious, one whose installed ``__init__.py`` and rewritten RECORD differ from the published
wheel, a private project the index does not know, and an editable install it is never asked about.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest

from builders import FakeRoot, record_hash
from scanrun import SITE, VENV, load, only_bundle, scan
from sitesweep.cli import main

Routes = Dict[str, Tuple[int, str, bytes]]


def wheel(name: str, version: str, files: Mapping[str, bytes]) -> Tuple[str, bytes]:
    """Build a real wheel: the files, METADATA, WHEEL and a RECORD hashing them all."""
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    # The same METADATA and WHEEL bytes as tests/builders.py installs: an installer copies them.
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
    members[f"{dist_info}/METADATA"] = metadata.encode()
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    buffer = io.StringIO()
    rows = [(p, record_hash(d), str(len(d))) for p, d in members.items()]
    csv.writer(buffer, lineterminator="\n").writerows([*rows, (f"{dist_info}/RECORD", "", "")])
    members[f"{dist_info}/RECORD"] = buffer.getvalue().encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return f"{name}-{version}-py3-none-any.whl", out.getvalue()


def page(name: str, entries: List[Tuple[str, bytes, object]]) -> bytes:
    """A PEP 691 project page listing (file name, content, yanked) entries."""
    files = [
        {
            "filename": filename,
            "url": f"../../files/{filename}",
            "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
            "yanked": yanked,
        }
        for filename, data, yanked in entries
    ]
    doc = {"meta": {"api-version": "1.0"}, "name": name, "files": files}
    return json.dumps(doc).encode()


class Index:
    """The routes a loopback index serves, and how often it was asked."""

    def __init__(self) -> None:
        self.routes: Routes = {}
        self.hits: List[str] = []

    def project(self, name: str, entries: List[Tuple[str, bytes, object]]) -> None:
        self.routes[f"/simple/{name}/"] = (
            200,
            "application/vnd.pypi.simple.v1+json",
            page(name, entries),
        )
        for filename, data, _ in entries:
            self.routes[f"/files/{filename}"] = (200, "application/octet-stream", data)


@pytest.fixture
def index() -> Iterator[Tuple[Index, str]]:
    state = Index()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            status, kind, body = state.routes.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


GOOD = {"goodpkg/__init__.py": b"VALUE = 1\n"}
SWAP_PUBLISHED = {"swappkg/__init__.py": b"def hello():\n    return 'hello'\n"}
SWAP_INSTALLED = {"swappkg/__init__.py": b"import os\nos.system('touch /tmp/canary')\n"}


def build_host(root: FakeRoot) -> None:
    root.add_venv(VENV)
    root.add_dist(SITE, "goodpkg", "1.0", files=GOOD)
    root.add_dist(SITE, "gonepkg", "1.1")
    root.add_dist(SITE, "yankpkg", "2.0")
    root.add_dist(SITE, "swappkg", "3.0", files=SWAP_INSTALLED)  # RECORD matches these bytes
    root.add_dist(SITE, "privatepkg", "0.1")
    root.add_dist(
        SITE,
        "editpkg",
        "0.5",
        direct_url={"url": "file:///src/editpkg", "dir_info": {"editable": True}},
    )


def serve_releases(state: Index) -> None:
    state.project("goodpkg", [(*wheel("goodpkg", "1.0", GOOD), False)])
    state.project(
        "gonepkg",
        [(*wheel("gonepkg", "1.0", {"gonepkg/__init__.py": b"\n"}), False),
         (*wheel("gonepkg", "1.2", {"gonepkg/__init__.py": b"\n"}), False)],
    )  # fmt: skip
    yanked = wheel("yankpkg", "2.0", {"yankpkg/__init__.py": b'__version__ = "2.0"\n'})
    state.project("yankpkg", [(*yanked, "Malicious release, do not use")])
    state.project("swappkg", [(*wheel("swappkg", "3.0", SWAP_PUBLISHED), False)])


def analysis_dir(out: Path) -> Path:
    """The one analysis directory under ``out`` (beside the default ``index-cache``)."""
    dirs = [p for p in out.iterdir() if p.is_dir() and p.name != "index-cache"]
    assert len(dirs) == 1, dirs
    return dirs[0]


def findings(analysis: Path) -> List[Dict[str, Any]]:
    """The findings of an analysis (findings.json is a list, or a document holding one)."""
    doc = load(analysis, "findings.json")
    found: List[Dict[str, Any]] = doc["findings"] if isinstance(doc, dict) else doc
    return found


def rules(analysis: Path) -> Dict[Tuple[str, str], str]:
    """(rule, distribution) -> severity of the analysis's index findings."""
    return {
        (f["rule"], f["distribution"]): f["severity"]
        for f in findings(analysis)
        if f["rule"].startswith("index/")
    }


def test_index_witness_live_then_the_same_from_its_snapshot(
    tmp_path: Path, index: Tuple[Index, str]
) -> None:
    state, url = index
    root = FakeRoot(tmp_path / "host")
    build_host(root)
    serve_releases(state)
    code, bundle = scan(root.path, tmp_path / "out", "--verify-record")
    assert code in (0, 1)

    cache = tmp_path / "index-cache"
    live_out = tmp_path / "live"
    argv = ["analyze", str(bundle), "--output", str(live_out), "--index", url]
    assert main([*argv, "--index-cache", str(cache), "--fail-on", "critical"]) == 0
    live = only_bundle(live_out)
    expected = {
        ("index/release-gone", "gonepkg"): "medium",
        ("index/release-yanked", "yankpkg"): "high",
        ("index/files-differ", "swappkg"): "high",
        ("index/project-missing", "privatepkg"): "low",
    }
    assert rules(live) == expected
    differ = next(f for f in findings(live) if f["rule"] == "index/files-differ")
    assert any(e["label"] == "swappkg/__init__.py" for e in differ["evidence"])
    witness = load(live, "index-witness.json")
    assert "index-witness.json" in load(live, "manifest.json")["files"]
    asked = {e["url"] for e in witness["exchanges"]}
    assert f"{url}goodpkg/" in asked
    assert f"{url}privatepkg/" in asked
    assert not any("editpkg" in u for u in asked), "an editable install is never asked about"
    assert all(e["source"] == "network" for e in witness["exchanges"])

    hits = len(state.hits)
    offline_out = tmp_path / "offline"
    snapshot = [
        "analyze",
        str(bundle),
        "--output",
        str(offline_out),
        "--index-snapshot",
        str(cache),
    ]
    assert main(snapshot) == 1
    assert len(state.hits) == hits, "the snapshot asks no server"
    offline = only_bundle(offline_out)
    assert rules(offline) == expected
    assert {e["source"] for e in load(offline, "index-witness.json")["exchanges"]} == {"snapshot"}


def test_gone_release_with_a_pack_naming_it_is_high(
    tmp_path: Path, index: Tuple[Index, str]
) -> None:
    state, url = index
    root = FakeRoot(tmp_path / "host")
    root.add_venv(VENV)
    root.add_dist(SITE, "litellm", "1.82.8")
    state.project("litellm", [(*wheel("litellm", "1.82.6", {"litellm/__init__.py": b"\n"}), False)])
    _, bundle = scan(root.path, tmp_path / "out")
    out = tmp_path / "analysis"
    assert main(["analyze", str(bundle), "--output", str(out), "--index", url]) == 1
    assert rules(analysis_dir(out))[("index/release-gone", "litellm")] == "high"
    assert (out / "index-cache" / "simple" / "litellm.json").is_file(), "cached inside --output"


def test_without_an_index_nothing_is_asked_and_nothing_is_said(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    build_host(root)
    _, bundle = scan(root.path, tmp_path / "out", "--verify-record")
    out = tmp_path / "analysis"
    main(["analyze", str(bundle), "--output", str(out)])
    analysis = only_bundle(out)
    assert rules(analysis) == {}
    assert not (analysis / "index-witness.json").exists()
    gaps = load(analysis, "coverage.json")["gaps"]
    assert not any(g["area"] == "index/witness" for g in gaps)


def test_unreachable_index_is_a_gap_not_a_verdict(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    build_host(root)
    _, bundle = scan(root.path, tmp_path / "out")
    out = tmp_path / "analysis"
    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    main(["analyze", str(bundle), "--output", str(out), "--index", "http://127.0.0.1:9/simple/"])
    analysis = only_bundle(out)
    assert rules(analysis) == {}
    gaps = [g for g in load(analysis, "coverage.json")["gaps"] if g["area"] == "index/witness"]
    assert any("goodpkg" in g["detail"] for g in gaps)


@pytest.mark.parametrize("url", ["file:///etc/", "ftp://127.0.0.1/simple/"])
def test_only_http_indexes_are_asked(tmp_path: Path, url: str) -> None:
    root = FakeRoot(tmp_path / "host")
    build_host(root)
    _, bundle = scan(root.path, tmp_path / "out")
    assert main(["analyze", str(bundle), "--index", url]) == 2


def test_report_asks_the_index_for_every_bundle_and_its_snapshot_agrees(
    tmp_path: Path, index: Tuple[Index, str]
) -> None:
    state, url = index
    serve_releases(state)
    bundles = []
    for name in ("web1", "web2"):
        root = FakeRoot(tmp_path / name)
        root.add_hostname(name)
        build_host(root)
        _, bundle = scan(root.path, tmp_path / f"out-{name}", "--verify-record")
        bundles.append(str(bundle))
    without = tmp_path / "fleet-plain"
    assert main(["report", *bundles, "--output", str(without)]) != 1
    live = tmp_path / "fleet-live"
    cache = tmp_path / "index-cache"
    argv = ["report", *bundles, "--output", str(live), "--index", url, "--index-cache", str(cache)]
    assert main(argv) == 1, "files that differ from the published wheel compromise both hosts"
    hits = len(state.hits)
    offline = tmp_path / "fleet-offline"
    argv = ["report", *bundles, "--output", str(offline), "--index-snapshot", str(cache)]
    assert main(argv) == 1
    assert len(state.hits) == hits
    verdicts = [h["verdict"] for h in json.loads((offline / "fleet.json").read_text())["hosts"]]
    assert verdicts == ["compromised", "compromised"]
