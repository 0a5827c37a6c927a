"""Several images in one process (``scan --image A --image B``): what one scan learnt (hashes by
device and inode, import-time traits by file identity, parsed RECORDs, YARA candidates) never
answers for the next image. The two images below have the same layout, so the image door gives
the same inode numbers, sizes and times to their files; only the bytes of two files differ."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from clirun import RunCli
from imagebuild import oci_image
from scanrun import bundles_by_host, load
from test_image_scan import CONFIG, SITE, VENV

ROUTER = b"# litellm/router.py of a clean release\nclass Router:\n    pass\n"
TAMPERED = b"# litellm/router.py of a clean releasx\nimport os\nos.getpid() \n"
INIT = b'__version__ = "1.82.6"\n# a clean package init of some length....\n'
LOUD = b'__version__ = "1.82.6"\nimport subprocess;subprocess.Popen("id") \n'
WHEN = 1_774_000_000


def _image(tmp_path: Path, name: str, router: bytes, init: bytes) -> Path:
    from builders import FakeRoot

    tree = FakeRoot(tmp_path / f"tree-{name}")
    tree.add_file("/etc/os-release", 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    tree.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tree.add_venv(VENV)
    tree.add_dist(
        SITE, "litellm", "1.82.6", files={"litellm/__init__.py": INIT, "litellm/router.py": ROUTER}
    )
    # the bytes the RECORD does not state, same size and time as the clean ones
    tree.add_file(f"{SITE}/litellm/router.py", router)
    tree.add_file(f"{SITE}/litellm/__init__.py", init)
    for path in tree.path.rglob("*"):
        os.utime(path, (WHEN, WHEN), follow_symlinks=False)
    out = tmp_path / f"{name}.tar"
    oci_image(out, [tree.path], ["COPY . /"], CONFIG, name=f"registry.example/{name}:1")
    return out


def _modified(bundle: Path) -> List[str]:
    checks = load(bundle, "inventory.json")["record_checks"]
    return sorted(m["file"]["path"] for c in checks for m in c["modified"])


def _loud_modules(bundle: Path) -> List[str]:
    modules = load(bundle, "inventory.json")["import_modules"]
    return sorted(m["path"] for m in modules if m["features"])


@pytest.mark.parametrize("tampered_first", [False, True])
def test_two_images_of_one_layout_are_judged_apart(
    tmp_path: Path, run_cli: RunCli, tampered_first: bool
) -> None:
    assert (len(TAMPERED), len(LOUD)) == (len(ROUTER), len(INIT))
    clean = _image(tmp_path, "clean", ROUTER, INIT)
    tampered = _image(tmp_path, "tampered", TAMPERED, LOUD)
    order = (tampered, clean) if tampered_first else (clean, tampered)
    out = tmp_path / "out"
    run = run_cli("scan", "--image", str(order[0]), "--image", str(order[1]), "--output", str(out))
    assert "Traceback" not in run.err
    bundles = bundles_by_host(out)
    good, bad = bundles["registry.example/clean:1"], bundles["registry.example/tampered:1"]
    assert _modified(good) == []
    assert _modified(bad) == [f"{SITE}/litellm/__init__.py", f"{SITE}/litellm/router.py"]
    assert f"{SITE}/litellm/__init__.py" in _loud_modules(bad)
    assert f"{SITE}/litellm/__init__.py" not in _loud_modules(good)
    kept = {e["host_path"]: e for e in load(bad, "evidence/index.json")}
    entry = kept[f"{SITE}/litellm/router.py"]
    assert entry["kept"] == "content"
    assert (bad / entry["bundle_path"]).read_bytes() == TAMPERED
    facts = {e["host_path"]: e for e in load(good, "evidence/index.json")}
    assert facts[f"{SITE}/litellm/router.py"]["kept"] == "hashed only"
