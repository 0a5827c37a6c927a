"""Environments on macOS and Windows image trees come out with the right kind and Python version,
packages kept outside a site-packages (Briefcase app_packages, pynsist pkgs) are found, and no
planted code runs."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

from builders import FakeRoot, malicious_pth_content
from osimages import macos_image, windows_image
from sitesweep.discovery import EnvKind
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, Inventory, collect_inventory

A = "/Users/alice"

MAC_SITES: Dict[str, Tuple[EnvKind, str, str]] = {
    # site dir: (kind, prefix, version)
    "/Library/Frameworks/Python.framework/Versions/3.12/lib/python3.12/site-packages": (
        EnvKind.PYTHON_ORG, "/Library/Frameworks/Python.framework/Versions/3.12", "3.12"),
    "/Library/Developer/CommandLineTools/Library/Frameworks/Python3.framework/Versions/3.9/lib"
    "/python3.9/site-packages": (
        EnvKind.COMMAND_LINE_TOOLS,
        "/Library/Developer/CommandLineTools/Library/Frameworks/Python3.framework/Versions/3.9",
        "3.9"),
    "/Applications/Xcode.app/Contents/Developer/Library/Frameworks/Python3.framework/Versions"
    "/3.9/lib/python3.9/site-packages": (
        EnvKind.XCODE,
        "/Applications/Xcode.app/Contents/Developer/Library/Frameworks/Python3.framework"
        "/Versions/3.9",
        "3.9"),
    "/opt/homebrew/lib/python3.12/site-packages": (EnvKind.HOMEBREW, "/opt/homebrew", "3.12"),
    "/opt/homebrew/Cellar/python@3.11/3.11.8/Frameworks/Python.framework/Versions/3.11/lib"
    "/python3.11/site-packages": (
        EnvKind.HOMEBREW,
        "/opt/homebrew/Cellar/python@3.11/3.11.8/Frameworks/Python.framework/Versions/3.11",
        "3.11"),
    "/usr/local/lib/python3.10/site-packages": (EnvKind.HOMEBREW, "/usr/local", "3.10"),
    f"{A}/Library/Python/3.12/lib/python/site-packages": (
        EnvKind.USER, f"{A}/Library/Python/3.12", "3.12"),
    f"{A}/.pyenv/versions/3.11.9/lib/python3.11/site-packages": (
        EnvKind.PYENV, f"{A}/.pyenv/versions/3.11.9", "3.11.9"),
    f"{A}/.local/share/uv/python/cpython-3.12.4-macos-aarch64-none/lib/python3.12/site-packages": (
        EnvKind.UV_PYTHON, f"{A}/.local/share/uv/python/cpython-3.12.4-macos-aarch64-none",
        "3.12.4"),
    "/Applications/Tool.app/Contents/Frameworks/Python.framework/Versions/3.11/lib/python3.11"
    "/site-packages": (
        EnvKind.APP_BUNDLE,
        "/Applications/Tool.app/Contents/Frameworks/Python.framework/Versions/3.11", "3.11"),
    "/Applications/Helper.app/Contents/Resources/app_packages": (
        EnvKind.APP_BUNDLE, "/Applications/Helper.app/Contents/Resources", ""),
}  # fmt: skip

WIN_SITES: Dict[str, Tuple[EnvKind, str, str]] = {
    "/Program Files/Python312/Lib/site-packages": (
        EnvKind.PYTHON_ORG, "/Program Files/Python312", "3.12"),
    f"{A}/AppData/Local/Programs/Python/Python311/Lib/site-packages": (
        EnvKind.PYTHON_ORG, f"{A}/AppData/Local/Programs/Python/Python311", "3.11"),
    f"{A}/AppData/Roaming/Python/Python312/site-packages": (
        EnvKind.USER, f"{A}/AppData/Roaming/Python/Python312", "3.12"),
    "/Program Files/WindowsApps/PythonSoftwareFoundation.Python.3.12_3.12.1264.0_x64__qbz5n2kfra8p0"
    "/Lib/site-packages": (
        EnvKind.MS_STORE,
        "/Program Files/WindowsApps/PythonSoftwareFoundation.Python.3.12_3.12.1264.0_x64__"
        "qbz5n2kfra8p0",
        "3.12"),
    f"{A}/AppData/Local/Packages/PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0/LocalCache"
    "/local-packages/Python312/site-packages": (
        EnvKind.USER,
        f"{A}/AppData/Local/Packages/PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0"
        "/LocalCache/local-packages/Python312",
        "3.12"),
    f"{A}/.pyenv/pyenv-win/versions/3.10.11/Lib/site-packages": (
        EnvKind.PYENV, f"{A}/.pyenv/pyenv-win/versions/3.10.11", "3.10.11"),
    f"{A}/AppData/Roaming/uv/python/cpython-3.12.4-windows-x86_64-none/Lib/site-packages": (
        EnvKind.UV_PYTHON, f"{A}/AppData/Roaming/uv/python/cpython-3.12.4-windows-x86_64-none",
        "3.12.4"),
    "/Tools/python-3.11.9-embed-amd64/Lib/site-packages": (
        EnvKind.EMBEDDABLE, "/Tools/python-3.11.9-embed-amd64", "3.11"),
    "/Program Files/Mover/pkgs": (EnvKind.APP_BUNDLE, "/Program Files/Mover", "3.12"),
}  # fmt: skip


def _by_prefix(inv: Inventory) -> Dict[str, Tuple[EnvKind, Tuple[str, ...]]]:
    return {e.prefix: (e.kind, e.python_versions) for e in inv.environments}


def _assert_layouts(inv: Inventory, table: Dict[str, Tuple[EnvKind, str, str]]) -> None:
    found = _by_prefix(inv)
    for site, (kind, prefix, version) in table.items():
        assert prefix in found, (site, sorted(found))
        assert found[prefix][0] is kind, (prefix, found[prefix])
        assert found[prefix][1] == ((version,) if version else ()), (prefix, found[prefix])
    names = {(d.name, d.site_dir) for d in inv.distributions}
    assert all(("requests", site) in names for site in table), "a package in every layout"


def test_macos_environments_have_their_kind_and_version(tmp_path: Path) -> None:
    root = macos_image(FakeRoot(tmp_path / "mac"))
    root.add_dir("/usr/local/Cellar/python@3.10")
    root.add_dir("/Applications/Helper.app/Contents/Resources/app")
    for site in MAC_SITES:
        root.add_dist(site, "requests", "2.32.3")
    pipx = f"{A}/Library/Application Support/pipx/venvs/httpie"
    root.add_venv(pipx, python="3.12")
    root.add_dist(root.venv_site_packages(pipx, "3.12"), "httpie", "3.2.2")
    inv = collect_inventory(HostRoot(root.path), CollectSpec())
    _assert_layouts(inv, MAC_SITES)
    assert _by_prefix(inv)[pipx][0] is EnvKind.PIPX


def test_windows_environments_have_their_kind_and_version(tmp_path: Path) -> None:
    root = windows_image(FakeRoot(tmp_path / "win"))
    for site in WIN_SITES:
        root.add_dist(site, "requests", "2.32.3")
    root.add_file("/Program Files/Python312/python312.dll", b"MZ")
    embed = "/Tools/python-3.11.9-embed-amd64"
    root.add_file(f"{embed}/python311._pth", "python311.zip\n.\nimport site\n")
    root.add_file(f"{embed}/python311.zip", b"PK\x05\x06" + b"\0" * 18)
    root.add_file("/Program Files/Mover/Python/python312.dll", b"MZ")
    root.add_file("/Program Files/Mover/Mover.launch.pyw", "import mover\n")
    root.add_dir(f"{A}/miniconda3/pkgs/requests-2.32.3-py312_0")  # conda's pkgs cache: no env
    venv = f"{A}/projects/api/.venv"
    root.add_venv(venv, python="3.12", windows=True)
    root.add_dist(f"{venv}/Lib/site-packages", "litellm", "1.82.6")
    inv = collect_inventory(HostRoot(root.path), CollectSpec())
    _assert_layouts(inv, WIN_SITES)
    found = _by_prefix(inv)
    assert found[venv][0] is EnvKind.VENV
    assert found[venv][1] == ("3.12.5",)
    assert f"{A}/miniconda3" not in found


def test_a_malicious_pth_in_app_packages_is_found_and_never_run(tmp_path: Path) -> None:
    root = macos_image(FakeRoot(tmp_path / "mac"))
    site = "/Applications/Helper.app/Contents/Resources/app_packages"
    root.add_dist(site, "litellm", "1.82.8")
    root.add_pth(site, "litellm_init.pth", malicious_pth_content(root.marker))
    inv = collect_inventory(HostRoot(root.path), CollectSpec())
    assert [p.file.path for p in inv.pth_files] == [f"{site}/litellm_init.pth"]
    assert ("litellm", "1.82.8") in {(d.name, d.version) for d in inv.distributions}
    assert not root.marker.exists()
