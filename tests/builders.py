"""Build realistic fake hosts in a directory: accounts, venvs, conda, system Python, dist-info.

Every method takes host-absolute POSIX paths (``"/home/alice/proj/.venv"``) and returns the
created path on the scanning machine. Fixtures stay harmless: the only thing any planted code
could ever do, if something wrongly ran it, is append to ``<root>/MARKER_EXECUTED``. Tests
assert that the marker is absent (style guide C3).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shlex
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

Content = Union[bytes, str]

MARKER_NAME = "MARKER_EXECUTED"
DEFAULT_MACHINE_ID = "0123456789abcdef0123456789abcdef"


def record_hash(data: bytes) -> str:
    """Return a RECORD hash field: ``sha256=`` plus urlsafe base64 without padding."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def malicious_pth_content(marker: Path, pad_to: int = 0) -> str:
    """Return a one-line ``.pth`` shaped like litellm 1.82.8's ``litellm_init.pth``.

    It imports subprocess, sys and base64 and execs base64-decoded code, like the real one, but
    the decoded code only appends ``executed`` to ``marker``; it never spawns anything (the real
    line's ``Popen`` of ``sys.executable`` is what fork-bombed hosts).

    Args:
        marker: the file the payload would append to if it were ever executed.
        pad_to: pad the payload with a trailing comment so the line is about this many
            characters (the real file is 34,628 bytes); 0 for no padding.

    Returns:
        The line, ending in a newline.
    """
    payload = f"import sys\nwith open({str(marker)!r}, 'a') as f:\n    f.write('executed\\n')\n"
    head, tail = "import subprocess, sys, base64; exec(base64.b64decode('", "'))\n"
    room = (pad_to - len(head) - len(tail)) * 3 // 4 - len(payload) - 2
    if room > 0:
        payload += "#" + "A" * room + "\n"
    blob = base64.b64encode(payload.encode("utf-8")).decode("ascii")
    return f"{head}{blob}{tail}"


def _dist_dir_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


class FakeRoot:
    """A fake host filesystem rooted at ``path`` (created if missing).

    Attributes:
        path: the root on the scanning machine; host path ``/x`` lives at ``path / "x"``.
        marker: ``path / MARKER_EXECUTED``, which only exists if planted code ever ran.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.marker = self.path / MARKER_NAME

    # -- paths and files -------------------------------------------------------------------------
    def host(self, host_path: str) -> Path:
        """Return where ``host_path`` lives under the root (no ``..``, must be absolute)."""
        if not host_path.startswith("/"):
            raise ValueError(f"host paths are absolute: {host_path!r}")
        parts = [p for p in host_path.split("/") if p]
        if ".." in parts:
            raise ValueError(f"host paths may not climb: {host_path!r}")
        return self.path.joinpath(*parts)

    def add_dir(self, host_path: str, mode: int = 0o755) -> Path:
        """Create a directory (and its parents)."""
        target = self.host(host_path)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(mode)
        return target

    def add_file(self, host_path: str, content: Content, mode: int = 0o644) -> Path:
        """Write a file, creating parent directories."""
        target = self.host(host_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        target.chmod(mode)
        return target

    def add_symlink(self, host_path: str, target: str) -> Path:
        """Create a symlink whose target is stored verbatim (relative or host-absolute)."""
        link = self.host(host_path)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
        return link

    def _marker_script(self, host_path: str) -> Path:
        """A fake interpreter: a shell script whose only effect would be to touch the marker."""
        script = f"#!/bin/sh\necho ran >> {shlex.quote(str(self.marker))}\n"
        return self.add_file(host_path, script, mode=0o755)

    # -- host identity ---------------------------------------------------------------------------
    def add_passwd(self, users: Iterable[Tuple[str, int, str]], create_homes: bool = True) -> Path:
        """Write ``/etc/passwd`` with root (home ``/root``) first, then ``users``.

        Args:
            users: (name, uid, home) for each account.
            create_homes: also create each home directory.
        """
        rows = [("root", 0, "/root"), *((n, u, h) for n, u, h in users if n != "root")]
        lines = [f"{name}:x:{uid}:{uid}:{name}:{home}:/bin/bash" for name, uid, home in rows]
        if create_homes:
            for _, _, home in rows:
                self.add_dir(home, 0o750)
        return self.add_file("/etc/passwd", "\n".join(lines) + "\n")

    def add_os_release(
        self, os_id: str = "ubuntu", version_id: str = "22.04", pretty_name: Optional[str] = None
    ) -> Path:
        """Write ``/etc/os-release``."""
        pretty = pretty_name or f"{os_id.capitalize()} {version_id}"
        text = (
            f'NAME="{os_id.capitalize()}"\nID={os_id}\nVERSION_ID="{version_id}"\n'
            f'PRETTY_NAME="{pretty}"\n'
        )
        return self.add_file("/etc/os-release", text)

    def add_hostname(self, name: str) -> Path:
        """Write ``/etc/hostname``."""
        return self.add_file("/etc/hostname", name + "\n")

    def add_machine_id(self, machine_id: str = DEFAULT_MACHINE_ID) -> Path:
        """Write ``/etc/machine-id``."""
        return self.add_file("/etc/machine-id", machine_id + "\n", mode=0o444)

    # -- Python environments ---------------------------------------------------------------------
    @staticmethod
    def venv_site_packages(prefix: str, python: str = "3.11", windows: bool = False) -> str:
        """Return the host path of a venv's site-packages directory."""
        prefix = prefix.rstrip("/")
        return (
            f"{prefix}/Lib/site-packages"
            if windows
            else f"{prefix}/lib/python{python}/site-packages"
        )

    def add_venv(self, prefix: str, python: str = "3.11", windows: bool = False) -> Path:
        """Create a ``python -m venv`` layout; returns the prefix directory.

        ``pyvenv.cfg`` carries home/version/include-system-site-packages. ``bin/python`` (or
        ``Scripts/python.exe``) is a harmless marker script, never a real interpreter.
        """
        version = python if python.count(".") >= 2 else f"{python}.5"
        home = f"C:\\Python{python.replace('.', '')}" if windows else "/usr/bin"
        executable = f"{home}\\python.exe" if windows else f"/usr/bin/python{python}"
        cfg = (
            f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n"
            f"executable = {executable}\ncommand = {executable} -m venv {prefix}\n"
        )
        root = self.add_dir(prefix)
        self.add_file(f"{prefix}/pyvenv.cfg", cfg)
        self.add_site(self.venv_site_packages(prefix, python, windows))
        if windows:
            self._marker_script(f"{prefix}/Scripts/python.exe")
            self.add_file(f"{prefix}/Scripts/activate.bat", f'@set "VIRTUAL_ENV={prefix}"\r\n')
        else:
            self._marker_script(f"{prefix}/bin/python")
            self.add_symlink(f"{prefix}/bin/python3", "python")
            self.add_symlink(f"{prefix}/bin/python{python}", "python")
            self.add_file(f"{prefix}/bin/activate", f'VIRTUAL_ENV="{prefix}"\nexport VIRTUAL_ENV\n')
            self.add_dir(f"{prefix}/include")
        return root

    def _conda_prefix(self, prefix: str, python: str, command: str) -> None:
        version = python if python.count(".") >= 2 else f"{python}.5"
        minor = ".".join(version.split(".")[:2])
        record = {
            "name": "python",
            "version": version,
            "build": "h123_0",
            "build_number": 0,
            "channel": "https://repo.anaconda.com/pkgs/main",
            "files": [f"bin/python{minor}", f"lib/python{minor}/os.py"],
        }
        self.add_file(f"{prefix}/conda-meta/python-{version}-h123_0.json", json.dumps(record))
        history = (
            f"==> 2024-01-01 00:00:00 <==\n# cmd: {command}\n+defaults::python-{version}-h123_0\n"
        )
        self.add_file(f"{prefix}/conda-meta/history", history)
        self.add_site(f"{prefix}/lib/python{minor}/site-packages")
        self._marker_script(f"{prefix}/bin/python{minor}")
        self.add_symlink(f"{prefix}/bin/python", f"python{minor}")

    def add_conda(self, prefix: str, python: str = "3.11", env_names: Sequence[str] = ()) -> Path:
        """Create a conda base at ``prefix`` with ``envs/<name>`` for each name; returns prefix."""
        self._conda_prefix(prefix, python, f"conda create -p {prefix} python={python}")
        for name in env_names:
            self._conda_prefix(
                f"{prefix}/envs/{name}", python, f"conda create -n {name} python={python}"
            )
        return self.host(prefix)

    def add_system_python(self, version: str = "3.11") -> Path:
        """Create a Debian-style system Python; returns ``/usr/lib/python3/dist-packages``.

        Also creates ``/usr/lib/python<version>/os.py`` (stdlib marker),
        ``/usr/local/lib/python<version>/dist-packages`` and a marker-script
        ``/usr/bin/python<version>``.
        """
        self.add_file(f"/usr/lib/python{version}/os.py", "# stdlib marker file (fixture)\n")
        self.add_site(f"/usr/local/lib/python{version}/dist-packages")
        self._marker_script(f"/usr/bin/python{version}")
        return self.add_site("/usr/lib/python3/dist-packages")

    def add_user_site(self, home: str, version: str = "3.11") -> Path:
        """Create ``~/.local/lib/python<version>/site-packages``; returns it."""
        return self.add_site(f"{home.rstrip('/')}/.local/lib/python{version}/site-packages")

    def add_site(self, site_dir: str) -> Path:
        """Create a site-packages (or dist-packages) directory; returns it."""
        return self.add_dir(site_dir)

    # -- distributions ---------------------------------------------------------------------------
    def add_dist(
        self,
        site_dir: str,
        name: str,
        version: str,
        files: Optional[Mapping[str, bytes]] = None,
        installer: Optional[str] = "pip",
        metadata_extra: str = "",
        egg_info: bool = False,
        direct_url: Optional[Union[str, Mapping[str, object]]] = None,
    ) -> Path:
        """Install a distribution into ``site_dir``; returns its metadata directory.

        Args:
            site_dir: host path of the site-packages directory.
            name: project name as written in METADATA.
            version: version string as written in METADATA.
            files: package files relative to ``site_dir``; default is
                ``<name>/__init__.py`` with a ``__version__``.
            installer: contents of INSTALLER (``None`` for no INSTALLER file).
            metadata_extra: extra header lines appended to METADATA/PKG-INFO.
            egg_info: write ``<name>.egg-info/PKG-INFO`` instead of a dist-info with RECORD.
            direct_url: direct_url.json as text or as a mapping (dumped to JSON).
        """
        site = site_dir.rstrip("/")
        module = _dist_dir_name(name).lower()
        package = (
            dict(files)
            if files is not None
            else {f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode()}
        )
        for rel, data in package.items():
            self.add_file(f"{site}/{rel}", data)
        extra = (
            metadata_extra
            if not metadata_extra or metadata_extra.endswith("\n")
            else metadata_extra + "\n"
        )
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}\n"
        if egg_info:
            meta_dir = f"{site}/{name}.egg-info"
            self.add_file(f"{meta_dir}/PKG-INFO", metadata)
            self.add_file(f"{meta_dir}/top_level.txt", module + "\n")
            return self.host(meta_dir)
        dist_info = f"{_dist_dir_name(name)}-{version}.dist-info"
        meta: Dict[str, bytes] = {
            "METADATA": metadata.encode(),
            "WHEEL": b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        }
        if installer is not None:
            meta["INSTALLER"] = f"{installer}\n".encode()
        if direct_url is not None:
            text = direct_url if isinstance(direct_url, str) else json.dumps(dict(direct_url))
            meta["direct_url.json"] = text.encode()
        for file_name, data in meta.items():
            self.add_file(f"{site}/{dist_info}/{file_name}", data)
        rows: List[Tuple[str, str, str]] = [
            (rel, record_hash(data), str(len(data))) for rel, data in package.items()
        ]
        rows += [(f"{dist_info}/{n}", record_hash(d), str(len(d))) for n, d in meta.items()]
        rows.append((f"{dist_info}/RECORD", "", ""))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self.add_file(f"{site}/{dist_info}/RECORD", buffer.getvalue())
        return self.host(f"{site}/{dist_info}")

    def add_pth(self, site_dir: str, name: str, content: Content) -> Path:
        """Write ``<site_dir>/<name>.pth`` (``.pth`` is added if missing)."""
        file_name = name if name.endswith(".pth") else f"{name}.pth"
        return self.add_file(f"{site_dir.rstrip('/')}/{file_name}", content)

    # -- persistence -----------------------------------------------------------------------------
    def add_user_unit(self, home: str, name: str, content: str, enable: bool = True) -> Path:
        """Write ``~/.config/systemd/user/<name>`` and, with ``enable``, its ``.wants`` link.

        The link is ``default.target.wants/<name>`` pointing at the unit, as
        ``systemctl --user enable`` makes it. Returns the unit file.
        """
        unit_dir = f"{home.rstrip('/')}/.config/systemd/user"
        unit = self.add_file(f"{unit_dir}/{name}", content)
        if enable:
            self.add_symlink(f"{unit_dir}/default.target.wants/{name}", f"{unit_dir}/{name}")
        return unit

    # -- package caches ---------------------------------------------------------------------------
    def add_zip(self, host_path: str, members: Mapping[str, bytes]) -> Path:
        """Write a real zip archive (a wheel, a cached HTTP body) holding ``members``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return self.add_file(host_path, buffer.getvalue())
