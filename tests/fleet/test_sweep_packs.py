"""The sweep loads the local packs once, before any host is contacted."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pytest

from sitesweep.errors import PackError
from sitesweep.fleet.hosts import Host
from sitesweep.fleet.sweep import HostResult, SweepSettings, run_sweep


def _broken_pack(parent: Path) -> None:
    pack = parent / "broken-2026-01"
    (pack / "yara").mkdir(parents=True)
    (pack / "pack.toml").write_text(
        'format = 1\nid = "broken-2026-01"\ntitle = "Broken"\nversion = "1"\n'
        'yara = ["yara/broken.yar"]\n\n[remediation]\ntext = "n/a"\n'
    )
    (pack / "yara" / "broken.yar").write_text("rule broken {\n  condition:\n    true and\n}\n")


def test_invalid_packs_stop_the_sweep_before_any_host(tmp_path: Path) -> None:
    _broken_pack(tmp_path / "packs")
    agent = tmp_path / "agent.pyz"
    agent.write_bytes(b"")
    out = tmp_path / "out"
    settings = SweepSettings(output=out, agent=agent, signatures=(tmp_path / "packs",))
    started: List[str] = []

    def on_event(host: Host, result: Optional[HostResult]) -> None:
        started.append(host.name)

    # A closed loopback port: were the host contacted, it would end as a status, not raise.
    hosts = [Host("web-1", "127.0.0.1", port=1), Host("web-2", "127.0.0.1", port=1)]
    with pytest.raises(PackError) as caught:
        run_sweep(hosts, settings, on_event)
    assert "broken.yar" in str(caught.value)
    assert started == []
    assert list(out.iterdir()) == []  # no host directory, no sweep.json


def test_a_sweep_removes_plaintext_an_earlier_killed_sweep_left_while_encrypting(
    tmp_path: Path,
) -> None:
    agent = tmp_path / "agent.pyz"
    agent.write_bytes(b"")
    out = tmp_path / "out"
    host = out / "web-1"
    host.mkdir(parents=True)
    plain = host / ".sitesweep-web-1-20260101T000000Z.tar.gz.plain"
    partial = host / "sitesweep-web-1-20260101T000000Z.tar.gz.age.partial"
    sealed = host / "sitesweep-web-1-20250101T000000Z.tar.gz.age"
    for path in (plain, partial, sealed):
        path.write_bytes(b"left")
    run_sweep([], SweepSettings(output=out, agent=agent))
    assert not plain.exists()
    assert not partial.exists()
    assert sealed.exists(), "a finished encrypted bundle is kept"
