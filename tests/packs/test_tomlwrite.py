"""The TOML writer's output reads back with tomllib to the same values (``packs.tomlwrite``)."""

from __future__ import annotations

import sys

from sitesweep.packs.tomlwrite import TomlWriter, toml_string

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    import tomli as tomllib

EVERY_CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f"


def test_strings_round_trip() -> None:
    values = ['a "b" \\c', EVERY_CONTROL, "é ü 中 \U0001f600", "'''", '"""', "# not a comment"]
    doc = TomlWriter()
    for index, value in enumerate(values):
        doc.value(f"k{index}", value)
    assert tomllib.loads(doc.text()) == {f"k{i}": v for i, v in enumerate(values)}


def test_lone_surrogate_is_replaced() -> None:
    text = "a\ud800b"
    assert tomllib.loads("k = " + toml_string(text)) == {"k": "a\ufffdb"}


def test_document_with_comments_tables_and_arrays() -> None:
    doc = TomlWriter()
    doc.comment("first line\nsecond line with \x00 and \r carriage")
    doc.value("format", 1)
    doc.value("flag", True)
    doc.value("one", ["x"])
    doc.value("many", ["x", 'y"', "z\n"])
    doc.value("with space", "quoted key")
    doc.blank()
    doc.table("network")
    doc.value("domains", [])
    doc.array_table("affected")
    doc.value("name", "a")
    doc.array_table("affected")
    doc.value("name", "b")
    assert tomllib.loads(doc.text()) == {
        "format": 1,
        "flag": True,
        "one": ["x"],
        "many": ["x", 'y"', "z\n"],
        "with space": "quoted key",
        "network": {"domains": []},
        "affected": [{"name": "a"}, {"name": "b"}],
    }
    assert doc.text().startswith("# first line\n# second line with")
