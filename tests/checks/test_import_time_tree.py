"""The syntax-tree plumbing of the import-time reader: its own walk lists what ``ast.walk`` lists,
in the same order, and pruning keeps what it kept when it walked the tree several times."""

from __future__ import annotations

import ast
import base64
import os
import shutil
import sys
import zlib
from hashlib import sha256
from pathlib import Path
from typing import List

import pytest

from builders import FakeRoot
from scanrun import SITE, VENV
from sitesweep.checks.importtime_ast import module_traits, prune
from sitesweep.checks.pth_ast import child_nodes, walk, walk_with_parents
from sitesweep.checks.pth_findings import Feature
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.importtime import collect_import_time
from sitesweep.model import Severity
from sitesweep.pipeline import ScanOptions, run_collect
from waves import base_host, canary_code, findings

CORPUS = Path(__file__).resolve().parent.parent / "corpus_clean"

EVERY_SHAPE = '''\
"""Module docstring."""
from __future__ import annotations
import os.path as osp, sys
from . import sibling
from ..up import (a as b, c)
global_name: int = 1  # type: ignore[misc]
x = y = [i async for i in aiter()] if False else {k: v for k, v in {}.items() if k}
z = f"{x!r:>{width}} {y=}" + b"raw" + rb"\\x00"
del x[0], y.attr
@decorator(arg, key=1)
class Klass(Base, metaclass=Meta):
    attr: "str" = "value"
    def method(self, a, /, b=1, *args, c, d=2, **kw) -> None:  # type: (...) -> None
        nonlocal_free = lambda q=1, *r, **s: (q, r, s)
        def inner():
            nonlocal nonlocal_free
            global global_name
            yield from range(3)
        return inner
async def coroutine(session):
    async with session as s, open("f") as g:
        async for item in s:
            await item
    try:
        raise ValueError("x") from None
    except* (ValueError, TypeError) as group:
        pass
    finally:
        assert s, "message"
for i, (j, *k) in enumerate([]):
    while (n := len(k)) > 0:
        break
    else:
        continue
match command:
    case [1, 2, *rest] if rest:
        pass
    case {"key": value, **others}:
        pass
    case Point(x=0, y=_) | Point(1, 2) as point:
        pass
    case None | True | -1 | 1 + 2j | "s":
        pass
with a as (b, c):
    print(*args, sep="", **kw)
if __name__ == "__main__":
    main()
'''


def _sources() -> List[str]:
    return [EVERY_SHAPE, *(p.read_text("utf-8", "replace") for p in sorted(CORPUS.rglob("*.py")))]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* and match need Python 3.11")
def test_walk_lists_what_ast_walk_lists_in_the_same_order() -> None:
    checked = 0
    for text in _sources():
        try:
            tree = ast.parse(text, type_comments=True)
        except SyntaxError:
            continue
        expected = list(ast.walk(tree))
        assert walk(tree) == expected
        walked = walk_with_parents(tree, len(expected))
        assert walked is not None
        assert walked[0] == expected
        parents = {id(c): node for node in expected for c in ast.iter_child_nodes(node)}
        assert walked[1] == parents
        assert walk_with_parents(tree, len(expected) - 1) is None  # one node too many
        for node in expected:
            assert child_nodes(node) == list(ast.iter_child_nodes(node))
        checked += 1
    assert checked > 40  # the corpus's real files were walked, not only the sample


def _payload_module(rename_runs: bool) -> bytes:
    payload = base64.b64encode(zlib.compress(b"print('stage two')")).decode()
    return (
        "import base64, zlib\n"
        "def rename():\n    global __name__\n    __name__ = '__main__'\n"
        + ("rename()\n" if rename_runs else "")
        + "if __name__ == '__main__':\n"
        f"    exec(zlib.decompress(base64.b64decode({payload!r})))\n"
    ).encode()


def test_a_rename_nothing_runs_keeps_the_guard_one_that_runs_lifts_it() -> None:
    # The __main__ guard hides its body unless the module renames itself at import: a rename in
    # a function nothing calls is pruned with that function's body, so the guard still holds.
    quiet = module_traits(_payload_module(rename_runs=False), "renamer", True)
    loud = module_traits(_payload_module(rename_runs=True), "renamer", True)
    assert str(Feature.DECODE_EXEC) not in quiet.features
    assert str(Feature.DECODE_EXEC) in loud.features


def test_prune_cuts_unreached_functions_and_guards_only() -> None:
    source = (
        "import threading\n"
        "def started():\n    print('runs')\n"
        "def never():\n    print('never')\n"
        "class Holder:\n    def method(self):\n        print('method')\n"
        "threading.Thread(target=started).start()\n"
        "if __name__ == '__main__':\n    never()\nelse:\n    print('imported')\n"
    )
    tree, nodes = prune(ast.parse(source))
    bodies = {
        node.name: [type(s).__name__ for s in node.body]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    assert bodies == {"started": ["Expr"], "never": ["Pass"], "method": ["Pass"]}
    guard = tree.body[-1]
    assert isinstance(guard, ast.If)
    assert [type(s).__name__ for s in guard.body] == ["Pass"]
    assert [type(s).__name__ for s in guard.orelse] == ["Expr"]
    called = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert called == {"print"}  # started's print and the else branch's, not never()


def test_a_hard_linked_module_is_read_once_and_reported_everywhere(
    fake_root: FakeRoot, tmp_path: Path
) -> None:
    """The same decode-and-exec package in three environments (installed, hard-linked, copied):
    the hard link's bytes are not read again, and every environment still gets its finding with
    the same digest and size."""
    payload = base64.b64encode(zlib.compress(canary_code(fake_root).encode())).decode()
    init = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{payload}')))\n".encode()
    base_host(fake_root)
    fake_root.add_dist(SITE, "colorlogx", "0.3.0", {"colorlogx/__init__.py": init})
    module = f"{SITE}/colorlogx/__init__.py"
    for name, link in (("linked", True), ("copied", False)):
        other = SITE.replace("/.venv/", f"/{name}/")
        fake_root.add_venv(VENV.replace("/.venv", f"/{name}"))
        fake_root.add_dist(other, "colorlogx", "0.3.0", {"colorlogx/__init__.py": b""})
        target = fake_root.host(module.replace(SITE, other))
        target.unlink()
        if link:
            os.link(fake_root.host(module), target)
        else:
            shutil.copyfile(fake_root.host(module), target)
    inv = run_collect(ScanOptions(root=fake_root.path)).result.inventory
    sites = sorted({s for env in inv.environments for s in env.site_dirs})
    result = collect_import_time(HostRoot(fake_root.path), sites, inv.distributions, inv.pth_files)
    seen = {(str(m.site_dir), m.sha256, m.size) for m in result.modules if m.features}
    assert len(seen) == 3
    assert {(digest, size) for _, digest, size in seen} == {(sha256(init).hexdigest(), len(init))}
    assert result.modules_reused == 1  # the hard link; the copy is read (its inode differs)
    found = findings(fake_root, tmp_path / "out")
    flagged = {
        str(p).split("/colorlogx")[0]
        for f in found
        if f["rule"] == "heuristic/import-time-code"
        and Severity(str(f["severity"])).at_least(Severity.HIGH)
        for p in f["paths"]  # type: ignore[attr-defined]
    }
    assert len(flagged) == 3, found
    assert not fake_root.marker.exists()
