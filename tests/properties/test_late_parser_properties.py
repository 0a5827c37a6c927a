"""Property tests for the parsers that landed with the host, cache and lockfile collectors.

Persistence files (systemd units, crontabs, shell profiles, plists...), lockfiles and requirement
files, and package-cache archives are all attacker-shaped data: arbitrary bytes in, a result out.
"""

from __future__ import annotations

import io
import zipfile
from typing import List

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sitesweep.host.model import PersistenceKind
from sitesweep.host.persistence_parse import parse
from sitesweep.metadata.archives import (
    ArchiveError,
    identify,
    interesting_members,
    list_zip,
    parse_conda_filename,
    parse_dist_info_dirname,
    parse_sdist_filename,
    parse_wheel_filename,
    sniff,
)
from sitesweep.metadata.lockfiles import LOCKFILE_TOOLS, parse_lockfile

pytestmark = pytest.mark.nonroot

_PIECES = st.sampled_from(
    [
        "ExecStart=", "@reboot ", "* * * * * root ", "export ", "PIP_INDEX_URL=", "[Service]\n",
        "[[package]]\n", 'name = "x"\n', 'version = "1"\n', "==", "-e ", "dependencies:\n",
        "  - pip:\n", "    - a==1\n", "\\\n", "\n", "\t", "=", '"', "'", "#", ";", "\x00",
        "\udcff", "é", "https://u:p@h/simple", "<?xml version='1.0'?><plist>", "{", "}", "[",
    ]
)  # fmt: skip
shaped_text = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40).map("".join)
shaped_bytes = st.one_of(
    st.binary(max_size=500), shaped_text.map(lambda s: s.encode("utf-8", "surrogateescape"))
)
HOST_PATHS = (
    "/etc/crontab", "/var/spool/cron/crontabs/alice", "/etc/cron.daily/x", "/x",
    "/S/run.lnk", "/S/run.bat", "/S/run.vbs", "/S/run.ps1", "/S/desktop.ini", "/p/periodic.conf",
)  # fmt: skip


@given(
    kind=st.sampled_from(list(PersistenceKind)),
    data=shaped_bytes,
    host_path=st.sampled_from(HOST_PATHS),
)
@example(kind=PersistenceKind.LAUNCHD, data=b"<?xml version='1.0'?><plist><dict>", host_path="/x")
@example(kind=PersistenceKind.LAUNCHD, data=b"bplist00" + b"\xff" * 40, host_path="/x")
@example(
    kind=PersistenceKind.STARTUP_FOLDER, data=b"L\x00\x00\x00" + b"\xff" * 80, host_path="/S/a.lnk"
)
@example(kind=PersistenceKind.SCHEDULED_TASK, data=b"\xff\xfe<\x00T\x00", host_path="/x")
@example(kind=PersistenceKind.LOGIN_ITEMS, data=b"bplist00" + b"\x00" * 40, host_path="/x")
def test_persistence_parsers_never_raise(
    kind: PersistenceKind, data: bytes, host_path: str
) -> None:
    parse(kind, data, host_path, frozenset({"OPENAI_API_KEY"}))


@given(tool=st.sampled_from(sorted({*LOCKFILE_TOOLS.values(), "pip"})), text=shaped_text)
@example(tool="uv", text="package = 1\n")
@example(tool="pipenv", text='{"default": {"x": 1}}')
@example(tool="conda", text="dependencies: [" * 500)
def test_lockfile_parsers_never_raise(tool: str, text: str) -> None:
    problems: List[str] = []
    pins = parse_lockfile(text, tool, problems)
    assert all(isinstance(p, str) for p in problems)
    assert all(pin.name for pin in pins)


@given(name=st.text(max_size=60))
def test_archive_file_names_never_raise(name: str) -> None:
    for parser in (
        parse_wheel_filename,
        parse_sdist_filename,
        parse_conda_filename,
        parse_dist_info_dirname,
    ):
        result = parser(name)
        assert result is None or len(result) == 2


def _zip(members: List[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members:
            archive.writestr(name, b"x")
    return buffer.getvalue()


@given(
    members=st.lists(
        st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s), max_size=5, unique=True
    ),
    cut=st.integers(0, 400),
    noise=st.binary(max_size=40),
)
def test_list_zip_on_truncated_and_corrupted_archives(
    members: List[str], cut: int, noise: bytes
) -> None:
    whole = _zip(members)
    for data in (whole[: len(whole) - cut], noise + whole, whole[:cut] + noise + whole[cut:]):
        sniff(data)
        try:
            names = list_zip(data)
        except ArchiveError:
            continue
        identify(interesting_members(names))
