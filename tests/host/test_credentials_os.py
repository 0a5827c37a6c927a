"""Credentials in their macOS and Windows places: named with owner and size, never read, never in
a bundle; keychains and the Windows Credential Manager recorded by name only."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Set, Tuple

from builders import FakeRoot
from osimages import macos_image, windows_image
from persistbuild import launchd_plist, shortcut
from scanrun import bundle_mentions, only_bundle
from sitesweep.host.model import CredentialItem, CredentialKind
from sitesweep.model import Category, Severity
from sitesweep.pipeline import ScanOptions, run_scan

SECRET = b"FIXTURE-OS-SECRET-4c1d9e-never-copied"
MAC_HOME = "/Users/alice"
WIN_HOME = "/Users/alice"
ROAMING = f"{WIN_HOME}/AppData/Roaming"
LOCAL = f"{WIN_HOME}/AppData/Local"
PS_HISTORY = f"{ROAMING}/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt"


def plant(root: FakeRoot, paths: List[str]) -> None:
    for path in paths:
        root.add_file(path, b"secret: " + SECRET + b"\n", mode=0o600)


def items(found: Sequence[CredentialItem]) -> Set[Tuple[str, str, CredentialKind]]:
    return {(i.path, i.entry, i.kind) for i in found}


def macos_home(tmp_path: Path) -> FakeRoot:
    root = macos_image(FakeRoot(tmp_path / "mac"))
    plant(
        root,
        [
            f"{MAC_HOME}/.ssh/id_ed25519",
            f"{MAC_HOME}/.aws/credentials",
            f"{MAC_HOME}/.kube/config",
            f"{MAC_HOME}/.docker/config.json",
            f"{MAC_HOME}/.zsh_history",
            f"{MAC_HOME}/.config/gcloud/application_default_credentials.json",
            f"{MAC_HOME}/code/api/.env",
            f"{MAC_HOME}/Library/Keychains/login.keychain-db",
            "/Library/Keychains/System.keychain",
        ],
    )
    root.add_dir(f"{MAC_HOME}/.azure")
    return root


def test_macos_credentials_named_rotated_after_execution_never_copied(tmp_path: Path) -> None:
    root = macos_home(tmp_path)
    # the incident's macOS persistence: the payload ran here
    root.add_file(f"{MAC_HOME}/.config/sysmon/sysmon.py", "# poller (fixture)\n")
    root.add_file(
        f"{MAC_HOME}/Library/LaunchAgents/com.system.telemetry.plist",
        launchd_plist("com.system.telemetry", ["/usr/bin/python3", "~/.config/sysmon/sysmon.py"]),
    )
    out = tmp_path / "out"
    result = run_scan(ScanOptions(root=root.path, output=out, strict=True)).result
    found = items(result.inventory.credentials)
    assert {
        (f"{MAC_HOME}/.ssh/id_ed25519", "~/.ssh/id_ed25519", CredentialKind.FILE),
        (f"{MAC_HOME}/.aws/credentials", "~/.aws/credentials", CredentialKind.FILE),
        (f"{MAC_HOME}/.azure", "~/.azure/", CredentialKind.DIRECTORY),
        (f"{MAC_HOME}/.config/gcloud", "~/.config/gcloud/", CredentialKind.DIRECTORY),
        (f"{MAC_HOME}/.zsh_history", "~/.zsh_history", CredentialKind.FILE),
        (f"{MAC_HOME}/code/api/.env", ".env", CredentialKind.FILE),
        (f"{MAC_HOME}/.kube/config", "~/.kube/config", CredentialKind.KUBERNETES),
        (
            f"{MAC_HOME}/Library/Keychains/login.keychain-db",
            "macos-keychain",
            CredentialKind.STORE,
        ),
        ("/Library/Keychains/System.keychain", "macos-keychain", CredentialKind.STORE),
    } <= found
    rotate = {
        f.paths[0]
        for f in result.findings
        if f.category is Category.CREDENTIAL_EXPOSURE and f.severity is Severity.HIGH
    }
    assert f"{MAC_HOME}/.ssh/id_ed25519" in rotate
    assert f"{MAC_HOME}/.zsh_history" in rotate
    assert not bundle_mentions(only_bundle(out), SECRET.decode())


def windows_drive(tmp_path: Path) -> FakeRoot:
    root = windows_image(FakeRoot(tmp_path / "win"))
    plant(
        root,
        [
            f"{WIN_HOME}/.ssh/id_rsa",
            f"{WIN_HOME}/.aws/credentials",
            f"{WIN_HOME}/.kube/config",
            f"{WIN_HOME}/.docker/config.json",
            f"{ROAMING}/gcloud/application_default_credentials.json",
            f"{ROAMING}/gcloud/credentials.db",
            PS_HISTORY,
            f"{LOCAL}/Microsoft/Credentials/DFBE70A7E5CC19A398EBF1B96859CE5D",
            f"{ROAMING}/Microsoft/Credentials/6C3B1B9C1E3D4B8E9B5C2F1A0D9E8F7A",
            f"{WIN_HOME}/source/repos/api/.env",
        ],
    )
    root.add_dir(f"{WIN_HOME}/.azure")
    root.add_dir(f"{LOCAL}/Microsoft/Vault/4BF4C442-9B8A-41A0-B380-DD4A704DDB28")
    return root


def test_windows_credentials_in_their_places_never_copied(tmp_path: Path) -> None:
    root = windows_drive(tmp_path)
    # the incident's Windows form ran here: a Startup shortcut to the poller
    root.add_file(f"{WIN_HOME}/.config/sysmon/sysmon.py", "# poller (fixture)\n")
    startup = f"{ROAMING}/Microsoft/Windows/Start Menu/Programs/Startup"
    root.add_file(
        f"{startup}/System Telemetry.lnk",
        shortcut("C:\\Python312\\pythonw.exe", "C:\\Users\\alice\\.config\\sysmon\\sysmon.py"),
    )
    out = tmp_path / "out"
    result = run_scan(ScanOptions(root=root.path, output=out, strict=True)).result
    credentials = [c for c in result.inventory.credentials if c.user == "alice"]
    assert {
        (f"{WIN_HOME}/.ssh/id_rsa", "~/.ssh/id_rsa", CredentialKind.FILE),
        (f"{WIN_HOME}/.aws/credentials", "~/.aws/credentials", CredentialKind.FILE),
        (f"{WIN_HOME}/.azure", "~/.azure/", CredentialKind.DIRECTORY),
        (f"{ROAMING}/gcloud", "~/.config/gcloud/", CredentialKind.DIRECTORY),
        (
            f"{ROAMING}/gcloud/application_default_credentials.json",
            "application_default_credentials.json",
            CredentialKind.FILE,
        ),
        (PS_HISTORY, "~/.bash_history", CredentialKind.FILE),
        (f"{WIN_HOME}/.docker/config.json", "~/.docker/config.json", CredentialKind.FILE),
        (f"{WIN_HOME}/source/repos/api/.env", ".env", CredentialKind.FILE),
        (
            f"{LOCAL}/Microsoft/Credentials/DFBE70A7E5CC19A398EBF1B96859CE5D",
            "windows-credential-manager",
            CredentialKind.STORE,
        ),
        (
            f"{ROAMING}/Microsoft/Credentials/6C3B1B9C1E3D4B8E9B5C2F1A0D9E8F7A",
            "windows-credential-manager",
            CredentialKind.STORE,
        ),
        (
            f"{LOCAL}/Microsoft/Vault/4BF4C442-9B8A-41A0-B380-DD4A704DDB28",
            "windows-credential-manager",
            CredentialKind.STORE,
        ),
    } <= items(credentials)
    assert not [g for g in result.inventory.gaps if g.area == "credentials"]
    rotate = {
        f.paths[0]
        for f in result.findings
        if f.category is Category.CREDENTIAL_EXPOSURE and f.severity is Severity.HIGH
    }
    assert {PS_HISTORY, f"{ROAMING}/gcloud", f"{WIN_HOME}/.ssh/id_rsa"} <= rotate
    assert not bundle_mentions(only_bundle(out), SECRET.decode())
