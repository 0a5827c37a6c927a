"""Bounded reads take the whole file: one call for a file as large as fstat says, and files of
/proc (size 0, short reads before their end) are read to their real end."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import GapReason


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, (1 << 20) + 7])
def test_whole_file_read_at_every_size(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (tmp_path / "f").write_bytes(data)
    root = HostRoot(tmp_path)
    assert root.read_bytes("/f", size) == data
    assert root.read_bytes("/f", 8 << 20) == data
    if size:
        with pytest.raises(HostReadError) as caught:
            root.read_bytes("/f", size - 1)
        assert caught.value.reason is GapReason.TOO_LARGE


def test_proc_file_of_size_zero_is_read_to_its_end() -> None:
    proc = Path("/proc/self/maps")
    if not proc.exists() or proc.stat().st_size != 0:
        pytest.skip("needs a Linux /proc whose files report size 0")
    text = HostRoot(None).read_text(str(proc), 64 << 20)
    # Every mapping line ends in a newline, the last one included: nothing was cut short.
    assert text.endswith("\n")
    assert len(text) > 4096  # more than one page: procfs hands it out page by page
    assert "[stack]" in text


@pytest.mark.parametrize("size", [0, 1, 4096, (1 << 20) - 1, 1 << 20, (3 << 20) + 5])
def test_digest_covers_the_whole_file(tmp_path: Path, size: int) -> None:
    data = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    (tmp_path / "f").write_bytes(data)
    digest = HostRoot(tmp_path).digest("/f", 8 << 20)
    assert (digest.sha256, digest.size) == (hashlib.sha256(data).hexdigest(), size)
