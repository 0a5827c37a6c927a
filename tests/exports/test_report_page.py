"""report.html: rendered by headless Chromium, verdict and paths shown, hostile names stay text."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import pytest

from builders import FakeRoot
from clirun import RunCli
from evidence_host import (
    IMG_PTH,
    INSTALLED_ISO,
    SCRIPT_NAME,
    SITE,
    VENV,
    build_infected,
    build_wide,
    scan_bundle,
)

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
    assert "COMPROMISED: " in text
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
    assert "COMPROMISED" not in page
    assert INSTALLED_ISO in page, "the timeline is built from observations alone"
    assert not (bundle / "findings.jsonl").exists()
    assert (bundle / "sbom.cdx.json").is_file()


class _Element:
    """One element of a parsed DOM: tag, attributes, children, its own and its subtree's text."""

    def __init__(self, tag: str, attrs: Dict[str, Optional[str]]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: List[_Element] = []
        self.content: List[Union[str, _Element]] = []
        """Text and child elements in document order."""

    @property
    def classes(self) -> List[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def find_all(self, tag: str, cls: str = "") -> List[_Element]:
        found = []
        for child in self.children:
            if child.tag == tag and (not cls or cls in child.classes):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def by_id(self, ident: str) -> Optional[_Element]:
        if self.attrs.get("id") == ident:
            return self
        return next((e for c in self.children if (e := c.by_id(ident)) is not None), None)


_VOID = {"meta", "input", "br", "link", "img", "hr", "wbr"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        element = _Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        self.stack[-1].content.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def _rendered(tmp_path: Path, page: Path) -> _Element:
    parser = _Tree()
    parser.feed(_chromium(tmp_path, page, "--dump-dom"))
    return parser.root


@pytest.fixture
def wide_report(fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli) -> Path:
    build_wide(fake_root)
    return scan_bundle(fake_root, tmp_path / "out", run_cli) / "report.html"


def _only(items: List[_Element], what: str) -> _Element:
    assert len(items) == 1, (what, [i.text()[:80] for i in items])
    return items[0]


@needs_chromium
def test_timeline_chart_and_affected_tree_in_the_rendered_dom(
    wide_report: Path, tmp_path: Path
) -> None:
    dom = _rendered(tmp_path, wide_report)
    chart = dom.by_id("timeline-chart")
    assert chart is not None
    assert chart.tag == "svg"
    marks = chart.find_all("circle", "mark")
    assert len(marks) >= 6
    assert {"sev-critical", "sev-none"} <= {c for m in marks for c in m.classes}
    assert all(m.find_all("title") for m in marks), "each mark says what it is on hover"
    titles = " ".join(m.text() for m in marks)
    assert "litellm 1.82.8 installed" in titles
    assert "litellm_init.pth" in titles
    band = chart.by_id("exposure-band")
    assert band is not None
    assert f"Exposure window: {INSTALLED_ISO} to " in band.text()
    lanes = [t.text() for t in chart.find_all("text", "lane-label")]
    assert lanes[:4] == ["Installs", ".pth and hooks", "Persistence", "Shell history"]

    tree = dom.by_id("affected-tree")
    assert tree is not None
    host = _only(tree.find_all("li", "node-host"), "host")
    assert "fixture-host" in host.text()
    env = _only(
        [e for e in host.find_all("li", "node-env") if VENV in e.find_all("summary")[0].text()],
        "environment",
    )
    pkg = _only(
        [
            p
            for p in env.find_all("li", "node-pkg")
            if p.find_all("summary")[0].text().split()[-2:] == ["litellm", "1.82.8"]
        ],
        "package",
    )
    files = [f.text() for f in pkg.find_all("li", "file")]
    assert any("litellm-1.82.8.dist-info" in f for f in files)
    env_files = " ".join(f.text() for f in env.find_all("li", "file"))
    assert "litellm_init.pth" in env_files
    groups = {g.find_all("summary")[0].text() for g in host.find_all("li", "node-env")}
    assert any("Persistence" in g for g in groups)
    assert any("Projects pinning an affected release" in g for g in groups)


@needs_chromium
def test_scanned_verdict_and_filters_come_first_and_work_without_script(
    wide_report: Path, tmp_path: Path
) -> None:
    dom = _rendered(tmp_path, wide_report)
    body = dom.find_all("body")[0]
    assert not dom.find_all("script")
    toggles = [c for c in body.children if c.tag == "input"]
    assert [t.attrs["id"] for t in toggles] == [
        "show-critical",
        "show-high",
        "show-medium",
        "show-low",
        "show-info",
    ]
    assert "checked" not in toggles[-1].attrs, "info is hidden until asked for"
    assert all("checked" in t.attrs for t in toggles[:-1])
    assert body.children[len(toggles)].tag == "main", "the toggles precede what they filter"
    labels = dom.by_id("filters")
    assert labels is not None
    assert {lab.attrs["for"] for lab in labels.find_all("label")} == {
        t.attrs["id"] for t in toggles
    }
    page = wide_report.read_text(encoding="utf-8")
    assert "#show-info:not(:checked) ~ main .f-info { display: none; }" in page
    info = [a for a in dom.find_all("article", "finding") if "f-info" in a.classes]
    assert info, "info findings carry their filter class"
    order = [s.attrs.get("id") for s in dom.find_all("section")]
    assert order[:3] == ["picture", "affected", "todo"]
    scanned = dom.by_id("scanned")
    assert scanned is not None
    text = scanned.text()
    assert "fixture-host" in text
    assert "Ubuntu 22.04" in text
    assert "offline tree" in text
    header = dom.find_all("header")[0].text()
    assert header.index("fixture-host") < header.index("COMPROMISED: ")
    for width in (1280, 390):
        shot = tmp_path / f"report-{width}.png"
        _chromium(tmp_path, wide_report, f"--screenshot={shot}", f"--window-size={width},2400")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000
