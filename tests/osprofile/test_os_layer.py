"""The OS layer: the OS told from the tree's own files, its identity, accounts and homes, and
the gaps when the OS or its account database cannot be read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from builders import FakeRoot
from osimages import DOMAIN_SID, macos_image, windows_image
from scanrun import load, scan
from sitesweep.host.identity import User
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, Inventory, collect_inventory
from sitesweep.osprofile import OsFamily, PathStyle


def _collect(root: FakeRoot) -> Inventory:
    return collect_inventory(HostRoot(root.path), CollectSpec())


def _homes(inv: Inventory) -> Dict[str, User]:
    return {u.home: u for u in inv.users}


def test_macos_image_os_host_name_and_dslocal_accounts(tmp_path: Path) -> None:
    root = macos_image(FakeRoot(tmp_path / "mac"), users=(("alice", 501), ("bob", 502)))
    root.add_dir("/Users/carol")  # a home without a record
    inv = _collect(root)
    assert inv.os.family is OsFamily.MACOS
    assert (inv.os.name, inv.os.version, inv.os.build) == ("macOS", "14.4.1", "23E224")
    assert inv.identity.hostname == "alices-mbp"
    assert inv.identity.os_release == "macOS 14.4.1"
    homes = _homes(inv)
    assert (homes["/Users/alice"].name, homes["/Users/alice"].uid) == ("alice", 501)
    assert homes["/Users/alice"].source == "dslocal"
    assert homes["/Users/bob"].uid == 502
    assert homes["/Users/carol"].source == "home-walk"
    assert "/Users/Shared" not in homes
    assert not [g for g in inv.gaps if g.area in ("accounts", "identity", "os")]


def test_windows_image_os_computer_name_and_profile_list(tmp_path: Path) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"), users=(("alice", 1001), ("bob", 1002)))
    inv = _collect(root)
    assert inv.os.family is OsFamily.WINDOWS
    assert inv.os.path_style is PathStyle.WINDOWS
    assert (inv.os.name, inv.os.version, inv.os.build) == ("Windows 11 Pro", "23H2", "22631")
    assert inv.identity.hostname == "DESKTOP-7QK2M1A"
    assert inv.identity.machine_id == "4c1d6f0e-6b8e-4f5e-9a1e-000000000001"
    homes = _homes(inv)
    alice = homes["/Users/alice"]
    assert (alice.name, alice.uid, alice.sid) == ("alice", 1001, f"{DOMAIN_SID}-1001")
    assert alice.source == "ProfileList"
    assert homes["/Windows/system32/config/systemprofile"].sid == "S-1-5-18"
    assert homes["/Users/Public"].source == "home-walk"
    assert not [g for g in inv.gaps if g.area in ("accounts", "identity", "os")]


def test_windows_system_dir_spelled_in_other_case_is_found(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "win")
    windows_image(root)
    (root.path / "Windows" / "System32").rename(root.path / "Windows" / "system32")
    inv = _collect(root)
    assert inv.os.family is OsFamily.WINDOWS
    assert inv.identity.hostname == "DESKTOP-7QK2M1A"
    assert "/Users/alice" in _homes(inv)


def test_linux_os_release_fallbacks_to_name_and_version_id(fake_root: FakeRoot) -> None:
    fake_root.add_file("/usr/lib/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n')
    inv = _collect(fake_root)
    assert inv.os.family is OsFamily.LINUX
    assert (inv.os.name, inv.os.version) == ("Alpine Linux", "3.19.1")
    assert inv.identity.os_release == "Alpine Linux 3.19.1"
    assert inv.identity.hostname == "fixture-host"


def test_oversized_passwd_is_read_up_to_the_cap_and_homes_are_walked(tmp_path: Path) -> None:
    root = FakeRoot(tmp_path / "host")
    root.add_os_release()
    head = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/srv/alice:/bin/sh\n"
    root.add_file("/etc/passwd", head + "#" * (5 << 20) + "\nmallory:x:1001:1001::/m:/bin/sh\n")
    root.add_dir("/srv/alice")
    root.add_dir("/home/bob")
    inv = _collect(root)
    homes = _homes(inv)
    assert homes["/srv/alice"].name == "alice"
    assert homes["/home/bob"].source == "home-walk"
    assert "/m" not in homes
    too_large = [g for g in inv.gaps if g.path == "/etc/passwd"]
    assert [g.reason.value for g in too_large] == ["too_large"]


def test_macos_image_without_account_database_names_the_gap_and_walks_users(
    tmp_path: Path,
) -> None:
    root = macos_image(FakeRoot(tmp_path / "mac"), dslocal=False)
    inv = _collect(root)
    assert inv.os.family is OsFamily.MACOS
    gaps = [g for g in inv.gaps if g.area == "accounts"]
    assert [(g.reason.value, g.path) for g in gaps] == [
        ("not_collected", "/private/var/db/dslocal/nodes/Default/users")
    ]
    assert "/Users/alice" in _homes(inv)


def test_windows_image_without_software_hive_names_the_gap_and_walks_users(
    tmp_path: Path,
) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"), software_hive=False)
    inv = _collect(root)
    assert inv.os.family is OsFamily.WINDOWS
    assert inv.identity.hostname == "DESKTOP-7QK2M1A"
    gaps = [g for g in inv.gaps if g.area == "accounts"]
    assert [(g.reason.value, g.path) for g in gaps] == [
        ("not_collected", "/Windows/System32/config/SOFTWARE")
    ]
    assert _homes(inv)["/Users/alice"].source == "home-walk"


def test_unknown_os_scan_finishes_with_the_gap_named_and_every_home_walked(
    tmp_path: Path,
) -> None:
    root = FakeRoot(tmp_path / "odd")
    root.add_dir("/Users/alice")
    root.add_dir("/home/bob")
    root.add_venv("/Users/alice/app/.venv")
    code, bundle = scan(root.path, tmp_path / "out")
    assert code == 0
    gaps = load(bundle, "coverage.json")["gaps"]
    assert [g["area"] for g in gaps if g["reason"] == "unknown_os"] == ["os"]
    inventory = load(bundle, "inventory.json")
    assert inventory["os"]["family"] == "unknown"
    assert {u["home"] for u in inventory["users"]} >= {"/Users/alice", "/home/bob", "/root"}
    assert inventory["environments"]
    assert load(bundle, "manifest.json")["host"]["os"]["family"] == "unknown"
    assert not root.marker.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the tree must be owned by uid 0 (root in passwd)")
def test_a_walked_home_never_renames_an_account_of_the_same_uid(fake_root: FakeRoot) -> None:
    """``/home/shared`` owned by uid 0 like everything here: uid 0 stays ``root``."""
    fake_root.add_os_release()
    fake_root.add_dir("/home/shared")
    fake_root.add_venv("/home/alice/app/.venv")
    inv = _collect(fake_root)
    assert _homes(inv)["/home/shared"].source == "home-walk"
    owners = {str(e.prefix): e.owner for e in inv.environments}
    assert owners["/home/alice/app/.venv"] == "root"
