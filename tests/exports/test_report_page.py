"""report.html: rendered by headless Chromium, verdict and paths shown, hostile names stay text."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import IMG_PTH, INSTALLED_ISO, SCRIPT_NAME, SITE, build_infected, scan_bundle

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="chromium not installed (.ci/run installs it)"
)


class _Dom(HTMLParser):
    """Collects the elements and the text of a serialised DOM."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: List[Tuple[str, Dict[str, Optional[str]]]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _chromium(tmp_path: Path, page: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    run = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.fixture
def report(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> Path:
    build_infected(fake_root)
    bundle = scan_bundle(fake_root, tmp_path / "out", run_cli, "--case-id", "IR-42")
    return bundle / "report.html"


@needs_chromium
def test_report_renders_verdict_and_finding_path(report: Path, tmp_path: Path) -> None:
    dom = _Dom()
    dom.feed(_chromium(tmp_path, report, "--dump-dom"))
    text = "".join(dom.text)
    assert "INDICATORS OF COMPROMISE FOUND" in text
    assert f"{SITE}/litellm_init.pth" in text
    assert "Exposure window" in text
    assert INSTALLED_ISO in text
    assert "IR-42" in text
    assert "Credential rotation checklist" in text or "What to do now" in text
    shot = tmp_path / "report.png"
    _chromium(tmp_path, report, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


@needs_chromium
def test_hostile_names_render_as_text(report: Path, tmp_path: Path) -> None:
    dom = _Dom()
    dom.feed(_chromium(tmp_path, report, "--dump-dom"))
    tags = [tag for tag, _ in dom.tags]
    assert "script" not in tags
    assert "img" not in tags
    assert not [attrs for _, attrs in dom.tags if any(k.startswith("on") for k in attrs)]
    text = "".join(dom.text)
    assert f"{SITE}/{IMG_PTH}" in text
    assert SCRIPT_NAME in text


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    for needle in ('http-equiv="Content-Security-Policy"', "@media print", "max-width: 640px"):
        assert needle in page
    for external in ('src="http', 'href="http', "@import", "url("):
        assert external not in page


def test_collect_bundle_report_says_observations_only(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    build_infected(fake_root)
    out = tmp_path / "c"
    assert run_cli("collect", "--root", str(fake_root.path), "--output", str(out)).code == 0
    bundle = next(p for p in out.iterdir() if p.is_dir())
    page = (bundle / "report.html").read_text(encoding="utf-8")
    assert "Observations only" in page
    assert "INDICATORS OF COMPROMISE" not in page
    assert INSTALLED_ISO in page, "the timeline is built from observations alone"
    assert not (bundle / "findings.jsonl").exists()
    assert (bundle / "sbom.cdx.json").is_file()
