"""The regf fixture writer (tests/regf.py) makes hives that real parsers read: regipy (through
the scanner's hive door, osprofile/hive.py) and hivex, a separate implementation (libhivex-bin)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from builders import FakeRoot
from regf import Hive, dword, expand_sz, multi_sz, qword, sz
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason
from sitesweep.osprofile.hive import open_hive

PROFILES = r"Microsoft\Windows NT\CurrentVersion\ProfileList"
RUN = r"Microsoft\Windows\CurrentVersion\Run"
ALICE_SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


def _software() -> Hive:
    hive = Hive("SOFTWARE")
    hive.set(rf"{PROFILES}\{ALICE_SID}", "ProfileImagePath", expand_sz(r"C:\Users\alice"))
    hive.set(rf"{PROFILES}\S-1-5-18", "ProfileImagePath", expand_sz(r"%systemroot%\system32"))
    hive.set(RUN, "Updater", sz(r"C:\Users\alice\AppData\Local\Temp\x\pythonw.exe poll.py"))
    hive.set(r"Microsoft\Windows NT\CurrentVersion", "ProductName", sz("Windows 10 Pro"))
    hive.set(r"Microsoft\Windows NT\CurrentVersion", "CurrentMajorVersionNumber", dword(10))
    hive.set(r"Microsoft\Windows NT\CurrentVersion", "InstallTime", qword(133_500_000_000_000_000))
    hive.set(r"Microsoft\Windows NT\CurrentVersion", "Paths", multi_sz(["a", "b"]))
    hive.set(r"Microsoft\Windows NT\CurrentVersion", "Näme", sz("ünïcode"))
    return hive


def test_regipy_reads_back_keys_values_and_types_through_the_door(fake_root: FakeRoot) -> None:
    _software().write(fake_root.host("/Windows/System32/config/SOFTWARE"))
    gaps: List[Gap] = []
    hive = open_hive(HostRoot(fake_root.path), "/Windows/System32/config/SOFTWARE", "t", gaps)
    assert gaps == []
    assert hive is not None
    assert set(hive.subkeys(PROFILES)) == {ALICE_SID, "S-1-5-18"}
    assert hive.text(rf"{PROFILES}\{ALICE_SID}", "profileimagepath") == r"C:\Users\alice"
    version = hive.values(r"Microsoft\Windows NT\CurrentVersion")
    assert version["ProductName"] == "Windows 10 Pro"
    assert version["CurrentMajorVersionNumber"] == 10
    assert version["InstallTime"] == 133_500_000_000_000_000
    assert version["Paths"] == ("a", "b")
    assert version["Näme"] == "ünïcode"
    assert hive.values(r"No\Such\Key") == {}
    assert hive.subkeys(r"No\Such") == ()


@pytest.mark.skipif(shutil.which("hivexget") is None, reason="libhivex-bin not installed")
def test_hivex_reads_the_same_hive(tmp_path: Path) -> None:
    path = _software().write(tmp_path / "SOFTWARE")
    run = subprocess.run(
        ["hivexget", str(path), RUN, "Updater"], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == r"C:\Users\alice\AppData\Local\Temp\x\pythonw.exe poll.py"
    listing = subprocess.run(
        ["hivexsh", str(path)],
        input=f"cd {PROFILES}\nls\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(listing.stdout.split()) == {ALICE_SID, "S-1-5-18"}


def test_a_malformed_hive_is_a_parse_error_gap_and_an_absent_one_nothing(
    fake_root: FakeRoot,
) -> None:
    fake_root.add_file("/Windows/System32/config/SYSTEM", b"regf" + b"\xff" * 5000)
    fake_root.add_file("/Windows/System32/config/SOFTWARE", _software().to_bytes()[:4100])
    root = HostRoot(fake_root.path)
    gaps: List[Gap] = []
    assert open_hive(root, "/Windows/System32/config/SYSTEM", "t", gaps) is None
    assert open_hive(root, "/Windows/System32/config/SOFTWARE", "t", gaps) is None
    assert open_hive(root, "/Windows/System32/config/SAM", "t", gaps) is None
    reasons = {(g.path, g.reason) for g in gaps}
    assert reasons == {
        ("/Windows/System32/config/SYSTEM", GapReason.PARSE_ERROR),
        ("/Windows/System32/config/SOFTWARE", GapReason.PARSE_ERROR),
    }
