"""Generate a synthetic host tree for the sitesweep benchmark (never used by the tests).

The tree stands for a developer machine or a build server: Python environments of every common
kind (system dist-packages, venvs under projects, pyenv, conda, pipx), each with installed
distributions whose RECORD files are correct (real SHA-256 of the small files they list), mixed
with the bulk a real disk holds and the walk must get through or prune: ``node_modules`` trees,
``.git/objects`` fan-out directories and media files. A few indicator hits (an installed litellm
1.82.8 with its ``litellm_init.pth`` shape) make the full scan do real work. The simulated
``.pth`` payload decodes to a harmless comment and is never run by anything.

Everything is drawn from ``random.Random(seed)``: the same seed and size give the same tree.
``--real N`` adds N real environments (``python3 -m venv`` + ``pip install`` of small pure-Python
wheels from the configured package index); that needs the network and is never done by tests.

``--size realistic`` writes the host of issue 13 instead (``bench/realistic.py``): real wheels
unpacked from ``--wheels DIR`` (fetch them with ``--download``), or ``--synthetic`` files with
the same counts and sizes when offline.

Usage::

    python3 bench/generate.py --size small --out /tmp/sitesweep-bench/small
    python3 bench/generate.py --size large --out /tmp/sitesweep-bench/large --real 2
    python3 bench/generate.py --size realistic --wheels /tmp/wheels --download --out /tmp/b/real
    python3 bench/generate.py --size realistic --synthetic --out /tmp/b/real-synthetic
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

DEFAULT_OUT = Path("/tmp/sitesweep-bench")  # noqa: S108 - a scratch tree, by design
REAL_WHEELS = ("six", "idna", "certifi")
PY = "python3.11"


@dataclass(frozen=True)
class Size:
    """How big one tree is (``yara_envs``: environments with a clean, large litellm)."""

    envs: int
    dists: int
    node_files: int
    git_objects: int
    media: int
    yara_envs: int


SIZES: Dict[str, Size] = {
    "small": Size(10, 1_000, node_files=6_000, git_objects=3_000, media=1_000, yara_envs=1),
    "medium": Size(60, 10_000, node_files=60_000, git_objects=30_000, media=10_000, yara_envs=3),
    "large": Size(300, 50_000, node_files=200_000, git_objects=100_000, media=30_000, yara_envs=10),
}
YARA_LOAD_FILES = 300
"""Modules of the clean litellm 1.83.0 (every file of a pack-named distribution is matched)."""

_WORDS = (
    "aio", "http", "py", "data", "json", "yaml", "async", "net", "core", "utils", "tools", "cloud",
    "auth", "crypto", "sql", "log", "test", "web", "api", "cli", "io", "fast", "lib", "proto",
    "grpc", "ml", "torch", "num", "plot", "text", "parse", "schema", "cache", "queue", "task",
)  # fmt: skip
_EXTS = (".jpg", ".png", ".mp4", ".pdf", ".mp3")

# litellm 1.82.8's litellm_init.pth, by shape: imports subprocess and runs a Python child on an
# exec'd base64 payload. Here the "payload" decodes to an import and a comment: harmless even if
# something did run it (nothing does: sitesweep reads .pth files as data).
_HARMLESS = base64.b64encode(b"import sys  # sitesweep bench: simulated payload, does nothing\n")
PTH_LOADER = (
    "import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', "
    f"\"import base64; exec(base64.b64decode('{_HARMLESS.decode()}'))\"])\n"
)


def record_hash(data: bytes) -> str:
    """Return a RECORD hash field for ``data`` (``sha256=`` + urlsafe base64 without padding)."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Writer:
    """Writes small files and counts them."""

    def __init__(self) -> None:
        self.files = 0
        self.dirs: set = set()

    def write(self, path: Path, data: bytes) -> None:
        parent = path.parent
        if parent not in self.dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(parent)
        path.write_bytes(data)
        self.files += 1


def _name_pool(rng: random.Random, count: int) -> List[Tuple[str, List[str]]]:
    """Distribution names, each released in one to four versions (environments differ)."""
    names = set()
    while len(names) < count:
        names.add("-".join(rng.sample(_WORDS, rng.choice((1, 2, 2, 3)))) + str(rng.randint(0, 99)))
    pool = []
    for name in sorted(names):
        versions = {
            f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
            for _ in range(rng.choice((1, 2, 3, 4)))
        }
        pool.append((name, sorted(versions)))
    return pool


def _dist_files(rng: random.Random, name: str) -> Dict[str, bytes]:
    """The package files of one distribution: 5 to 40 tiny modules, most distributions small."""
    pkg = name.replace("-", "_")
    count = 5 + int(35 * rng.random() ** 2)
    files: Dict[str, bytes] = {}
    for i in range(count):
        sub = "" if i < 4 else f"sub{i % 3}/"
        files[f"{pkg}/{sub}mod{i}.py"] = f"# {name} module {i}\nVALUE = {i}\n".encode()
    files[f"{pkg}/__init__.py"] = f'"""{name}."""\n'.encode()
    return files


def write_dist(w: Writer, site: Path, name: str, version: str, files: Dict[str, bytes]) -> None:
    """Write one installed distribution: its files and a ``.dist-info`` with a correct RECORD."""
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    meta = {
        "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        f"Summary: synthetic distribution for the sitesweep benchmark\n\n".encode(),
        "INSTALLER": b"pip\n",
        "WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        "top_level.txt": (name.replace("-", "_") + "\n").encode(),
    }
    rows = []
    for rel, data in files.items():
        w.write(site / rel, data)
        rows.append(f"{rel},{record_hash(data)},{len(data)}")
    for rel, data in meta.items():
        w.write(site / info / rel, data)
        rows.append(f"{info}/{rel},{record_hash(data)},{len(data)}")
    rows.append(f"{info}/RECORD,,")
    w.write(site / info / "RECORD", ("\n".join(rows) + "\n").encode())


def write_litellm(w: Writer, site: Path) -> None:
    """An installed litellm 1.82.8 shaped like the malicious release (harmless content)."""
    files = {
        "litellm/__init__.py": b'"""litellm (synthetic)."""\n',
        "litellm/proxy/proxy_server.py": b"# synthetic proxy server\n",
        "litellm_init.pth": PTH_LOADER.encode(),
    }
    write_dist(w, site, "litellm", "1.82.8", files)


def write_yara_load(seed: int, w: Writer, base: Path, size: Size) -> int:
    """A clean litellm 1.83.0 (2-40 KB modules) in a few projects: real work for YARA.

    Packs name litellm, so every file of every installed litellm is matched against the YARA
    rules whatever its version. Drawn from its own random stream and written last, so
    ``--extend-yara`` on a tree made before this step gives the same tree as a fresh run.
    """
    rng = random.Random(f"{seed}-yara")
    words = [*_WORDS, "def", "return", "import", "class", "self", "None", "await", "async"]
    files: Dict[str, bytes] = {}
    for i in range(YARA_LOAD_FILES):
        lines, total, target = [], 0, rng.randint(2_000, 40_000)
        while total < target:
            line = "    " + " ".join(rng.choices(words, k=rng.randint(3, 12))) + "\n"
            lines.append(line)
            total += len(line)
        files[f"litellm/mod{i // 50}/part{i}.py"] = "".join(lines).encode()
    for index in range(size.yara_envs):
        site = base / "home" / "user1" / "ml" / f"agent{index}" / ".venv"
        write_env_shell(w, base, site, "venv")
        write_dist(w, site / "lib" / PY / "site-packages", "litellm", "1.83.0", files)
    return size.yara_envs


def _env_layout(rng: random.Random, index: int, users: List[str]) -> Tuple[Path, Path, str]:
    """Return (prefix, site dir, kind) for environment ``index``: a mix of common kinds."""
    user = users[index % len(users)]
    home = Path("home") / user
    kind = rng.choices(("venv", "pyenv", "conda", "pipx", "tox"), (60, 10, 10, 10, 10))[0]
    if index == 0:
        return Path("usr"), Path("usr/lib/python3/dist-packages"), "system"
    if kind == "venv":
        prefix = home / "src" / f"project{index}" / ".venv"
    elif kind == "pyenv":
        prefix = home / ".pyenv" / "versions" / f"3.11.{index}"
    elif kind == "conda":
        prefix = home / "miniconda3" / "envs" / f"env{index}"
    elif kind == "pipx":
        prefix = home / ".local" / "pipx" / "venvs" / f"tool{index}"
    else:
        prefix = home / "src" / f"project{index}" / ".tox" / "py311"
    return prefix, prefix / "lib" / PY / "site-packages", kind


def write_env_shell(w: Writer, base: Path, prefix: Path, kind: str) -> None:
    """The files that make a prefix an environment (pyvenv.cfg, conda-meta, bin/)."""
    if kind in ("venv", "pipx", "tox"):
        w.write(base / prefix / "pyvenv.cfg", b"home = /usr/bin\nversion = 3.11.2\n")
    if kind == "conda":
        w.write(base / prefix / "conda-meta" / "history", b"==> 2026-01-01 <==\n")
    w.write(base / prefix / "bin" / "activate", b"# activate (synthetic)\n")


def write_envs(rng: random.Random, w: Writer, base: Path, size: Size) -> int:
    """Write every environment and its distributions; return how many distributions."""
    users = [f"user{i}" for i in range(max(1, size.envs // 20))]
    pool = _name_pool(rng, min(4_000, size.dists))
    contents = {name: _dist_files(random.Random(f"{name}"), name) for name, _ in pool}
    per_env = max(1, size.dists // size.envs)
    total = 0
    for index in range(size.envs):
        prefix, site, kind = _env_layout(rng, index, users)
        write_env_shell(w, base, prefix, kind)
        count = per_env if index < size.envs - 1 else size.dists - total
        for name, versions in rng.sample(pool, min(count, len(pool))):
            write_dist(w, base / site, name, rng.choice(versions), contents[name])
            total += 1
        w.write(base / site / "distutils-precedence.pth", b"import _distutils_hack\n")
        if index in (1, size.envs // 2):
            write_litellm(w, base / site)
            total += 1
    return total


def write_node_modules(rng: random.Random, w: Writer, base: Path, count: int) -> int:
    """JavaScript projects with nested node_modules (tiny package.json and index.js files).

    The first project's node_modules holds a node-gyp virtualenv with one distribution (so a
    scan that prunes node_modules misses it); returns 1, that distribution.
    """
    gyp = Path("home/user0/web/app0/node_modules/node-gyp/gyp/.venv")
    write_env_shell(w, base, gyp, "venv")
    site = base / gyp / "lib" / PY / "site-packages"
    write_dist(w, site, "six", "1.16.0", _dist_files(rng, "six"))
    written = 0
    project = 0
    while written < count:
        nm = base / "home" / "user0" / "web" / f"app{project}" / "node_modules"
        for p in range(rng.randint(50, 200)):
            pkg = nm / f"pkg{p}"
            w.write(pkg / "package.json", json.dumps({"name": f"pkg{p}"}).encode())
            w.write(pkg / "index.js", b"module.exports = {};\n")
            w.write(pkg / "lib" / "util.js", b"exports.x = 1;\n")
            w.write(pkg / "node_modules" / f"dep{p}" / "index.js", b"module.exports = 1;\n")
            written += 4
        project += 1
    return 1


def write_git_objects(rng: random.Random, w: Writer, base: Path, count: int) -> None:
    """Repositories whose ``.git/objects`` fan out into 256 two-hex-digit directories."""
    per_repo = 10_000
    for repo in range(max(1, count // per_repo)):
        objects = base / "home" / "user0" / "src" / f"repo{repo}" / ".git" / "objects"
        for _ in range(min(per_repo, count)):
            name = f"{rng.getrandbits(160):040x}"
            w.write(objects / name[:2] / name[2:], b"x\x01\x00")


def write_media(rng: random.Random, w: Writer, base: Path, count: int) -> None:
    """Photos, videos and documents (a few bytes each: the walk never opens them)."""
    for i in range(count):
        folder = base / "home" / f"user{i % 3}" / rng.choice(("Pictures", "Videos", "Documents"))
        w.write(folder / f"{i // 500}" / f"file{i}{rng.choice(_EXTS)}", b"\x00" * 8)


def write_host_files(w: Writer, base: Path, users: int) -> None:
    """/etc basics so host identity and users read cleanly."""
    passwd = "root:x:0:0:root:/root:/bin/bash\n" + "".join(
        f"user{i}:x:{1000 + i}:{1000 + i}::/home/user{i}:/bin/bash\n" for i in range(users)
    )
    w.write(base / "etc" / "passwd", passwd.encode())
    w.write(base / "etc" / "hostname", b"bench-host\n")
    w.write(base / "etc" / "os-release", b'ID=debian\nVERSION_ID="12"\n')


def add_real_envs(base: Path, count: int) -> int:
    """Real venvs with a few small pure-Python wheels from the configured index (network).

    Returns how many distributions they hold (pip and setuptools included).
    """
    dists = 0
    for i in range(count):
        prefix = base / "home" / "user0" / "real" / f"venv{i}"
        subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True)
        pip = [str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", *REAL_WHEELS]
        subprocess.run(pip, check=True)
        dists += len(list(prefix.glob("lib/python3*/site-packages/*.dist-info")))
    return dists


def realistic_main(args: argparse.Namespace, base: Path) -> int:
    """Write the realistic host (bench/realistic.py) from real wheels or their size profile."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import realistic  # a sibling script, not a package

    if (args.wheels is None) == (not args.synthetic):
        print("--size realistic needs --wheels DIR or --synthetic", file=sys.stderr)
        return 2
    if args.download:
        realistic.download(args.wheels)
    if base.exists():
        if not args.force:
            print(f"{base} exists; --force replaces it", file=sys.stderr)
            return 2
        shutil.rmtree(base)
    started = time.monotonic()
    summary = realistic.build(base, args.wheels, args.seed)
    summary["seconds"] = round(time.monotonic() - started, 1)
    (base / "BENCH.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


def main() -> int:
    """Parse arguments and write the tree."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=[*sorted(SIZES), "realistic"], default="small")
    parser.add_argument("--wheels", type=Path, help="realistic: the directory of real wheels")
    parser.add_argument("--download", action="store_true", help="realistic: fetch the wheels")
    parser.add_argument(
        "--synthetic", action="store_true", help="realistic: no wheels, their size profile"
    )
    parser.add_argument("--out", type=Path, help=f"tree root (default {DEFAULT_OUT}/SIZE)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--real", type=int, default=0, help="real venvs to add (needs network)")
    parser.add_argument("--force", action="store_true", help="replace an existing tree")
    parser.add_argument(
        "--extend-yara",
        action="store_true",
        help="only add the YARA workload to a tree generated before that step existed",
    )
    args = parser.parse_args()
    base: Path = args.out or DEFAULT_OUT / args.size
    if args.size == "realistic":
        return realistic_main(args, base)
    size = SIZES[args.size]
    if args.extend_yara:
        summary = json.loads((base / "BENCH.json").read_text())
        w = Writer()
        summary["dists"] += write_yara_load(args.seed, w, base, size)
        summary["envs"] += size.yara_envs
        summary["files"] += w.files
        (base / "BENCH.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary))
        return 0
    if base.exists():
        if not args.force:
            print(f"{base} exists; --force replaces it", file=sys.stderr)
            return 2
        shutil.rmtree(base)
    rng = random.Random(args.seed)
    w = Writer()
    started = time.monotonic()
    write_host_files(w, base, max(1, size.envs // 20))
    dists = write_envs(rng, w, base, size)
    dists += write_node_modules(rng, w, base, size.node_files)
    write_git_objects(rng, w, base, size.git_objects)
    write_media(rng, w, base, size.media)
    dists += write_yara_load(args.seed, w, base, size)
    if args.real:
        dists += add_real_envs(base, args.real)
    summary = {
        "size": args.size,
        "seed": args.seed,
        "envs": size.envs + 1 + size.yara_envs + args.real,
        "dists": dists,
        "files": w.files,
        "real_envs": args.real,
        "seconds": round(time.monotonic() - started, 1),
    }
    (base / "BENCH.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
