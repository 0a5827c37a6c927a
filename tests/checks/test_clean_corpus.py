"""Real packages that do legitimate work at import (plugin loaders, native-code packages, .pth
helpers, editable finders, pywin32, matplotlib, anyio's process and interpreter workers) and
real bundled JavaScript (litellm's web UI, jupyter-builder's yarn.js) raise nothing above low
with no pack loaded.

The files are real, unchanged (``tests/corpus_clean/README.md`` says from which wheels).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builders import FakeRoot
from scanrun import SITE, load, scan
from sitesweep.model import Severity
from waves import base_host

CORPUS = Path(__file__).resolve().parents[1] / "corpus_clean" / "site-packages"


def test_clean_corpus_raises_nothing_above_low(fake_root: FakeRoot, tmp_path: Path) -> None:
    base_host(fake_root)
    shutil.copytree(CORPUS, fake_root.host(SITE), dirs_exist_ok=True)
    code, bundle = scan(fake_root.path, tmp_path / "out", "--no-builtin-packs")
    found = load(bundle, "findings.json")["findings"]
    too_high = [
        (f["severity"], f["rule"], f["title"])
        for f in found
        if Severity(f["severity"]).rank > Severity.LOW.rank
    ]
    assert not too_high
    assert code == 0
    inventory = load(bundle, "inventory.json")
    modules = {m["path"].rsplit("/", 1)[-1]: m for m in inventory["import_modules"]}
    # The checks did look: .pth targets were read, real traits recorded, shapes listed.
    assert modules["_virtualenv.py"]["role"] == "pth-target"
    assert "__editable___demo_three_0_1_finder.py" in modules
    assert any("exec_dynamic" in m["features"] for m in inventory["import_modules"])
    shapes = {s["package"].rsplit("/", 1)[-1]: s for s in inventory["package_shapes"]}
    assert shapes["urllib3"]["pure_release"] is True
    assert shapes["urllib3"]["js_files"]
    assert "setuptools" not in shapes  # its cli*.exe launcher stubs are not native code
    # anyio unpickles what its workers receive: looked at, graded low, not hidden code.
    assert "exec_dynamic" in modules["to_interpreter.py"]["features"]
    assert "decode_exec" not in modules["to_interpreter.py"]["features"]
    # its worker loop runs only under `if __name__ == "__main__"`, not at import
    assert "decode_exec" not in modules.get("to_process.py", {"features": []})["features"]
    # The UI bundles name credentials in texts and reach their server; none reads the host.
    js = {
        j["path"].rsplit("/", 1)[-1]: j["traits"]
        for name in ("litellm", "jupyter_builder")
        for j in shapes[name]["js_files"]
    }
    assert {"names credentials", "sends data out"} <= set(js["d3ac82723ec9e30d.js"])
    assert "sends data out" in js["yarn.js"]  # and process.env, no .env file
    assert not [name for name, traits in js.items() if "reads credentials" in traits]
    pth = [f for f in found if f["rule"] == "heuristic/pth-exec"]
    assert pth
    assert all(f["severity"] == "info" for f in pth)
