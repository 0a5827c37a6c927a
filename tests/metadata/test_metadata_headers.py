"""Only METADATA's headers are parsed; the long description in the body cannot change them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sitesweep.metadata.distinfo import _HEADER_END, _header_end, _parse_metadata


def test_body_lines_that_look_like_headers_are_ignored() -> None:
    body = "Name: evil\nVersion: 6.6.6\n" * 10_000
    text = f"Metadata-Version: 2.1\nName: good\nVersion: 1.0\n\n{body}"
    assert _parse_metadata(text, "good-1.0.dist-info") == ("good", "1.0", [])


def test_crlf_metadata_and_undecodable_body_byte() -> None:
    text = "Metadata-Version: 2.1\r\nName: crlf\r\nVersion: 2.0\r\n\r\nbody \udcff here\r\n"
    name, version, problems = _parse_metadata(text, "crlf-2.0.dist-info")
    assert (name, version) == ("crlf", "2.0")
    assert problems == ["metadata is not valid UTF-8; undecodable bytes replaced"]


def test_headers_without_body() -> None:
    text = "Metadata-Version: 2.1\nName: bare\nVersion: 0.1"
    assert _parse_metadata(text, "bare-0.1.dist-info") == ("bare", "0.1", [])


@given(st.text(alphabet="ab:\r\n", max_size=40))
def test_the_header_end_is_where_the_expression_finds_it(text: str) -> None:
    """Headers end at the first empty line, however the newlines mix ``\\r\\n`` and ``\\n``."""
    found = _HEADER_END.search(text)
    assert _header_end(text) == (found.start() if found else -1)


def test_an_ascii_text_and_a_mixed_one_say_the_same() -> None:
    """Non-ASCII text without undecodable bytes is no problem; one undecodable byte is."""
    text = "Metadata-Version: 2.1\nName: caf\u00e9\nVersion: 1.0\n\nd\u00e9j\u00e0 vu\n"
    assert _parse_metadata(text, "cafe-1.0.dist-info") == ("caf\u00e9", "1.0", [])
    problems = _parse_metadata(text + "\udcff", "cafe-1.0.dist-info")[2]
    assert problems == ["metadata is not valid UTF-8; undecodable bytes replaced"]
