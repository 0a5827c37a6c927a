"""File names that are not UTF-8 or that hold newlines are kept exactly in the bundle.

Linux names are bytes. sitesweep carries undecodable bytes as surrogate escapes, and the bundle's
JSON is ASCII-only, so ``os.fsencode`` of a path read back from the bundle gives the original
bytes. Evidence copies get sanitised names; the index names the host path exactly.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

from builders import FakeRoot, malicious_pth_content
from scanrun import SITE, VENV, gap_paths, load, scan
from sitesweep.textsafe import printable

pytestmark = pytest.mark.nonroot

ODD_PTH = b"evil\xff\xfe\nline2\r.pth"
ODD_DIR = b"caf\xe9-1.0.dist-info"
ODD_HOOK_DIR = b"weird\n\xc3(\x80"


def _host(name: bytes) -> str:
    return SITE + "/" + os.fsdecode(name)


def test_odd_names_are_kept_exactly(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    site = os.fsencode(fake_root.host(SITE))
    with open(site + b"/" + ODD_PTH, "wb") as fh:
        fh.write(malicious_pth_content(fake_root.marker).encode())
    Path(os.fsdecode(site + b"/" + ODD_DIR)).mkdir()
    with open(site + b"/" + ODD_DIR + b"/METADATA", "wb") as fh:
        fh.write(b"Metadata-Version: 2.1\nName: caf\xc3\xa9\nVersion: 1.0\n")
    Path(os.fsdecode(site + b"/" + ODD_HOOK_DIR)).mkdir()
    os.mkfifo(site + b"/" + ODD_HOOK_DIR + b"/x\xff.pth")  # a gap deep under an odd name
    os.mkfifo(site + b"/fifo\n\xff.pth")

    code, bundle = scan(fake_root.path, tmp_path / "out")
    assert code == 1
    raw = (bundle / "inventory.json").read_bytes()
    assert raw.isascii(), "bundle JSON is ASCII; odd bytes travel as escapes"
    inventory = json.loads(raw)
    pth_paths = {p["file"]["path"] for p in inventory["pth_files"]}
    assert _host(ODD_PTH) in pth_paths
    assert os.fsencode(_host(ODD_PTH)) == os.fsencode(SITE) + b"/" + ODD_PTH
    dist_paths = {d["path"] for d in inventory["distributions"]}
    assert _host(ODD_DIR) in dist_paths
    evidence = {e["host_path"]: e for e in load(bundle, "evidence/index.json")}
    assert evidence[_host(ODD_PTH)]["copied"] is True
    copy = bundle / evidence[_host(ODD_PTH)]["bundle_path"]
    assert copy.read_bytes() == fake_root.host(SITE).joinpath(os.fsdecode(ODD_PTH)).read_bytes()
    assert "\n" not in copy.name
    assert copy.name.isascii()
    assert _host(b"fifo\n\xff.pth") in gap_paths(bundle, "special_file")
    findings = load(bundle, "findings.json")["findings"]
    assert any(_host(ODD_PTH) in f["paths"] for f in findings)
    assert not fake_root.marker.exists()


# -- one escape everywhere -------------------------------------------------------------------

ESC_PTH = b"evil\x1b[2J.pth"
NL_PTH = b"nl\nfake: clean.pth"
LATIN_DIST = b"caf\xe9-1.0.dist-info"
OSC_DIST = b"osc\x1b]0;owned\x07-2.0.dist-info"
UNIT = b"x\x1b[31m\xff.service"
ODD_HOME = b"/home/m\xe9\x1b[2J"
LOSSLESS = ("inventory.json", "findings.json", "evidence/index.json", "coverage.json")
"""The bundle's own documents: names exactly (JSON's \\u escapes, read back by analyze)."""
RENDERED = (
    "report.txt",
    "report.html",
    "findings.csv",
    "findings.sarif",
    "findings.jsonl",
    "timeline.csv",
    "timeline.jsonl",
    "inventory.csv",
    "sbom.cdx.json",
)
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_PROSE_KEYS = ("remediation", "recommendation", "/help/")


def _strings(value: Any, where: str = "") -> Iterator[Tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, where + "/")
            yield from _strings(item, f"{where}/{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, where + "[]")


def _rendered_strings(name: str, data: bytes) -> Iterator[Tuple[str, str]]:
    """Every string value a rendered document holds (JSON values, CSV cells; text as is)."""
    text = data.decode("utf-8")
    if name.endswith((".json", ".sarif")):
        yield from _strings(json.loads(text))
    elif name.endswith(".jsonl"):
        for line in text.splitlines():
            yield from _strings(json.loads(line))
    elif name.endswith(".csv"):
        for row in csv.reader(io.StringIO(text, newline="")):
            yield from (("cell", cell) for cell in row)
    else:
        yield from (("line", line) for line in text.split("\n"))


def test_every_output_renders_odd_names_with_one_escape(
    fake_root: FakeRoot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names with ESC/OSC sequences, newlines and bytes that are not UTF-8, in a site dir (a
    ``.pth``, ``.dist-info`` directories with odd RECORD rows), a user unit and a home: every
    output parses, holds no raw control character, and shows each name as ``printable`` does."""
    fake_root.add_passwd([("alice", 1000, "/home/alice")])
    passwd = fake_root.host("/etc/passwd")
    with passwd.open("ab") as fh:
        fh.write(b"mallory:x:1001:1001::" + ODD_HOME + b":/bin/sh\n")
    fake_root.add_venv(VENV)
    fake_root.add_dist(SITE, "litellm", "1.82.8")
    site = os.fsencode(fake_root.host(SITE))
    for entry in (ESC_PTH, NL_PTH):
        with open(site + b"/" + entry, "wb") as fh:
            fh.write(b"import os\n")
    for entry, meta in ((LATIN_DIST, b"caf\xc3\xa9"), (OSC_DIST, b"osc")):
        Path(os.fsdecode(site + b"/" + entry)).mkdir()
        version = entry.rsplit(b"-", 1)[1].split(b".dist")[0]
        with open(site + b"/" + entry + b"/METADATA", "wb") as fh:
            fh.write(b"Metadata-Version: 2.1\nName: " + meta + b"\nVersion: " + version + b"\n")
        with open(site + b"/" + entry + b"/RECORD", "wb") as fh:
            fh.write(b"caf\xe9/__init__.py,,\n\x1b[31mred\n.py,sha256=x,1\n")
    units = os.fsencode(fake_root.host("/home/alice/.config/systemd/user"))
    Path(os.fsdecode(units)).mkdir(parents=True)
    with open(units + b"/" + UNIT, "wb") as fh:
        fh.write(b"[Service]\nExecStart=/usr/bin/python3 /tmp/x.py\n")
    home = os.fsencode(fake_root.path) + ODD_HOME
    Path(os.fsdecode(home + b"/.local/lib/python3.11/site-packages")).mkdir(parents=True)
    with open(home + b"/.local/lib/python3.11/site-packages/" + ESC_PTH, "wb") as fh:
        fh.write(b"import os\n")

    code, bundle = scan(fake_root.path, tmp_path / "out", "--verify-record")
    terminal = capsys.readouterr().out
    assert code == 1
    odd = {
        "pth": f"{SITE}/{os.fsdecode(ESC_PTH)}",
        "newline": f"{SITE}/{os.fsdecode(NL_PTH)}",
        "latin": f"{SITE}/{os.fsdecode(LATIN_DIST)}",
        "osc": f"{SITE}/{os.fsdecode(OSC_DIST)}",
        "home pth": os.fsdecode(ODD_HOME + b"/.local/lib/python3.11/site-packages/" + ESC_PTH),
    }
    shown = {key: printable(path) for key, path in odd.items()}
    assert shown["pth"].endswith("evil\\x1b[2J.pth")
    assert shown["latin"].endswith("caf\\xe9-1.0.dist-info")

    # carried exactly in the bundle's own documents (ASCII bytes, JSON escapes)
    for name in LOSSLESS:
        data = (bundle / name).read_bytes()
        assert data.isascii(), name
        json.loads(data)
    inventory = load(bundle, "inventory.json")
    assert {odd["latin"], odd["osc"]} <= {d["path"] for d in inventory["distributions"]}
    pths = {p["file"]["path"] for p in inventory["pth_files"]}
    assert {odd["pth"], odd["newline"], odd["home pth"]} <= pths
    assert os.fsencode(odd["home pth"]) == ODD_HOME + b"/.local/lib/python3.11/site-packages/" + (
        ESC_PTH
    )
    assert any(os.fsencode(p["path"]).endswith(UNIT) for p in inventory["persistence"])

    # rendered with the one escape: parses, no control character, the same text everywhere
    for name in RENDERED:
        data = (bundle / name).read_bytes()
        assert not _RAW_CONTROL.search(data), f"{name}: raw control character"
        for where, value in _rendered_strings(name, data):
            if name.endswith(".csv") or any(k in where for k in _PROSE_KEYS):
                value = value.replace("\n", "")  # line breaks between values and lines of prose
            assert not _CONTROL.search(value), f"{name} {where}: {value[:120]!r}"
        text = data.decode("utf-8")
        for key in ("pth", "newline"):
            if name not in ("inventory.csv", "sbom.cdx.json"):
                assert _appears(shown[key], name, text), f"{name}: {shown[key]}"
        if name in ("inventory.csv", "sbom.cdx.json", "report.html"):
            assert _appears(shown["latin"], name, text), f"{name}: {shown['latin']}"
            assert _appears(shown["osc"], name, text), f"{name}: {shown['osc']}"
    assert not _RAW_CONTROL.search(terminal.encode())
    assert shown["pth"] in terminal


def _appears(shown: str, name: str, text: str) -> bool:
    """Whether ``shown`` is in ``text`` as that document writes a string (JSON doubles the
    backslash, HTML escapes ``&<>"'``)."""
    forms = {shown, json.dumps(shown)[1:-1], html.escape(shown), html.escape(shown, quote=False)}
    return any(form in text for form in forms)
