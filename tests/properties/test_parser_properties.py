"""Property tests: every parser of host data takes arbitrary bytes and never raises.

Each test feeds hypothesis-generated text or bytes to one parser (directly, or through a fake
host tree and :class:`~sitesweep.hostfs.HostRoot` the way a scan reads it) and asserts that it
returns a well-formed result. A crash on hostile input would cost a responder the whole host.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator, List

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from builders import FakeRoot
from sitesweep.checks.pth_grader import grade_pth_lines, grade_python_source
from sitesweep.discovery import WalkSpec, discover
from sitesweep.host.identity import read_identity, read_users
from sitesweep.hostfs import HostRoot
from sitesweep.metadata import read_site
from sitesweep.metadata.distinfo import _parse_metadata, parse_record, read_distribution
from sitesweep.metadata.model import DistFormat, PthLineKind
from sitesweep.metadata.pth import parse_pth
from sitesweep.model import Gap, GapReason, HostPath, Severity

pytestmark = pytest.mark.nonroot

SITE = "/venv/lib/python3.11/site-packages"

# Text that looks like the formats (header lines, CSV, .pth lines) more often than pure noise.
_LINE_ALPHABET = st.sampled_from(
    [
        *"abcXYZ019 :=,.-_/\\\"'#\t\r\x00\x0b\x0c\x1c\x85\u2028é€",
        "Name",
        "Version",
        "import ",
        "sha256=",
        "Metadata-Version: 2.1",
        "\n",
        "\r\n",
        "\udcff",
    ]
)
structured_text = st.lists(_LINE_ALPHABET, max_size=80).map("".join)
any_text = st.one_of(st.text(max_size=400), structured_text)
any_bytes = st.one_of(
    st.binary(max_size=600),
    structured_text.map(lambda s: s.encode("utf-8", "surrogateescape")),
)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A fresh directory per call (hypothesis runs many examples in one test call)."""
    with tempfile.TemporaryDirectory(prefix="sitesweep-prop-") as name:
        yield Path(name)


def _fresh_root() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="sitesweep-prop-")


# -- METADATA / PKG-INFO ----------------------------------------------------------------------


@given(text=any_text, dirname=st.text(max_size=60))
@example(text="Name: a\nVersion: 1\n", dirname="")
@example(text="\udcff: \udcfe\n", dirname="x-1.dist-info")
def test_parse_metadata_never_raises(text: str, dirname: str) -> None:
    name, version, problems = _parse_metadata(text, dirname)
    assert isinstance(name, str)
    assert isinstance(version, str)
    assert all(isinstance(p, str) for p in problems)


@given(
    metadata=any_bytes,
    record=any_bytes,
    installer=any_bytes,
    direct_url=any_bytes,
    egg=st.booleans(),
)
def test_read_distribution_on_arbitrary_files(
    metadata: bytes, record: bytes, installer: bytes, direct_url: bytes, egg: bool
) -> None:
    with _fresh_root() as tmp:
        fake = FakeRoot(Path(tmp))
        dirname = "pkg-1.0.egg-info" if egg else "pkg-1.0.dist-info"
        base = f"{SITE}/{dirname}"
        fake.add_file(f"{base}/{'PKG-INFO' if egg else 'METADATA'}", metadata)
        fake.add_file(f"{base}/RECORD", record)
        fake.add_file(f"{base}/INSTALLER", installer)
        fake.add_file(f"{base}/direct_url.json", direct_url)
        gaps: List[Gap] = []
        dist = read_distribution(HostRoot(fake.path), HostPath(SITE), dirname, gaps)
    assert dist.format is (DistFormat.EGG_INFO_DIR if egg else DistFormat.DIST_INFO)
    assert dist.path == base
    assert isinstance(dist.name, str)
    # an unparseable direct_url.json is the one gap (a parse_error naming it); nothing raises
    assert all(
        g.reason is GapReason.PARSE_ERROR and (g.path or "").endswith("/direct_url.json")
        for g in gaps
    )


@given(content=any_bytes)
def test_egg_info_file_metadata(content: bytes) -> None:
    with _fresh_root() as tmp:
        fake = FakeRoot(Path(tmp))
        fake.add_file(f"{SITE}/pkg-1.0-py3.11.egg-info", content)
        dist = read_distribution(HostRoot(fake.path), HostPath(SITE), "pkg-1.0-py3.11.egg-info", [])
    assert dist.format is DistFormat.EGG_INFO_FILE


# -- RECORD -----------------------------------------------------------------------------------


@given(text=any_text)
@example(text="a,b,\x00\n")
@example(text='"unterminated\n')
@example(text="x," + "9" * 5000 + "\n")
@example(text="f," * 70000)
def test_parse_record_never_raises(text: str) -> None:
    entries, problems = parse_record(text)
    assert all(e.path for e in entries)
    assert all(e.size is None or isinstance(e.size, int) for e in entries)
    assert all(isinstance(p, str) for p in problems)


# -- .pth and startup code ----------------------------------------------------------------------


@given(text=any_text)
def test_parse_pth_splits_like_site(text: str) -> None:
    lines = parse_pth(text)
    numbers = [line.number for line in lines]
    assert numbers == sorted(set(numbers))
    for line in lines:
        assert line.text.strip()
        assert not line.text.startswith("#")
        is_exec = line.text.startswith(("import ", "import\t"))
        assert (line.kind is PthLineKind.EXEC) == is_exec


@given(
    lines=st.lists(st.tuples(st.integers(1, 10**6), any_text), max_size=6),
)
@example(lines=[(1, "import os; exec(" * 300 + ")" * 300)])
@example(lines=[(1, "import base64; exec(base64.b64decode('" + "A" * 5000 + "'))")])
@example(lines=[(1, "import x\x00")])
def test_grade_pth_lines_never_raises(lines: List[tuple[int, str]]) -> None:
    grade = grade_pth_lines(lines)
    assert isinstance(grade.severity, Severity)


@given(text=any_text)
@example(text="(" * 5000)
@example(text="x = " + "-" * 100000 + "1")
def test_grade_python_source_never_raises(text: str) -> None:
    grade = grade_python_source(text)
    assert isinstance(grade.severity, Severity)


@given(content=any_bytes, name=st.sampled_from(["a.pth", "sitecustomize.py", "usercustomize.py"]))
def test_read_site_on_arbitrary_startup_files(content: bytes, name: str) -> None:
    with _fresh_root() as tmp:
        fake = FakeRoot(Path(tmp))
        fake.add_file(f"{SITE}/{name}", content)
        inv = read_site(HostRoot(fake.path), HostPath(SITE), frozenset(), 1 << 20)
    assert inv.gaps == []
    assert len(inv.pth_files) + len(inv.startup_hooks) == 1


# -- pyvenv.cfg, conda-meta, host identity ---------------------------------------------------


conda_names = st.lists(
    st.one_of(
        st.text(min_size=1, max_size=30).filter(lambda s: "/" not in s and "\x00" not in s),
        st.sampled_from(["python-3.11.5-h1_0.json", "python-3.-x.json", "python--.json"]),
    ),
    max_size=5,
    unique=True,
).filter(lambda names: all(n not in (".", "..") for n in names))


@given(cfg=any_bytes, conda=conda_names)
def test_discovery_reads_pyvenv_cfg_and_conda_meta(cfg: bytes, conda: List[str]) -> None:
    with _fresh_root() as tmp:
        fake = FakeRoot(Path(tmp))
        fake.add_file("/env/pyvenv.cfg", cfg)
        fake.add_site("/env/lib/python3.11/site-packages")
        fake.add_site("/opt/conda/lib/python3.11/site-packages")
        fake.add_dir("/opt/conda/conda-meta")
        for name in conda:
            fake.add_file(f"/opt/conda/conda-meta/{name}", b"{")
        found = discover(HostRoot(fake.path), WalkSpec(), ())
    prefixes = {env.prefix for env in found.environments}
    assert {"/env", "/opt/conda"} <= prefixes
    assert not [g for g in found.gaps if g.reason is not GapReason.PERMISSION_DENIED]


@given(passwd=any_bytes, os_release=any_bytes, hostname=any_bytes, machine_id=any_bytes)
@example(passwd=b"x:x:\xc2\xb2:0::/h:/bin/sh\n", os_release=b"", hostname=b"", machine_id=b"")
@example(passwd=b"x:x:" + b"9" * 5000 + b":0::/h:/bin/sh\n", os_release=b"", hostname=b"",
         machine_id=b"")  # fmt: skip
def test_identity_files_never_raise(
    passwd: bytes, os_release: bytes, hostname: bytes, machine_id: bytes
) -> None:
    with _fresh_root() as tmp:
        fake = FakeRoot(Path(tmp))
        fake.add_file("/etc/passwd", passwd)
        fake.add_file("/etc/os-release", os_release)
        fake.add_file("/etc/hostname", hostname)
        fake.add_file("/etc/machine-id", machine_id)
        root = HostRoot(fake.path)
        gaps: List[Gap] = []
        identity = read_identity(root, gaps)
        users = read_users(root, gaps)
    assert identity.hostname
    assert users[0].uid == 0
    assert gaps == []
