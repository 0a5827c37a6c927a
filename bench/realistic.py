"""A realistic host for the sitesweep benchmark: real wheels, real sizes (never used by tests).

The host issue 13 describes: a developer machine with a *clean* litellm 1.82.6 in 20 of its 24
Python environments, beside numpy, pandas, scipy, django, boto3/botocore, awscli, jupyterlab and
their dependencies, in environments of every usual kind (pip venvs, uv venvs hard-linked from
uv's cache, conda, pyenv, pipx, uv tools, poetry, pdm, hatch, tox, virtualenvwrapper, the
system's dist-packages), ``.pyc`` files where pip or conda compiled them, and around them the
bulk a disk holds (``node_modules``, git objects, media). About 590,000 files; nothing malicious.

Two ways to build it, both from ``bench/realistic.json`` (the wheels each kind of environment
holds, as pip resolved them, and a size profile of each wheel):

* ``--wheels DIR`` (option A): the real wheels, fetched with ``--download`` (``pip download
  --no-deps --only-binary=:all:`` of each pinned file; needs the index). Each wheel is *unpacked*
  (a zip read, never ``pip install``, never imported or run) into a staging directory beside the
  tree, its ``.py`` files compiled to ``__pycache__/*.pyc`` (``py_compile``: compiling runs
  nothing), then copied into the environments (pip, conda, ...: new files, with the ``.pyc``
  rows pip adds to RECORD) or hard-linked from the in-tree uv cache (``uv`` links by default;
  no ``.pyc``). ``.data/`` directories go where pip puts them (``scripts`` -> ``bin``, ``data``
  -> the prefix, ``headers`` -> ``include``), with RECORD rows relative to the site dir.
* ``--synthetic`` (option B, offline): the same environments and the same distributions, each
  with the file count, ``.py`` share and size histogram of the real wheel (from the profile), the
  bytes drawn from a seeded generator, RECORDs correct for those bytes.

The venv-like environments (pip venvs, poetry, pdm, hatch, tox, virtualenvwrapper, uv) are real
ones: ``python3 -m venv --without-pip`` made them, so ``bin/python`` is a real interpreter and,
where the environment holds pip's wheel, ``bin/python -m pip list`` works (``run.py`` uses it;
no wheel of the set ships a ``.pth`` or ``sitecustomize``, checked here, so starting such an
interpreter runs nothing from the tree but pip). conda, pyenv and pipx prefixes are shaped (their
marker files, no interpreter).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import py_compile
import random
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
PROFILE = HERE / "realistic.json"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag  # cpython-311


@dataclass(frozen=True)
class Env:
    """One environment: where it is, what installed it, which wheel set it holds."""

    kind: str
    prefix: str
    group: str
    installer: str  # pip | uv | conda | debian
    venv: bool  # a real `python -m venv` prefix
    pyc: bool  # bytecode compiled at install (pip and conda do; uv does not by default)


ENVS: Tuple[Env, ...] = (
    Env("system", "usr", "httpie", "debian", False, True),
    Env("venv", "home/dev/src/chatbot/.venv", "llm", "pip", True, True),
    Env("venv", "home/dev/src/analytics/.venv", "ds", "pip", True, True),
    Env("venv", "home/dev/src/shop/.venv", "web", "pip", True, True),
    Env("venv", "home/dev/src/ingest/.venv", "aws", "pip", True, True),
    Env("venv", "home/dev/src/shop-v2/venv", "web", "pip", True, True),
    Env("uv", "home/dev/work/rag/.venv", "ds", "uv", True, False),
    Env("uv", "home/dev/work/agent/.venv", "llm", "uv", True, False),
    Env("uv", "home/dev/work/api/.venv", "web", "uv", True, False),
    Env("uv", "home/dev/work/etl/.venv", "aws", "uv", True, False),
    Env("uv", "home/dev/work/notebooks/.venv", "ds", "uv", True, False),
    Env("conda", "home/dev/miniconda3/envs/ml", "ds", "conda", False, True),
    Env("conda", "home/dev/miniconda3/envs/llm", "llm", "conda", False, True),
    Env("pyenv", "home/dev/.pyenv/versions/3.11.9", "web", "pip", False, True),
    Env("pyenv", "home/dev/.pyenv/versions/3.12.4", "aws", "pip", False, True),
    Env("pipx", "home/dev/.local/pipx/venvs/litellm", "llm", "pip", False, True),
    Env("pipx", "home/dev/.local/pipx/venvs/awscli", "awscli", "pip", False, True),
    Env("uv-tool", "home/dev/.local/share/uv/tools/ruff", "ruff", "uv", False, False),
    Env("uv-tool", "home/dev/.local/share/uv/tools/mypy", "mypy", "uv", False, False),
    Env("poetry", "home/dev/.cache/pypoetry/virtualenvs/shop-Xa3k-py3.11", "web", "pip", True, True),  # noqa: E501
    Env("pdm", "home/dev/src/research/.venv", "ds", "pip", True, True),
    Env("hatch", "home/dev/.local/share/hatch/env/virtual/bot/k2Fq/bot", "llm", "pip", True, True),
    Env("tox", "home/dev/src/shop/.tox/py311", "web", "pip", True, True),
    Env("virtualenvwrapper", "home/dev/.virtualenvs/notebook", "ds", "pip", True, True),
)  # fmt: skip
UV_CACHE = "home/dev/.cache/uv/archive-v0"


def record_hash(data: bytes) -> str:
    """A RECORD hash field for ``data``."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def site_of(env: Env) -> str:
    """The site dir of an environment, relative to the tree root."""
    if env.kind == "system":
        return "usr/lib/python3/dist-packages"
    return f"{env.prefix}/lib/{PY}/site-packages"


# --- the profile ---------------------------------------------------------------------------


def load_profile() -> Dict[str, object]:
    """``bench/realistic.json``: groups (wheel file names) and per-wheel size profiles."""
    return json.loads(PROFILE.read_text())  # type: ignore[no-any-return]


def make_profile(wheels: Path, groups: Dict[str, List[str]]) -> Dict[str, object]:
    """Profile each wheel of ``groups``: file count, ``.py`` count, bytes, log2 size histogram."""
    profiles: Dict[str, object] = {}
    for name in sorted({w for ws in groups.values() for w in ws}):
        with zipfile.ZipFile(wheels / name) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
        hist: Dict[str, int] = {}
        for info in infos:
            key = str(max(0, info.file_size).bit_length())
            hist[key] = hist.get(key, 0) + 1
        profiles[name] = {
            "files": len(infos),
            "py": sum(1 for i in infos if i.filename.endswith(".py")),
            "bytes": sum(i.file_size for i in infos),
            "log2_sizes": hist,
        }
    return {"groups": groups, "wheels": profiles}


def download(wheels: Path) -> None:
    """Fetch every wheel the profile names (pip download, no dependencies, binaries only)."""
    wheels.mkdir(parents=True, exist_ok=True)
    profile = load_profile()
    names = sorted(profile["wheels"])  # type: ignore[call-overload]
    missing = [n for n in names if not (wheels / n).exists()]
    for name in missing:
        dist, version = name.split("-")[:2]
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        subprocess.run([*cmd, "-d", str(wheels), f"{dist}=={version}"], check=True)
    absent = [n for n in names if not (wheels / n).exists()]
    if absent:
        raise SystemExit(f"not downloaded (another platform's wheel?): {absent}")


# --- staging: one unpacked copy of each wheel -----------------------------------------------


@dataclass
class Staged:
    """One wheel unpacked: its files by install location, its RECORD text and dist-info name."""

    root: Path  # root/site/... (purelib+platlib), root/prefix/... (.data: scripts, data, headers)
    dist_info: str
    record: str  # the wheel's RECORD with .data rows rewritten as pip does
    pyc: List[str]  # site-relative .pyc paths (in root/pyc/..., same layout as site/)


def _data_target(rel: str, dist_name: str) -> Optional[str]:
    """Where pip puts a ``.data/<scheme>/...`` member, relative to the prefix (None: site)."""
    scheme, _, rest = rel.partition("/")
    if scheme in ("purelib", "platlib"):
        return None
    if scheme == "scripts":
        return f"bin/{rest}"
    if scheme == "headers":
        return f"include/site/{PY}/{dist_name}/{rest}"
    return rest  # data


def _up() -> str:
    return "../../../"


def stage_real(wheel: Path, out: Path) -> Staged:
    """Unpack one wheel (zip entries only; nothing run) and compile its modules to bytecode."""
    root = out / wheel.name
    done = root / "STAGED.json"
    if done.exists():
        meta = json.loads(done.read_text())
        return Staged(root, meta["dist_info"], meta["record"], meta["pyc"])
    if root.exists():
        shutil.rmtree(root)
    with zipfile.ZipFile(wheel) as z:
        names = [i for i in z.infolist() if not i.is_dir()]
        dist_info = next(i.filename.split("/")[0] for i in names if ".dist-info/" in i.filename)
        dist_name = dist_info.split("-")[0]
        moved: Dict[str, str] = {}
        for info in names:
            rel = info.filename
            if rel.startswith("/") or ".." in rel.split("/"):
                raise SystemExit(f"{wheel.name}: unsafe member {rel!r}")
            first, _, rest = rel.partition("/")
            target_prefix = _data_target(rest, dist_name) if first.endswith(".data") else None
            if first.endswith(".data") and target_prefix is None:
                dest, row = root / "site" / rest.partition("/")[2], rest.partition("/")[2]
            elif target_prefix is not None:
                dest, row = root / "prefix" / target_prefix, _up() + target_prefix
            else:
                dest, row = root / "site" / rel, rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as member, open(dest, "wb") as dst:
                shutil.copyfileobj(member, dst, 1 << 20)
            if row != rel:
                moved[rel] = row
            if row in ("sitecustomize.py", "usercustomize.py") or row.endswith(".pth"):
                raise SystemExit(f"{wheel.name} ships {row}: not used by this benchmark")
    record_path = root / "site" / dist_info / "RECORD"
    lines = []
    for line in record_path.read_text().splitlines():
        path, _, tail = line.partition(",")
        lines.append(moved.get(path, path) + "," + tail if line else line)
    record = "\n".join(lines) + "\n"
    pyc: List[str] = []
    site = root / "site"
    for src in sorted(site.rglob("*.py")):
        src_rel = src.relative_to(site)
        cfile = root / "pyc" / src_rel.parent / "__pycache__" / f"{src.stem}.{TAG}.pyc"
        try:
            py_compile.compile(str(src), cfile=str(cfile), doraise=True)
        except (py_compile.PyCompileError, SyntaxError, ValueError):
            continue  # pip skips what does not compile, as here
        pyc.append(str(cfile.relative_to(root / "pyc")))
    meta = {"dist_info": dist_info, "record": record, "pyc": pyc}
    done.write_text(json.dumps(meta))
    return Staged(root, dist_info, record, pyc)


def _synthetic_bytes(rng: random.Random, size: int, text: bool) -> bytes:
    if text:
        line = b"    value = compute(item, key, default=None)  # synthetic\n"
        return (line * (size // len(line) + 1))[:size]
    return rng.randbytes(size)


def stage_synthetic(name: str, prof: Dict[str, object], out: Path, seed: int) -> Staged:
    """A wheel-shaped distribution with the real wheel's counts and sizes (no network)."""
    root = out / ("synthetic-" + name)
    done = root / "STAGED.json"
    if done.exists():
        meta = json.loads(done.read_text())
        return Staged(root, meta["dist_info"], meta["record"], meta["pyc"])
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(f"{seed}-{name}")
    dist, version = name.split("-")[:2]
    pkg = dist.lower()
    dist_info = f"{dist}-{version}.dist-info"
    sizes: List[int] = []
    hist = prof["log2_sizes"]
    assert isinstance(hist, dict)
    for bits, count in sorted(hist.items()):
        low, high = (1 << (int(bits) - 1)) if int(bits) else 0, (1 << int(bits)) - 1
        sizes += [rng.randint(low, max(low, high)) for _ in range(int(count))]
    rng.shuffle(sizes)
    py_left = int(prof["py"])  # type: ignore[call-overload]
    site = root / "site"
    rows: List[str] = []
    pyc: List[str] = []
    meta_files = {"METADATA", "WHEEL", "RECORD"}
    for i, size in enumerate(sizes[: max(0, len(sizes) - len(meta_files))]):
        is_py = py_left > 0
        py_left -= 1
        depth = f"sub{i % 7}/part{i % 23}/" if i >= 8 else ""
        rel = f"{pkg}/{depth}mod{i}.py" if is_py else f"{pkg}/{depth}asset{i}.dat"
        data = _synthetic_bytes(rng, size, is_py)
        dest = site / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        rows.append(f"{rel},{record_hash(data)},{len(data)}")
        if is_py:
            pyc_rel = f"{pkg}/{depth}__pycache__/mod{i}.{TAG}.pyc"
            dest = root / "pyc" / pyc_rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(b"\xa7\r\r\n" + b"\x00" * 12 + data[: size // 2])
            pyc.append(pyc_rel)
    meta = {
        "METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n\n".encode(),
        "WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    for fname, data in meta.items():
        dest = site / dist_info / fname
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        rows.append(f"{dist_info}/{fname},{record_hash(data)},{len(data)}")
    rows.append(f"{dist_info}/RECORD,,")
    record = "\n".join(rows) + "\n"
    (site / dist_info / "RECORD").write_text(record)
    done.write_text(json.dumps({"dist_info": dist_info, "record": record, "pyc": pyc}))
    return Staged(root, dist_info, record, pyc)


# --- installing into environments ---------------------------------------------------------


def _cp(src: Path, dst: Path, link: bool) -> None:
    """``cp -a`` (or ``cp -al``: hard links) of a directory's contents into ``dst``."""
    if not src.is_dir():
        return
    dst.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al" if link else "-a", f"{src}/.", str(dst)], check=True)


def _write_new(path: Path, data: bytes) -> None:
    """Write a file as a new inode (never through a hard link into the cache)."""
    if path.exists() or path.is_symlink():
        path.unlink()
    path.write_bytes(data)


def install(stage: Staged, base: Path, env: Env, uv_cache: Optional[Path]) -> int:
    """Put one staged wheel into an environment; return the files written or linked."""
    site = base / site_of(env)
    prefix = base / env.prefix
    if env.installer == "uv" and uv_cache is not None:
        cached = uv_cache / stage.root.name
        if not cached.exists():
            _cp(stage.root / "site", cached, link=False)
        _cp(cached, site, link=True)
    else:
        _cp(stage.root / "site", site, link=False)
    _cp(stage.root / "prefix", prefix, link=False)
    record = stage.record
    extra = []
    if env.pyc:
        _cp(stage.root / "pyc", site, link=False)
        extra += [f"{p},," for p in stage.pyc]
    info = site / stage.dist_info
    installer = (env.installer + "\n").encode()
    _write_new(info / "INSTALLER", installer)
    extra.append(f"{stage.dist_info}/INSTALLER,{record_hash(installer)},{len(installer)}")
    if env.installer == "pip":
        _write_new(info / "REQUESTED", b"")
        extra.append(f"{stage.dist_info}/REQUESTED,{record_hash(b'')},0")
    _write_new(info / "RECORD", (record + "".join(r + "\n" for r in extra)).encode())
    return record.count("\n") + len(extra)


def make_env_shell(base: Path, env: Env) -> None:
    """The prefix itself: a real venv, or the marker files of its kind."""
    prefix = base / env.prefix
    if env.venv:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
        if env.installer == "uv":
            cfg = prefix / "pyvenv.cfg"
            cfg.write_text(cfg.read_text() + "uv = 0.9.7\n")
        return
    (base / site_of(env)).mkdir(parents=True, exist_ok=True)
    if env.kind in ("pipx", "uv-tool"):
        (prefix / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.9\n")
    if env.kind == "conda":
        meta = prefix / "conda-meta"
        meta.mkdir(parents=True, exist_ok=True)
        (meta / "history").write_text("==> 2026-03-20 10:01:02 <==\n# cmd: conda create -n ml\n")
        (meta / "python-3.11.9-h955ad1f_0.json").write_text('{"name": "python"}\n')
    if env.kind == "pyenv":
        (prefix / "bin").mkdir(parents=True, exist_ok=True)
        (prefix / "bin" / "python3").write_bytes(b"\x7fELF (bench placeholder, not a program)\n")


def bulk(rng: random.Random, base: Path) -> int:
    """node_modules, git objects, media: the rest of a developer's disk."""
    count = 0
    for project in range(6):
        nm = base / "home" / "dev" / "web" / f"site{project}" / "node_modules"
        for p in range(2_500):
            pkg = nm / f"pkg{p}"
            (pkg / "lib").mkdir(parents=True, exist_ok=True)
            (pkg / "package.json").write_text(json.dumps({"name": f"pkg{p}", "version": "1.0.0"}))
            (pkg / "index.js").write_bytes(b"module.exports = require('./lib/main');\n" * 20)
            (pkg / "lib" / "main.js").write_bytes(
                b"exports.main = function () { return 1; };\n" * 40
            )
            (pkg / "README.md").write_bytes(b"# package\n" * 30)
            count += 4
    for repo in range(3):
        objects = base / "home" / "dev" / "src" / f"repo{repo}" / ".git" / "objects"
        for _ in range(10_000):
            name = f"{rng.getrandbits(160):040x}"
            (objects / name[:2]).mkdir(parents=True, exist_ok=True)
            (objects / name[:2] / name[2:]).write_bytes(b"x\x01" + rng.randbytes(200))
            count += 1
    for i in range(10_000):
        folder = base / "home" / "dev" / ("Pictures", "Videos", "Documents")[i % 3] / str(i // 500)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.jpg").write_bytes(rng.randbytes(64))
        count += 1
    etc = base / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::/home/dev:/bin/bash\n"
    )
    (etc / "hostname").write_text("bench-dev-laptop\n")
    (etc / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    return count + 3


def count_files(base: Path) -> Tuple[int, int]:
    """Files and bytes under ``base`` (hard links counted once for bytes)."""
    files, size, seen = 0, 0, set()
    for dirpath, _dirs, names in os.walk(base):
        for name in names:
            st = os.lstat(f"{dirpath}/{name}")
            files += 1
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                size += st.st_size
    return files, size


def iter_groups(profile: Dict[str, object], env: Env) -> Iterator[str]:
    """The wheels of an environment: pip's (not where uv installed), then the group's."""
    groups = profile["groups"]
    assert isinstance(groups, dict)
    yield from groups["base"] if env.installer != "uv" else ()
    yield from groups[env.group]


def build(base: Path, wheels: Optional[Path], seed: int) -> Dict[str, object]:
    """Write the realistic host under ``base`` (staging beside it); return its summary."""
    profile = load_profile()
    stage_dir = base.parent / (base.name + ".stage")
    stage_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    uv_cache = base / UV_CACHE
    staged: Dict[str, Staged] = {}

    def stage(name: str) -> Staged:
        if name not in staged:
            if wheels is not None:
                staged[name] = stage_real(wheels / name, stage_dir)
            else:
                profs = profile["wheels"]
                assert isinstance(profs, dict)
                staged[name] = stage_synthetic(name, profs[name], stage_dir, seed)
        return staged[name]

    dists = 0
    litellm_envs = 0
    for env in ENVS:
        make_env_shell(base, env)
        names = list(iter_groups(profile, env))
        for name in names:
            install(stage(name), base, env, uv_cache)
            dists += 1
        litellm_envs += any(n.startswith("litellm-") for n in names)
        print(f"  {env.kind:18} {env.prefix}: {len(names)} distributions", file=sys.stderr)
    bulk_files = bulk(rng, base)
    files, size = count_files(base)
    return {
        "size": "realistic" + ("" if wheels is not None else "-synthetic"),
        "seed": seed,
        "source": "real wheels" if wheels is not None else "synthetic (real size profile)",
        "envs": len(ENVS),
        "litellm_envs": litellm_envs,
        "dists": dists,
        "files": files,
        "bytes": size,
        "bulk_files": bulk_files,
        "real_venvs": [e.prefix for e in ENVS if e.venv],
    }
