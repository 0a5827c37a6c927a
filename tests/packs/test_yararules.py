"""YARA rule files in packs: validated at load, compiled once per pack set, matched on bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import pytest

from sitesweep.errors import PackError
from sitesweep.packs import load_pack, load_packs
from sitesweep.packs.yararules import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    StringHit,
    YaraLimits,
    compile_packs,
    rule_file_problems,
)

GOOD_RULE = """\
rule demo_marker
{
    meta:
        id = "demo/marker"
        severity = "medium"
        description = "demo marker string"
        reference = "https://example.org/demo"
    strings:
        $s1 = "DEMO-MARKER"
    condition:
        $s1
}
"""


def write_pack(directory: Path, rules: Dict[str, str], pack_id: str = "demo-2026-01") -> Path:
    """Write a minimal valid pack with the given YARA files (name -> text); returns its dir."""
    pack = directory / pack_id
    (pack / "yara").mkdir(parents=True)
    listed = ", ".join(f'"yara/{name}"' for name in rules)
    (pack / "pack.toml").write_text(
        f'format = 1\nid = "{pack_id}"\ntitle = "Demo"\nversion = "1"\nyara = [{listed}]\n\n'
        '[[affected]]\nname = "demo-lib"\nspecifiers = ["==9.9.9"]\nseverity = "high"\n'
        'note = "demo"\n\n[remediation]\ntext = "Remove it."\n'
    )
    for name, text in rules.items():
        (pack / "yara" / name).write_text(text)
    return pack


def problems_text(exc: pytest.ExceptionInfo[PackError]) -> Sequence[str]:
    return [str(p) for p in exc.value.problems]


def test_valid_rules_load_and_compile_once_per_pack_set(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, {"a.yar": GOOD_RULE})
    packs = load_packs([pack], builtin=False)
    assert packs.yara is not None
    assert packs.yara.packs == ("demo-2026-01",)
    assert packs.yara.count == 1
    hits = packs.yara.match(b"xx DEMO-MARKER yy DEMO-MARKER")
    assert [(h.pack, h.rule) for h in hits] == [("demo-2026-01", "demo_marker")]
    assert hits[0].strings == (StringHit("$s1", 3), StringHit("$s1", 18))
    assert hits[0].meta_text("severity") == "medium"
    assert packs.yara.match(b"nothing here") == ()


def test_syntax_error_names_the_rule_file_and_line(tmp_path: Path) -> None:
    broken = GOOD_RULE.replace("$s1\n}", "$s1 and\n}")
    pack = write_pack(tmp_path, {"broken.yar": broken})
    with pytest.raises(PackError) as exc:
        load_pack(pack)
    (problem,) = exc.value.problems
    assert problem.file == str(pack / "yara" / "broken.yar")
    assert problem.field == "yara[0]"
    assert "line 12" in problem.problem  # the closing brace after the dangling "and"
    assert "syntax error" in problem.problem


def test_undefined_identifier_is_a_problem(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, {"x.yar": "rule r { condition: nosuchthing }\n"})
    with pytest.raises(PackError) as exc:
        load_packs([pack], builtin=False)
    assert any("x.yar" in t and "line 1" in t for t in problems_text(exc))


def test_bad_severity_meta_and_empty_file_are_problems(tmp_path: Path) -> None:
    bad = GOOD_RULE.replace('severity = "medium"', 'severity = "urgent"')
    pack = write_pack(tmp_path, {"bad.yar": bad, "empty.yar": "// nothing\n"})
    with pytest.raises(PackError) as exc:
        load_pack(pack)
    texts = problems_text(exc)
    assert any("bad.yar" in t and "'urgent'" in t for t in texts)
    assert any("empty.yar" in t and "defines no YARA rule" in t for t in texts)


def test_includes_are_refused(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, {"inc.yar": 'include "/etc/passwd"\n' + GOOD_RULE})
    with pytest.raises(PackError) as exc:
        load_pack(pack)
    assert any("includes are disabled" in t for t in problems_text(exc))


def test_duplicate_rule_across_files_of_one_pack_names_second_file(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, {"one.yar": GOOD_RULE, "two.yar": "\n\n" + GOOD_RULE})
    with pytest.raises(PackError) as exc:
        load_packs([pack], builtin=False)
    (problem,) = exc.value.problems
    assert problem.file.endswith("two.yar")
    assert "line 3" in problem.problem
    assert "duplicated identifier" in problem.problem


def test_two_packs_may_share_rule_names(tmp_path: Path) -> None:
    first = write_pack(tmp_path, {"a.yar": GOOD_RULE}, "demo-2026-01")
    second = write_pack(tmp_path, {"a.yar": GOOD_RULE}, "other-2026-02")
    packs = load_packs([first, second], builtin=False)
    assert packs.yara is not None
    hits = packs.yara.match(b"DEMO-MARKER")
    assert [h.pack for h in hits] == ["demo-2026-01", "other-2026-02"]


def test_no_rules_no_compiled_set(tmp_path: Path) -> None:
    assert compile_packs([("empty-pack", [])]) is None


def test_rule_file_problems_reports_unreadable_file(tmp_path: Path) -> None:
    assert rule_file_problems(tmp_path / "missing.yar")[0].startswith("cannot read")


def test_defaults_are_sane() -> None:
    assert YaraLimits() == YaraLimits(DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT)
    assert DEFAULT_MAX_SIZE == 32 << 20
    assert DEFAULT_TIMEOUT == 10
