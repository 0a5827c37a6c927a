"""Names hidden by constant expressions are worked out and graded as the call itself; process
spawns through multiprocessing count as spawns. Nothing here is executed."""

from __future__ import annotations

import base64

import pytest

from sitesweep.checks.pth_grader import Feature, grade_pth_lines, grade_python_source
from sitesweep.model import Severity

_CANARY = "import pathlib; pathlib.Path('/nonexistent/MARKER_EXECUTED').touch()"
_B64 = base64.b64encode(_CANARY.encode()).decode()

HIDDEN_EXEC = [
    (
        "concat",
        f"import builtins, base64; getattr(builtins, 'ex' + 'ec')(base64.b64decode('{_B64}'))",
    ),
    (
        "reversed-join",
        f"import builtins; getattr(builtins, ''.join(reversed('cexe')))({_CANARY!r})",
    ),
    ("slice-reverse", f"import builtins; getattr(builtins, 'cexe'[::-1])({_CANARY!r})"),
    (
        "bytes-list",
        f"import builtins; getattr(builtins, bytes([101, 120, 101, 99]).decode())({_CANARY!r})",
    ),
    (
        "chr-sum",
        "import builtins; getattr(builtins, chr(100 + 1) + chr(120) + chr(0x65) + chr(99))"
        f"({_CANARY!r})",
    ),
    (
        "b64-name",
        "import builtins, base64; getattr(builtins, base64.b64decode('ZXhlYw==').decode())"
        f"({_CANARY!r})",
    ),
    ("dict-lookup", f"import builtins; builtins.__dict__['ev' + 'al']({_CANARY!r})"),
    ("bound-name", f"import builtins; n = 'ex' + 'ec'; f = getattr(builtins, n); f({_CANARY!r})"),
    ("import-pieces", "__import__('o' + 's').system('true')"),
    ("map-chr", "import builtins; getattr(builtins, ''.join(map(chr, [101, 118, 97, 108])))('1')"),
    ("exec-of-built-code", "exec(bytes([112, 114, 105, 110, 116, 40, 49, 41]).decode())"),
    ("rot13", "import codecs, builtins; getattr(builtins, codecs.decode('rkrp', 'rot13'))('1')"),
]


@pytest.mark.parametrize("line", [c[1] for c in HIDDEN_EXEC], ids=[c[0] for c in HIDDEN_EXEC])
def test_hidden_exec_in_a_pth_is_high(line: str) -> None:
    grade = grade_pth_lines([(1, line)])
    assert grade.severity is Severity.HIGH, grade.reasons
    assert {Feature.OBFUSCATED_NAME, Feature.DECODE_EXEC, Feature.SPAWN_PROCESS} & set(
        grade.features
    )


def test_the_resolved_call_is_graded_as_itself() -> None:
    grade = grade_pth_lines(
        [
            (
                1,
                "import builtins, base64; "
                "getattr(builtins, 'ex'+'ec')(base64.b64decode('cHJpbnQoMSk='))",
            )
        ]
    )
    assert Feature.DECODE_EXEC in grade.features
    assert any("name 'exec' built from pieces" in r for r in grade.reasons)
    spawn = grade_pth_lines([(1, "import os; getattr(os, 'sys' + 'tem')('id')")])
    assert Feature.SPAWN_PROCESS in spawn.features


BENIGN_PIECES = [
    ("attr-path", "import os; getattr(os, 'pa' + 'th')"),
    ("sys-path-join", "import sys, os; sys.path.append(os.sep.join(['', 'opt', 'x']))"),
    ("reversed-list", "import sys; sys.x = ''.join(reversed('abc'))"),
]


@pytest.mark.parametrize("line", [c[1] for c in BENIGN_PIECES], ids=[c[0] for c in BENIGN_PIECES])
def test_innocent_pieces_stay_low(line: str) -> None:
    grade = grade_pth_lines([(1, line)])
    assert grade.severity.rank <= Severity.LOW.rank, grade.reasons


MULTIPROCESSING = [
    ("process", "import multiprocessing as m; m.Process(target=print).start()"),
    (
        "from-import",
        "from multiprocessing import Process; Process(target=print, daemon=True).start()",
    ),
    (
        "context",
        "import multiprocessing as mp; mp.get_context('spawn').Process(target=print).start()",
    ),
    ("pool", "import multiprocessing; multiprocessing.Pool(1).apply_async(print)"),
    ("executor", "from concurrent.futures import ProcessPoolExecutor as P; P(1).submit(print)"),
]


@pytest.mark.parametrize(
    "line", [c[1] for c in MULTIPROCESSING], ids=[c[0] for c in MULTIPROCESSING]
)
def test_multiprocessing_spawns_in_a_pth_are_high(line: str) -> None:
    grade = grade_pth_lines([(1, line)])
    assert grade.severity is Severity.HIGH, grade.reasons
    assert Feature.SPAWN_PROCESS in grade.features


def test_multiprocessing_constants_alone_stay_quiet() -> None:
    grade = grade_python_source("import multiprocessing\nCPUS = multiprocessing.cpu_count()\n")
    assert Feature.SPAWN_PROCESS not in grade.features


def test_folding_is_bounded() -> None:
    deep = "'a'" + " + 'a'" * 3000
    grade = grade_pth_lines([(1, f"import builtins; getattr(builtins, {deep})")])
    assert grade.severity.rank <= Severity.MEDIUM.rank
    huge = "import builtins; getattr(builtins, 'x' * 10**9)"
    assert grade_pth_lines([(1, huge)]).severity.rank <= Severity.MEDIUM.rank
