"""Only METADATA's headers are parsed; the long description in the body cannot change them."""

from __future__ import annotations

from sitesweep.metadata.distinfo import _parse_metadata


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
