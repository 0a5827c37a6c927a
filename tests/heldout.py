"""A suspect host built the way a held-out acceptance host is likely built, and its packing into
the three shapes a responder is handed: a raw ext4 image (also inside a GPT disk, the root not
its first partition), a qcow2 (compressed) and a ``docker save`` tarball of several layers.

The host: a system Python, venvs, a conda base with an env, pyenv, pipx and uv (a uv tool whose
files are hard links into uv's cache), litellm 1.82.8 with its ``.pth`` in one venv, 1.82.7 in
the conda env, a clean litellm in pipx; the sysmon user unit ("System Telemetry Service") and a
cron line; SSH, AWS, kube and ``.env`` credentials; shell histories that installed litellm; a
symlinked site-packages, a non-UTF-8 name, a 3 MiB file, a sparse file, deep directories, and
every time in the past (whole seconds: ``mkfs.ext4 -d`` keeps no sub-second part).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, List, Sequence

from builders import FakeRoot, malicious_pth_content

MIB = 1 << 20
HOME = "/home/alice"
OPS = "/home/ops"
VENV = f"{HOME}/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
CONDA = "/opt/conda"
CONDA_ENV_SITE = f"{CONDA}/envs/ml/lib/python3.11/site-packages"
PYENV_SITE = f"{HOME}/.pyenv/versions/3.12.1/lib/python3.12/site-packages"
PIPX_SITE = f"{HOME}/.local/share/pipx/venvs/litellm/lib/python3.11/site-packages"
UV_TOOL = f"{HOME}/.local/share/uv/tools/ruff"
UV_TOOL_SITE = f"{UV_TOOL}/lib/python3.12/site-packages"
UV_CACHE = f"{HOME}/.cache/uv/archive-v0/abc123"
LINKED_VENV = f"{OPS}/svc/.venv"
LINKED_SITE = f"{LINKED_VENV}/lib/python3.11/site-packages"
SHARED_SITE = "/srv/shared/site-packages"
BIG = f"{SITE}/litellm/proxy/big_model_map.bin"
SPARSE = f"{HOME}/.cache/pip/wheels/ab/cd/pkg-1.0-py3-none-any.whl"
DEEP = HOME + "/work" + "/d" * 40
ODD_NAME = b"odd-\xff-name.pth"
PAST = 1774000000  # 2026-03-20: every file's time but the incident's own
INSTALLED_AT = 1774348800  # 2026-03-24T10:40:00Z
PTH_AT = 1774349000
LATER_AT = PTH_AT + 3600


def build_heldout(root: FakeRoot) -> None:
    """Plant the whole host in ``root`` (see the module's docstring)."""
    root.add_machine_id()
    root.add_os_release()
    root.add_hostname("build-07")
    root.add_passwd([("alice", 1000, HOME), ("ops", 1001, OPS)])
    system = "/usr/lib/python3/dist-packages"
    root.add_system_python()
    root.add_dist(system, "requests", "2.31.0", installer="debian")
    root.add_dist("/usr/local/lib/python3.11/dist-packages", "urllib3", "2.2.1")

    root.add_venv(VENV)
    root.add_dist(SITE, "requests", "2.31.0")
    root.add_dist(SITE, "openai", "1.30.0")
    root.add_conda(CONDA, env_names=["ml"])
    root.add_dist(CONDA_ENV_SITE, "litellm", "1.82.7")
    root.add_dist(f"{CONDA}/lib/python3.11/site-packages", "numpy", "1.26.4", installer="conda")
    root.add_site(PYENV_SITE)
    root.add_dist(PYENV_SITE, "httpx", "0.27.0")
    root.add_venv(f"{HOME}/.local/share/pipx/venvs/litellm")
    root.add_dist(PIPX_SITE, "litellm", "1.40.0")  # clean
    root.add_venv(UV_TOOL, python="3.12")
    root.add_dist(UV_TOOL_SITE, "ruff", "0.4.4", installer="uv")
    # uv installs by hard-linking from its cache: the same inode under two names.
    for rel in ("ruff/__init__.py",):
        cached = root.add_file(f"{UV_CACHE}/{rel}", root.host(f"{UV_TOOL_SITE}/{rel}").read_bytes())
        root.host(f"{UV_TOOL_SITE}/{rel}").unlink()
        os.link(cached, root.host(f"{UV_TOOL_SITE}/{rel}"))
    # A venv whose site-packages is a symlink to a shared directory.
    root.add_venv(LINKED_VENV)
    shutil.rmtree(root.host(LINKED_SITE))
    root.add_site(SHARED_SITE)
    root.add_symlink(LINKED_SITE, SHARED_SITE)
    root.add_dist(SHARED_SITE, "pyyaml", "6.0.1")

    # Credentials, histories, persistence.
    root.add_file(f"{HOME}/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", 0o600)
    root.add_file(f"{HOME}/.ssh/known_hosts", "github.com ssh-ed25519 AAAA\n")
    root.add_file(f"{HOME}/.aws/credentials", "[default]\naws_access_key_id = AKIAFIXTURE\n", 0o600)
    root.add_file(f"{HOME}/.kube/config", "apiVersion: v1\nkind: Config\nusers: []\n", 0o600)
    root.add_file(f"{HOME}/app/.env", "OPENAI_API_KEY=sk-fixture-not-real\n", 0o600)
    root.add_file(f"{OPS}/.docker/config.json", '{"auths": {}}\n', 0o600)
    root.add_file(
        f"{HOME}/.bash_history",
        f"ls\n#{INSTALLED_AT - 10}\npip install litellm==1.82.8\n",
    )
    root.add_file(f"{OPS}/.zsh_history", f": {INSTALLED_AT}:0;uv pip install litellm\n")
    root.add_file(f"{HOME}/app/requirements.txt", "requests==2.31.0\nlitellm==1.82.8\n")
    unit = (
        "[Unit]\nDescription=System Telemetry Service\n\n[Service]\n"
        f"ExecStart=/usr/bin/python3 {HOME}/.config/sysmon/sysmon.py\nRestart=always\n\n"
        "[Install]\nWantedBy=default.target\n"
    )
    root.add_user_unit(HOME, "sysmon.service", unit)
    root.add_file(f"{HOME}/.config/sysmon/sysmon.py", "import time\ntime.sleep(300)\n")
    root.add_file(
        "/var/spool/cron/crontabs/ops",
        f"*/5 * * * * /usr/bin/python3 {OPS}/svc/poll.py\n",
        0o600,
    )
    root.add_file(f"{OPS}/svc/poll.py", "print('poll')\n")

    # Odd shapes.
    root.add_file(BIG, os.urandom(3 * MIB))
    root.add_dir(SPARSE.rsplit("/", 1)[0])
    with root.host(SPARSE).open("wb") as fh:
        fh.truncate(8 * MIB)
    root.add_file(f"{DEEP}/notes.txt", "deep\n")
    root.add_file(f"{HOME}/My Documents/a file with spaces.txt", "x\n")
    root.add_file(f"{HOME}/.config/autostart/line\nbreak.desktop", "[Desktop Entry]\nExec=true\n")
    root.add_dir(f"{HOME}/.cache/scratch")  # an image's later layer makes it opaque
    with open(os.fsencode(root.host(SITE)) + b"/" + ODD_NAME, "wb") as fh:
        fh.write(b"import os; os.system('true')\n")
    for base, dirs, files in os.walk(root.path):
        for name in (*dirs, *files):
            os.utime(Path(base) / name, (PAST, PAST), follow_symlinks=False)
    os.utime(root.path, (PAST, PAST))

    # The incident: 1.82.8 and its .pth, then the dropped script and unit.
    dist = root.add_dist(SITE, "litellm", "1.82.8")
    pth = root.add_pth(SITE, "litellm_init.pth", malicious_pth_content(root.marker))
    os.utime(dist, (INSTALLED_AT, INSTALLED_AT))
    os.utime(pth, (PTH_AT, PTH_AT))
    for sub in ("litellm", "litellm/proxy"):
        os.utime(root.host(f"{SITE}/{sub}"), (INSTALLED_AT, INSTALLED_AT))
    for path in (f"{SITE}/litellm/__init__.py",):
        os.utime(root.host(path), (INSTALLED_AT, INSTALLED_AT))
    unit_dir = f"{HOME}/.config/systemd/user"
    for path in (
        f"{unit_dir}/sysmon.service",
        f"{unit_dir}/default.target.wants/sysmon.service",
        f"{HOME}/.config/sysmon/sysmon.py",
    ):
        os.utime(root.host(path), (LATER_AT, LATER_AT), follow_symlinks=False)
    for directory in (SITE, f"{SITE}/litellm-1.82.8.dist-info"):
        os.utime(root.host(directory), (PTH_AT, PTH_AT))


# -- packing as container image layers -------------------------------------------------------------

LAYER_HISTORY = [
    "/bin/sh -c #(nop) ADD file:base in /",
    "RUN /bin/sh -c pip install -r requirements.txt",
    "RUN /bin/sh -c pip install litellm==1.82.8",
]


def split_layers(tree: Path, work: Path) -> List[Path]:
    """Three layer trees whose application gives ``tree`` exactly: the base (``/etc``, ``/usr``,
    ``/var``, ``/srv``, ``/opt``) plus a file a later layer deletes; the homes, plus a stale
    ``.pth`` and a clean litellm dist-info the last layer deletes (whiteouts) and a directory it
    makes opaque; the last layer: the litellm 1.82.8 files (its dist-info, package, ``.pth``).

    Hard-linked names stay in one layer (a tar keeps the link only within itself)."""
    layers = [work / f"layer{n}" for n in range(3)]
    for layer in layers:
        layer.mkdir(parents=True)
    last = ("litellm-1.82.8.dist-info", "litellm_init.pth", "litellm")
    site_rel = SITE.lstrip("/")
    for base, dirs, files in os.walk(tree):
        rel = Path(base).relative_to(tree)
        for name in [*dirs, *files]:
            rel_name = rel / name
            parts = rel_name.parts
            where = 1 if parts[0] == "home" else 0
            below = Path(site_rel).parts
            depth = len(below)
            if parts[:depth] == below and len(parts) > depth and parts[depth] in last:
                where = 2
            _copy_entry(Path(base) / name, layers[where] / rel_name, layers[where])
    # The directories of the last layer's files exist in it (a tar holds the parents).
    # Whiteouts: layer 0 adds /opt/stale.txt, layer 2 deletes it; layer 1 adds a stale .pth and a
    # clean litellm dist-info, layer 2 deletes them; layer 1 has a directory layer 2 makes opaque.
    (layers[0] / "opt" / "stale.txt").write_text("stale\n")
    (layers[2] / "opt").mkdir(exist_ok=True)
    (layers[2] / "opt" / ".wh.stale.txt").write_bytes(b"")
    site2 = layers[2] / site_rel
    site2.mkdir(parents=True, exist_ok=True)
    site1 = layers[1] / site_rel
    (site1 / "litellm_init.pth").write_text("import os\n")  # an older .pth, deleted then re-added
    clean = site1 / "litellm-1.40.0.dist-info"
    clean.mkdir()
    (clean / "METADATA").write_text("Metadata-Version: 2.1\nName: litellm\nVersion: 1.40.0\n")
    (site2 / ".wh.litellm-1.40.0.dist-info").write_bytes(b"")
    (site2 / ".wh.litellm_init.pth").write_bytes(b"")
    scratch = layers[1] / "home" / "alice" / ".cache" / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "old.txt").write_text("gone\n")
    (layers[2] / "home" / "alice" / ".cache" / "scratch").mkdir(parents=True)
    (layers[2] / "home" / "alice" / ".cache" / "scratch" / ".wh..wh..opq").write_bytes(b"")
    # Layer 2 re-creates these directories: they take the tree's modes and times again.
    for again in ("opt", site_rel, "home/alice/.cache/scratch"):
        _copy_meta(tree / again, layers[2] / again)
    for layer in layers:
        _copy_meta_parents(tree, layer)
    return layers


def _copy_entry(src: Path, dest: Path, layer: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        dest.symlink_to(src.readlink())
    elif src.is_dir():
        dest.mkdir(exist_ok=True)
    else:
        # Hard links inside one layer: link the copies so tarfile writes LNKTYPE members.
        st = src.lstat()
        key = (st.st_dev, st.st_ino)
        seen = _LINKS.setdefault(str(layer), {})
        if st.st_nlink > 1 and key in seen:
            os.link(seen[key], dest)
            return
        shutil.copy2(src, dest, follow_symlinks=False)
        if st.st_nlink > 1:
            seen[key] = str(dest)
        if st.st_blocks * 512 < st.st_size:  # keep the hole
            with open(dest, "r+b") as fh:
                fh.truncate(0)
                fh.truncate(st.st_size)
    _copy_meta(src, dest)


_LINKS: Dict[str, Dict[tuple[int, int], str]] = {}


def _copy_meta(src: Path, dest: Path) -> None:
    st = src.lstat()
    if not src.is_symlink():
        dest.chmod(st.st_mode & 0o7777)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_meta_parents(tree: Path, layer: Path) -> None:
    """Every directory of ``layer`` takes the mode and times of its twin in ``tree`` (deepest
    first, so setting a child's time does not change its parent's afterwards)."""
    dirs: Sequence[Path] = sorted(
        (Path(b) for b, _d, _f in os.walk(layer)), key=lambda p: -len(p.parts)
    )
    for directory in dirs:
        twin = tree / directory.relative_to(layer)
        if twin.is_dir() and not twin.is_symlink():
            _copy_meta(twin, directory)
