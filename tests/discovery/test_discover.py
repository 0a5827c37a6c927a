"""Discovery finds every kind of environment in a fake root, read from files only."""

from __future__ import annotations

from typing import Dict

import pytest

from builders import FakeRoot
from sitesweep.discovery import EnvKind, FsPolicy, PythonEnv, WalkSpec, discover
from sitesweep.host.identity import read_users
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap


def _discover(root: FakeRoot) -> Dict[str, PythonEnv]:
    host = HostRoot(root.path)
    gaps: list[Gap] = []
    found = discover(host, WalkSpec(fs_policy=FsPolicy.LOCAL), read_users(host, gaps))
    return {env.prefix: env for env in found.environments}


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("/home/alice/proj/.venv", EnvKind.VENV),
        ("/home/alice/.local/pipx/venvs/black", EnvKind.PIPX),
        ("/home/alice/.local/share/pipx/venvs/httpie", EnvKind.PIPX),
        ("/home/alice/.local/share/uv/tools/ruff", EnvKind.UV_TOOL),
        ("/home/alice/.cache/pypoetry/virtualenvs/app-AbCd-py3.11", EnvKind.POETRY),
        ("/home/alice/.local/share/pdm/venvs/app-XyZ-3.11", EnvKind.PDM),
        ("/home/alice/.local/share/hatch/env/virtual/app/abc/app", EnvKind.HATCH),
        ("/srv/app/.tox/py311", EnvKind.TOX),
        ("/srv/app/.nox/tests", EnvKind.NOX),
        ("/home/bob/.virtualenvs/work", EnvKind.VIRTUALENVWRAPPER),
        ("/var/lib/docker/overlay2/0123abcd/diff/app/venv", EnvKind.CONTAINER),
    ],
    ids=lambda v: str(v),
)
def test_venv_kinds_by_location(fake_root: FakeRoot, prefix: str, kind: EnvKind) -> None:
    fake_root.add_venv(prefix, python="3.11")
    env = _discover(fake_root)[prefix]
    assert env.kind is kind
    assert env.python_versions == ("3.11.5",) or env.python_versions[0].startswith("3.11")
    assert env.site_dirs == (f"{prefix}/lib/python3.11/site-packages",)


def test_windows_layout_venv(fake_root: FakeRoot) -> None:
    fake_root.add_venv("/mnt/c/Users/carol/proj/venv", windows=True)
    env = _discover(fake_root)["/mnt/c/Users/carol/proj/venv"]
    assert env.kind is EnvKind.VENV
    assert env.site_dirs == ("/mnt/c/Users/carol/proj/venv/Lib/site-packages",)


def test_conda_base_and_envs(fake_root: FakeRoot) -> None:
    fake_root.add_conda("/opt/miniconda3", python="3.11", env_names=("ml",))
    envs = _discover(fake_root)
    assert envs["/opt/miniconda3"].kind is EnvKind.CONDA
    assert envs["/opt/miniconda3/envs/ml"].kind is EnvKind.CONDA
    assert "3.11.5" in envs["/opt/miniconda3"].python_versions


def test_system_user_pyenv_uv_embedded_vendored(fake_root: FakeRoot) -> None:
    fake_root.add_system_python("3.11")
    fake_root.add_user_site("/home/alice", "3.12")
    fake_root.add_site("/home/alice/.pyenv/versions/3.10.13/lib/python3.10/site-packages")
    fake_root.add_site(
        "/home/alice/.local/share/uv/python/cpython-3.12.7-linux-x86_64-gnu/lib/python3.12/site-packages"
    )
    fake_root.add_site("/opt/vendor-app/runtime/lib/python3.9/site-packages")
    fake_root.add_site("/opt/tool/bundled/site-packages")
    envs = _discover(fake_root)
    assert envs["/usr"].kind is EnvKind.SYSTEM
    assert "/usr/lib/python3/dist-packages" in envs["/usr"].site_dirs
    assert envs["/usr/local"].kind is EnvKind.SYSTEM
    assert envs["/home/alice/.local"].kind is EnvKind.USER
    assert envs["/home/alice/.local"].python_versions == ("3.12",)
    assert envs["/home/alice/.pyenv/versions/3.10.13"].kind is EnvKind.PYENV
    uv = "/home/alice/.local/share/uv/python/cpython-3.12.7-linux-x86_64-gnu"
    assert envs[uv].kind is EnvKind.UV_PYTHON
    assert envs["/opt/vendor-app/runtime"].kind is EnvKind.EMBEDDED
    assert envs["/opt/tool/bundled"].kind is EnvKind.VENDORED


def test_owner_comes_from_passwd(fake_root: FakeRoot) -> None:
    prefix = "/home/alice/proj/.venv"
    fake_root.add_venv(prefix)
    assert _discover(fake_root)[prefix].owner is not None


def test_container_layer_reports_inner_kind(fake_root: FakeRoot) -> None:
    fake_root.add_site(
        "/var/lib/containers/storage/overlay/abc/diff/usr/lib/python3.11/site-packages"
    )
    env = _discover(fake_root)["/var/lib/containers/storage/overlay/abc/diff/usr"]
    assert env.kind is EnvKind.CONTAINER
    assert "embedded" in env.detail or "system" in env.detail
