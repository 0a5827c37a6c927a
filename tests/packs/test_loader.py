"""Tests for signature pack loading and validation (``sitesweep.packs``)."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from sitesweep.errors import PackError, PackProblem
from sitesweep.model import Severity
from sitesweep.packs import DIRECTORY_FIELD, builtin_signatures_dir, load_packs
from sitesweep.packs.loader import FILE_FIELD, PACK_FILE, SYNTAX_FIELD, load_pack, pack_digest
from sitesweep.packs.model import Pack

LITELLM = "litellm-2026-03"
EXAMPLE = "example-2026-01"
REPO_SIGNATURES = Path(__file__).resolve().parents[2] / "signatures"

VALID = """\
format = 1
id = "example-2026-01"
title = "Example incident"
version = "1"
references = ["https://example.org/advisory"]
credentials = ["~/.aws/credentials", "OPENAI_API_KEY"]
yara = []

[window]
start = 2026-03-24T10:39:24Z
end = 2026-03-24T18:00:00+02:00

[[affected]]
name = "Example_Lib"
specifiers = ["==1.0.1", ">=2.0,<2.2"]
severity = "critical"
note = "Malicious releases."

[[files]]
id = "evil-pth"
name = "evil.pth"
site_path = "evil.pth"
sha256 = ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
severity = "critical"
description = "Malicious .pth file."
name_is_indicator = true

[[artifacts]]
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
filename = "example_lib-1.0.1-py3-none-any.whl"
description = "Malicious wheel."

[network]
domains = ["Evil.Example"]
ips = ["192.0.2.1"]
urls = ["https://evil.example/raw"]

[[persistence]]
id = "evil-service"
path = "~/.config/systemd/user/evil.service"
description = "User unit."
severity = "high"

[remediation]
text = "Remove it."
playbook = "playbooks/example.md"
"""

SECOND_FILE = """
[[files]]
id = "evil-pth"
name = "evil2.pth"
sha256 = ["cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]
severity = "high"
description = "Second file, same id."
"""


def write_pack(parent: Path, text: str, pack_id: str = EXAMPLE) -> Path:
    """Write ``text`` as ``<parent>/<pack_id>/pack.toml`` and return the pack directory."""
    directory = parent / pack_id
    directory.mkdir(parents=True)
    (directory / PACK_FILE).write_text(text, encoding="utf-8")
    return directory


def edited(*replacements: Tuple[str, str]) -> str:
    """Return ``VALID`` with each ``(old, new)`` replaced once; ``old`` must occur."""
    text = VALID
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def load_problems(directory: Path) -> Tuple[PackProblem, ...]:
    """Load a pack that must be invalid and return its problems."""
    with pytest.raises(PackError) as excinfo:
        load_pack(directory)
    return excinfo.value.problems


def pack_file(directory: Path) -> str:
    """Return the file name problems about ``directory``'s pack carry."""
    return str(directory / PACK_FILE)


# --- the built-in litellm pack -------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm() -> Pack:
    """The built-in litellm pack, loaded the way a scan loads it."""
    pack = load_packs().get(LITELLM)
    assert pack is not None
    return pack


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.82.7", True),
        ("1.82.8", True),
        ("1.82.6", False),
        ("1.83.0", False),
        ("1.82.80", False),
        ("not a version", None),
    ],
)
def test_litellm_affected_versions(litellm: Pack, version: str, expected: Optional[bool]) -> None:
    assert [a.name for a in litellm.affected] == ["litellm"]
    assert litellm.affected[0].matches(version) is expected


def test_litellm_file_indicators(litellm: Pack) -> None:
    files = {f.id: f for f in litellm.files}
    pth = files["litellm-init-pth"]
    assert pth.site_path == "litellm_init.pth"
    assert pth.name_is_indicator
    assert pth.severity is Severity.CRITICAL
    assert pth.sha256 == {"71e35aef03099cd1f2d6446734273025a163597de93912df321ef118bf135238"}
    proxy = files["proxy-server-py"]
    assert proxy.site_path == "litellm/proxy/proxy_server.py"
    assert not proxy.name_is_indicator
    assert proxy.sha256 == {"a0d229be8efcb2f9135e2ad55ba275b76ddcfeb55fa4370e0a522a5bdee0120b"}
    sysmon = files["sysmon-py"]
    assert (sysmon.name, sysmon.name_is_indicator) == ("sysmon.py", False)
    assert sysmon.sha256 == {"6cf223aea68b0e8031ff68251e30b6017a0513fe152e235c26f248ba1e15c92a"}


def test_litellm_other_indicators(litellm: Pack) -> None:
    assert litellm.window_start == datetime(2026, 3, 24, 10, 39, 24, tzinfo=timezone.utc)
    assert litellm.window_end == datetime(2026, 3, 24, 16, 0, tzinfo=timezone.utc)
    assert {a.filename for a in litellm.artifacts} == {
        "litellm-1.82.7-py3-none-any.whl",
        "litellm-1.82.8-py3-none-any.whl",
        "litellm-1.82.7.tar.gz",
        "litellm-1.82.8.tar.gz",
    }
    assert {"models.litellm.cloud", "checkmarx.zone"} <= set(litellm.network.domains)
    assert {p.path for p in litellm.persistence} == {
        "~/.config/sysmon/sysmon.py",
        "~/.config/systemd/user/sysmon.service",
        "/tmp/pglog",
        "/tmp/.pg_state",
    }
    assert {"~/.ssh/id_rsa", "~/.aws/credentials", ".env", "OPENAI_API_KEY"} <= set(
        litellm.credentials
    )
    assert litellm.playbook == "playbooks/litellm-2026-03.md"
    assert litellm.yara_files == (
        "yara/litellm_pth_loader.yar",
        "yara/litellm_payload_strings.yar",
        "yara/sysmon_persistence.yar",
    )


def test_litellm_pack_names_its_advisories(litellm: Pack) -> None:
    assert set(litellm.advisories) >= {"MAL-2026-2144", "PYSEC-2026-2", "GHSA-92x9-889m-jgmw"}


def test_litellm_pack_records_source_and_hash(litellm: Pack) -> None:
    directory = builtin_signatures_dir()
    assert directory is not None
    assert Path(litellm.source) == directory / LITELLM
    raw = (directory / LITELLM / PACK_FILE).read_bytes()
    assert litellm.sha256 == pack_digest(raw, directory / LITELLM, litellm.yara_files)
    assert litellm.sha256 != hashlib.sha256(raw).hexdigest()  # the rules are pinned too


def test_pack_hash_changes_when_a_yara_rule_changes(tmp_path: Path) -> None:
    directory = builtin_signatures_dir()
    assert directory is not None
    copy = tmp_path / LITELLM
    shutil.copytree(directory / LITELLM, copy)
    before = load_pack(copy)
    rule = copy / before.yara_files[0]
    rule.write_text(rule.read_text() + "\n// edited\n")
    after = load_pack(copy)
    assert before.yara_files
    assert after.sha256 != before.sha256


# --- a valid pack --------------------------------------------------------------------------------


def test_valid_pack_is_loaded_and_normalised(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path, VALID))
    assert pack.id == EXAMPLE
    assert pack.affected[0].name == "example-lib"
    assert pack.affected[0].matches("2.1.5") is True
    assert pack.affected[0].matches("2.2") is False
    assert pack.files[0].sha256 == {"a" * 64}
    assert pack.window_end == datetime(2026, 3, 24, 16, 0, tzinfo=timezone.utc)
    assert pack.network.domains == ("evil.example",)
    assert pack.source == str(tmp_path / EXAMPLE)


def test_optional_sections_may_be_left_out(tmp_path: Path) -> None:
    text = """\
format = 1
id = "example-2026-01"
title = "Minimal"
version = "1"

[[affected]]
name = "example"
specifiers = ["==1.0"]
severity = "high"
note = "Bad."

[remediation]
text = "Remove it."
"""
    pack = load_pack(write_pack(tmp_path, text))
    assert (pack.window_start, pack.window_end, pack.playbook) == (None, None, None)
    assert (pack.files, pack.persistence, pack.credentials, pack.yara_files) == ((), (), (), ())
    assert pack.network.domains == ()


def test_readme_example_is_a_valid_pack(tmp_path: Path) -> None:
    readme = (REPO_SIGNATURES / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    assert len(blocks) == 1
    pack = load_pack(write_pack(tmp_path, blocks[0], "example-2026-01"))
    assert pack.affected[0].matches("2.4.0rc2") is True
    assert len(pack.files) == 2


# --- one problem at a time -----------------------------------------------------------------------


# (test id, text to replace in VALID, replacement, expected field, fragment of the message)
SINGLE_PROBLEMS: List[Tuple[str, str, str, str, str]] = [
    ("missing-title", 'title = "Example incident"\n', "", "title", "required"),
    ("bad-specifier", '">=2.0,<2.2"', '"=>2.0"', "affected[0].specifiers[1]", "PEP 440"),
    ("empty-specifier", '">=2.0,<2.2"', '","', "affected[0].specifiers[1]", "every version"),
    ("no-specifiers", '["==1.0.1", ">=2.0,<2.2"]', "[]", "affected[0].specifiers", "empty"),
    ("bad-sha256", 'sha256 = ["AAAA', 'sha256 = ["GAAA', "files[0].sha256[0]", "SHA-256"),
    ("short-sha256", 'sha256 = "bbbb', 'sha256 = "bbb', "artifacts[0].sha256", "SHA-256"),
    ("id-mismatch", 'id = "example-2026-01"', 'id = "other-2026-01"', "id", "directory name"),
    ("format-2", "format = 1", "format = 2", "format", "unsupported format 2"),
    ("format-string", "format = 1", 'format = "1"', "format", "integer"),
    ("unknown-field", "format = 1\n", "format = 1\ncolour = 'red'\n", "colour", "unknown field"),
    ("version-integer", 'version = "1"', "version = 1", "version", "string"),
    ("bad-severity", '"high"', '"severe"', "persistence[0].severity", "not a severity"),
    ("bad-dist-name", '"Example_Lib"', '"-bad-"', "affected[0].name", "distribution name"),
    ("naive-datetime", "10:39:24Z", "10:39:24", "window.start", "UTC offset"),
    ("date-only", "2026-03-24T10:39:24Z", "2026-03-24", "window.start", "date-time"),
    ("start-after-end", "start = 2026-03-24T", "start = 2026-03-25T", "window", "after end"),
    ("no-window-end", "end = 2026-03-24T18:00:00+02:00\n", "", "window.end", "required"),
    ("site-path-dotdot", 'site_path = "', 'site_path = "../', "files[0].site_path", "'..'"),
    ("site-path-absolute", 'site_path = "', 'site_path = "/', "files[0].site_path", "relative"),
    ("site-path-backslash", 'site_path = "', 'site_path = "a\\\\', "files[0].site_path", "POSIX"),
    ("name-with-slash", 'name = "evil.pth"', 'name = "d/evil.pth"', "files[0].name", "file name"),
    ("no-name-or-path", 'name = "evil.pth"\nsite_path = "evil.pth"\n', "", "files[0]", "name,"),
    ("by-name-without-name", 'name = "evil.pth"\n', "", "files[0].name_is_indicator", "no name"),
    ("bool-as-string", "= true", '= "yes"', "files[0].name_is_indicator", "true or false"),
    ("bad-ip", '"192.0.2.1"', '"192.0.2.300"', "network.ips[0]", "IP address"),
    ("bad-domain", '"Evil.Example"', '"https://evil.example"', "network.domains[0]", "domain"),
    ("bad-url", '"https://evil.example/raw"', '"evil.example/raw"', "network.urls[0]", "URL"),
    ("reference-not-http", '"https://example.org/', '"ftp://example.org/', "references[0]", "http"),
    ("persistence-relative", 'path = "~/', 'path = "', "persistence[0].path", "'~/'"),
    ("playbook-absolute", '"playbooks/', '"/playbooks/', "remediation.playbook", "relative"),
    ("blank-text", '"Remove it."', '"  "', "remediation.text", "empty string"),
    ("bad-indicator-id", '"evil-service"', '"Evil Service"', "persistence[0].id", "valid id"),
    ("id-reused", 'id = "evil-service"', 'id = "evil-pth"', "persistence[0].id", "duplicate"),
    ("yara-missing", "yara = []", 'yara = ["missing.yar"]', "yara[0]", "not a file"),
    ("yara-outside", "yara = []", 'yara = ["../other/rules.yar"]', "yara[0]", "'..'"),
    ("yara-absolute", "yara = []", 'yara = ["/etc/rules.yar"]', "yara[0]", "relative"),
    ("yara-not-array", "yara = []", 'yara = "rules.yar"', "yara", "array"),
    (
        "advisory-not-an-id",
        "yara = []",
        'yara = []\nadvisories = ["https://osv.dev/vulnerability/MAL-2026-2144"]',
        "advisories[0]",
        "advisory id",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in SINGLE_PROBLEMS],
)
def test_single_problem_names_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, fragment: str
) -> None:
    directory = write_pack(tmp_path, edited((old, new)))
    problems = load_problems(directory)
    assert [(p.file, p.field) for p in problems] == [(pack_file(directory), field)]
    assert fragment in problems[0].problem


def test_misspelt_field_is_unknown_and_the_real_one_missing(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, edited(("note = ", "notes = ")))
    problems = load_problems(directory)
    assert [(p.field, p.problem.split(" (")[0]) for p in problems] == [
        ("affected[0].notes", "unknown field"),
        ("affected[0].note", "required field is missing"),
    ]


def test_file_indicator_that_can_never_match_is_refused(tmp_path: Path) -> None:
    text = edited(("name_is_indicator = true", ""), ('sha256 = ["AAAA', '# sha256 = ["AAAA'))
    directory = write_pack(tmp_path, text)
    problems = load_problems(directory)
    assert [(p.file, p.field) for p in problems] == [(pack_file(directory), "files[0]")]
    assert "can never match" in problems[0].problem


def test_missing_remediation_table_is_reported(tmp_path: Path) -> None:
    text = edited(('[remediation]\ntext = "Remove it."\nplaybook = "playbooks/example.md"\n', ""))
    directory = write_pack(tmp_path, text)
    problems = load_problems(directory)
    assert problems == (
        PackProblem(pack_file(directory), "remediation", "required field is missing"),
    )


def test_duplicate_file_ids_are_reported(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, VALID + SECOND_FILE)
    problems = load_problems(directory)
    assert [(p.file, p.field) for p in problems] == [(pack_file(directory), "files[1].id")]
    assert "first used at files[0].id" in problems[0].problem


def test_yara_file_inside_pack_is_accepted(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, edited(("yara = []", 'yara = ["rules/./evil.yar"]')))
    (directory / "rules").mkdir()
    (directory / "rules" / "evil.yar").write_text("rule evil { condition: false }\n")
    assert load_pack(directory).yara_files == ("rules/evil.yar",)


def test_yara_symlink_leaving_the_pack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yar"
    outside.write_text("rule evil { condition: false }\n")
    directory = write_pack(tmp_path, edited(("yara = []", 'yara = ["evil.yar"]')))
    (directory / "evil.yar").symlink_to(outside)
    problems = load_problems(directory)
    assert [(p.field, "outside the pack" in p.problem) for p in problems] == [("yara[0]", True)]


# --- several problems, syntax errors, unreadable packs -------------------------------------------


def test_all_problems_of_a_pack_are_reported_together(tmp_path: Path) -> None:
    text = edited(
        ('title = "Example incident"\n', ""),
        ('">=2.0,<2.2"', '"=>2.0"'),
        ('sha256 = ["AAAA', 'sha256 = ["ZAAA'),
        ('severity = "high"', 'severity = "urgent"'),
        ('ips = ["192.0.2.1"]', 'ips = ["localhost"]'),
    )
    directory = write_pack(tmp_path, text, pack_id="wrong-name")
    problems = load_problems(directory)
    assert {p.file for p in problems} == {pack_file(directory)}
    assert [p.field for p in problems] == [
        "id",
        "title",
        "affected[0].specifiers[1]",
        "files[0].sha256[0]",
        "network.ips[0]",
        "persistence[0].severity",
    ]


def test_toml_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, 'format = 1\nid = "example-2026-01"\ntitle = \n')
    problems = load_problems(directory)
    assert [(p.file, p.field) for p in problems] == [(pack_file(directory), SYNTAX_FIELD)]
    assert "line 3" in problems[0].problem


def test_missing_pack_file_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / EXAMPLE
    directory.mkdir()
    problems = load_problems(directory)
    assert [(p.file, p.field) for p in problems] == [(pack_file(directory), FILE_FIELD)]


def test_non_utf8_pack_is_reported(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, "")
    (directory / PACK_FILE).write_bytes(b'title = "caf\xe9"\n')
    problems = load_problems(directory)
    assert [(p.field, "UTF-8" in p.problem) for p in problems] == [(FILE_FIELD, True)]


def test_pack_error_message_lists_every_problem(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, edited(("format = 1\n", ""), ('version = "1"\n', "")))
    with pytest.raises(PackError, match=r"2 problem\(s\)") as excinfo:
        load_pack(directory)
    assert f"{pack_file(directory)}: format: required field is missing" in str(excinfo.value)
    assert f"{pack_file(directory)}: version: required field is missing" in str(excinfo.value)


# --- load_packs ----------------------------------------------------------------------------------


def test_builtin_signatures_dir_holds_the_litellm_pack() -> None:
    directory = builtin_signatures_dir()
    assert directory is not None
    assert (directory / LITELLM / PACK_FILE).is_file()


def test_extra_dirs_accept_a_pack_dir_and_a_dir_of_packs(tmp_path: Path) -> None:
    write_pack(tmp_path / "many", VALID.replace(EXAMPLE, "zeta-2026-02"), "zeta-2026-02")
    write_pack(tmp_path / "many", VALID)
    single = write_pack(tmp_path / "one", VALID.replace(EXAMPLE, "alpha-2025-01"), "alpha-2025-01")
    packset = load_packs([tmp_path / "many", single], builtin=False)
    assert [p.id for p in packset.packs] == ["alpha-2025-01", EXAMPLE, "zeta-2026-02"]


def test_builtin_and_extra_packs_are_sorted_by_id(tmp_path: Path) -> None:
    write_pack(tmp_path, VALID)
    ids = [p.id for p in load_packs([tmp_path]).packs]
    assert ids == sorted(ids)
    assert {LITELLM, EXAMPLE} <= set(ids)


def test_the_same_directory_twice_is_loaded_once(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, VALID)
    packset = load_packs([directory, tmp_path], builtin=False)
    assert [p.id for p in packset.packs] == [EXAMPLE]


def test_duplicate_pack_ids_across_directories_are_refused(tmp_path: Path) -> None:
    first = write_pack(tmp_path / "a", VALID)
    second = write_pack(tmp_path / "b", VALID)
    with pytest.raises(PackError) as excinfo:
        load_packs([tmp_path / "a", tmp_path / "b"], builtin=False)
    problems = excinfo.value.problems
    assert [(p.file, p.field) for p in problems] == [(pack_file(second), "id")]
    assert str(first) in problems[0].problem


def test_problems_of_every_pack_are_collected(tmp_path: Path) -> None:
    bad_one = write_pack(tmp_path, edited(("format = 1\n", "")))
    other = VALID.replace(EXAMPLE, "other-2026-02").replace('version = "1"\n', "")
    bad_two = write_pack(tmp_path, other, "other-2026-02")
    with pytest.raises(PackError) as excinfo:
        load_packs([tmp_path], builtin=False)
    found: List[Tuple[str, str]] = [(p.file, p.field) for p in excinfo.value.problems]
    assert found == [(pack_file(bad_one), "format"), (pack_file(bad_two), "version")]


def test_directory_without_packs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "not-a-pack").mkdir()
    missing = tmp_path / "missing"
    with pytest.raises(PackError) as excinfo:
        load_packs([tmp_path, missing], builtin=False)
    problems = excinfo.value.problems
    assert [(p.file, p.field) for p in problems] == [
        (str(tmp_path), DIRECTORY_FIELD),
        (str(missing), DIRECTORY_FIELD),
    ]
    assert problems[1].problem == "no such directory"
