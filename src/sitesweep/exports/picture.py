"""The report page's two pictures: the timeline chart and the tree of what is affected.

Both are plain data computed here and drawn by the template (an inline SVG, nested lists), so the
page stays server-rendered, script-free and readable offline. Nothing is judged: severities are the
findings' (through the timeline rows), the window is the timeline's exposure window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from sitesweep.exports.timeline import ExposureWindow, TimelineEvent
from sitesweep.model import Category, Finding, Severity
from sitesweep.timefmt import iso_utc

if TYPE_CHECKING:
    from sitesweep.outcome import ScanResult

WIDTH = 1000
LEFT = 150
"""Room for the lane names left of the plot."""
RIGHT = 24
LANE_HEIGHT = 34
TOP = 30
AXIS = 40
MAX_MARKS = 400
"""Marks drawn at most (flagged first); the table and timeline.csv hold every row."""

LANES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("install", "Installs", ("distribution",)),
    ("startup", ".pth and hooks", ("pth", "startup-hook")),
    ("persistence", "Persistence", ("persistence",)),
    ("history", "Shell history", ("shell-history", "shell-history-untimed")),
    ("process", "Processes", ("process",)),
    ("file", "Indicator files", ("file",)),
)
"""(id, label, timeline sources) of each lane, top to bottom. Credential rows are left out: a
secret's modification time is not a time of the attack."""
_LANE_OF = {source: lane for lane, _label, sources in LANES for source in sources}

_STEPS = (
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    30 * 86400,
    91 * 86400,
    365 * 86400,
)
"""Tick spacings tried, smallest first (seconds)."""
MAX_TICKS = 7
_FIRST = datetime(1, 1, 2, tzinfo=timezone.utc).timestamp()
_LAST = datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp()
"""Times a chart can draw (a hostile mtime outside years 1 to 9999 is listed in the rows only)."""


@dataclass(frozen=True)
class Mark:
    """One event on the chart."""

    x: float
    y: float
    severity: str
    """The row's severity, or ``none``."""
    title: str
    """The hover text (time and message)."""


@dataclass(frozen=True)
class Lane:
    """One horizontal band of the chart."""

    id: str
    label: str
    y: float
    count: int


@dataclass(frozen=True)
class Tick:
    """A labelled time on the axis."""

    x: float
    label: str


@dataclass(frozen=True)
class Band:
    """A shaded time span (the exposure window, a pack's publication window)."""

    x: float
    width: float
    label: str
    title: str

    @property
    def label_x(self) -> float:
        """Where the label starts: inside a wide band, else beside it (left of it near the end)."""
        if self.width > 150:
            return self.x + 6
        if self.x + self.width > WIDTH - 160:
            return self.x - 6
        return self.x + self.width + 6

    @property
    def label_anchor(self) -> str:
        """``end`` when the label sits left of the band."""
        return "end" if self.width <= 150 and self.x + self.width > WIDTH - 160 else "start"


@dataclass(frozen=True)
class TimelineChart:
    """What the template draws as the SVG timeline."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    axis_y: float
    lanes: Tuple[Lane, ...]
    ticks: Tuple[Tick, ...]
    marks: Tuple[Mark, ...]
    exposure: Optional[Band]
    publication: Tuple[Band, ...]
    start: str
    end: str
    not_drawn: int
    """Events outside the drawn span or beyond :data:`MAX_MARKS`."""


def _flagged(event: TimelineEvent) -> bool:
    return bool(event.severity) and event.severity != Severity.INFO.value


def _span(
    events: Sequence[TimelineEvent], extra: Sequence[Tuple[float, float]]
) -> Optional[Tuple[float, float]]:
    """The time span drawn: around the flagged events (and the windows), else every event."""
    focus = [e.epoch for e in events if _flagged(e)] or [e.epoch for e in events]
    focus += [t for pair in extra for t in pair]
    if not focus:
        return None
    low, high = min(focus), max(focus)
    pad = max((high - low) * 0.06, 1800.0)
    return max(low - pad, _FIRST), min(high + pad, _LAST)


def _tick_label(epoch: float, step: int) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    if step >= 86400:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%m-%d %H:%M")


def _ticks(low: float, high: float, scale: float) -> Tuple[Tick, ...]:
    step = next((s for s in _STEPS if (high - low) / s <= MAX_TICKS), _STEPS[-1])
    first = (int(low) // step + 1) * step
    ticks = (
        Tick(round(LEFT + (t - low) * scale, 1), _tick_label(t, step))
        for t in range(first, int(high) + 1, step)
    )
    return tuple(t for t in ticks if t.x <= WIDTH - RIGHT - 36)  # a label fits under the axis


def _iso(epoch: float) -> str:
    return iso_utc(epoch, "seconds").replace("T", " ").replace("Z", " UTC")


def _epoch(text: str) -> Optional[float]:
    """An ISO time of the timeline, or ``None`` for the text it gives a time out of range."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _window(window: Optional[ExposureWindow]) -> Optional[Tuple[float, float]]:
    if window is None:
        return None
    start, end = _epoch(window.start), _epoch(window.end)
    return (start, end) if start is not None and end is not None else None


def _band(low: float, high: float, span: Tuple[float, float], scale: float) -> Tuple[float, float]:
    start = max(low, span[0])
    end = min(high, span[1])
    x = LEFT + (start - span[0]) * scale
    return x, max((end - start) * scale, 3.0)


def timeline_chart(
    events: Sequence[TimelineEvent],
    window: Optional[ExposureWindow],
    publication: Sequence[Tuple[str, float, float]] = (),
) -> Optional[TimelineChart]:
    """The chart of ``events`` (``None`` when no event belongs on it).

    Args:
        events: the timeline rows, in time order.
        window: the exposure window, shaded.
        publication: (pack id, start, end) of the incident windows of packs with findings.
    """
    laned = [e for e in events if e.source in _LANE_OF and _FIRST <= e.epoch <= _LAST]
    if not laned:
        return None
    windows = [(start, end) for _pack, start, end in publication]
    exposure_span = _window(window)
    if exposure_span is not None:
        windows.append(exposure_span)
    span = _span(laned, windows)
    if span is None:
        return None
    low, high = span
    plot = WIDTH - LEFT - RIGHT
    scale = plot / (high - low)
    rows = {lane: TOP + i * LANE_HEIGHT + LANE_HEIGHT / 2 for i, (lane, _l, _s) in enumerate(LANES)}
    inside = [e for e in laned if low <= e.epoch <= high]
    inside.sort(key=lambda e: (not _flagged(e), e.epoch))
    drawn = inside[:MAX_MARKS]
    marks = tuple(
        Mark(
            round(LEFT + (e.epoch - low) * scale, 1),
            rows[_LANE_OF[e.source]],
            e.severity or "none",
            f"{_iso(e.epoch)}  {e.message}",
        )
        for e in sorted(drawn, key=lambda e: (e.severity != "", e.epoch))  # flagged drawn on top
    )
    counts: Dict[str, int] = {}
    for e in drawn:
        counts[_LANE_OF[e.source]] = counts.get(_LANE_OF[e.source], 0) + 1
    lanes = tuple(Lane(lane, label, rows[lane], counts.get(lane, 0)) for lane, label, _s in LANES)
    exposure = None
    if window is not None and exposure_span is not None:
        x, width = _band(*exposure_span, span, scale)
        exposure = Band(
            round(x, 1),
            round(width, 1),
            "exposure window",
            f"Exposure window: {window.start} to {window.end} ({window.rows} row(s))",
        )
    bands = []
    for pack, start, end in publication:
        if end < low or start > high:
            continue
        x, width = _band(start, end, span, scale)
        title = f"{pack}: bad releases published {_iso(start)} to {_iso(end)}"
        bands.append(Band(round(x, 1), round(width, 1), f"{pack} published", title))
    axis_y = TOP + len(LANES) * LANE_HEIGHT
    return TimelineChart(
        width=WIDTH,
        height=int(axis_y + AXIS),
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        axis_y=axis_y,
        lanes=lanes,
        ticks=_ticks(low, high, scale),
        marks=marks,
        exposure=exposure,
        publication=tuple(bands),
        start=_iso(low),
        end=_iso(high),
        not_drawn=len(laned) - len(drawn),
    )


# -- the tree of what is affected ---------------------------------------------------------------


@dataclass
class FileNode:
    """A file a finding names."""

    path: str
    worst: Severity
    titles: List[str] = field(default_factory=list)


@dataclass
class PackageNode:
    """An installed release with findings."""

    name: str
    version: str
    worst: Severity
    files: Dict[str, FileNode] = field(default_factory=dict)


@dataclass
class EnvNode:
    """An environment with findings above info, or a group of host-wide findings."""

    label: str
    kind: str
    worst: Severity
    packages: Dict[Tuple[str, str], PackageNode] = field(default_factory=dict)
    files: Dict[str, FileNode] = field(default_factory=dict)
    """Files tied to no package of the environment."""


def _worse(a: Severity, b: Severity) -> Severity:
    return a if a.rank >= b.rank else b


def _add_file(files: Dict[str, FileNode], path: str, finding: Finding) -> None:
    node = files.get(path)
    if node is None:
        node = files[path] = FileNode(path, finding.severity)
    node.worst = _worse(node.worst, finding.severity)
    if finding.title not in node.titles:
        node.titles.append(finding.title)


_HOST_GROUPS = {
    Category.PERSISTENCE: "Persistence",
    Category.CREDENTIAL_EXPOSURE: "Secrets the payload reads",
    Category.LOCKFILE: "Projects pinning an affected release",
    Category.PROCESS: "Processes",
    Category.NETWORK: "Processes",
    Category.CACHE: "Package caches",
    Category.CONFIG: "Package index configuration",
    Category.PACKAGE: "Shell history",
    Category.FILE: "Indicator files",
    Category.PTH: "Startup hooks outside environments",
    Category.STARTUP: "Startup hooks outside environments",
    Category.INTEGRITY: "Modified installed files",
}
"""Where findings outside every environment go (a package finding outside an environment is a
shell-history line)."""


_PATH = attrgetter("path")


class _Owners:
    """Which installed release of an environment lists a file in its RECORD.

    Only the paths findings name are looked up, and only in the RECORDs of their site dirs, so
    a large host's millions of RECORD rows are never indexed for a page that names a few files.
    """

    def __init__(self, result: ScanResult) -> None:
        wanted = {p for f in result.findings if f.environment for p in f.paths}
        self._by_path: Dict[str, Tuple[str, str]] = {}
        if not wanted:
            return
        by_site: Dict[str, Set[str]] = {}  # site dir -> the wanted paths below it, relative
        for dist in result.inventory.distributions:
            head = dist.site_dir.rstrip("/") + "/"
            rels = by_site.get(head)
            if rels is None:
                rels = by_site[head] = {p[len(head) :] for p in wanted if p.startswith(head)}
            if not rels:
                continue
            owner = (dist.name, dist.version)
            for rel in rels.intersection(map(_PATH, dist.record)):
                self._by_path[head + rel] = owner
            if dist.path in wanted:
                self._by_path[dist.path] = owner

    def owner(self, path: str) -> Optional[Tuple[str, str]]:
        return self._by_path.get(path)


def _package(env: EnvNode, key: Tuple[str, str], finding: Finding) -> PackageNode:
    pkg = env.packages.get(key)
    if pkg is None:
        pkg = env.packages[key] = PackageNode(key[0], key[1], finding.severity)
    pkg.worst = _worse(pkg.worst, finding.severity)
    return pkg


def _branch(nodes: Dict[str, EnvNode], label: str, kind: str, finding: Finding) -> EnvNode:
    node = nodes.get(label)
    if node is None:
        node = nodes[label] = EnvNode(label, kind, finding.severity)
    node.worst = _worse(node.worst, finding.severity)
    return node


def affected_tree(result: ScanResult) -> List[EnvNode]:
    """Environments (most severe first), then host-wide groups, each with what is affected.

    A file goes under the release whose RECORD lists it (``litellm_init.pth`` under litellm
    1.82.8) or that the finding names; otherwise it hangs from its environment. Info findings
    are left out of the tree (they are listed with the details).
    """
    kinds = {e.prefix: str(e.kind) for e in result.inventory.environments}
    owners = _Owners(result)
    envs: Dict[str, EnvNode] = {}
    groups: Dict[str, EnvNode] = {}
    for f in result.findings:
        if f.severity is Severity.INFO:
            continue
        if f.environment:
            env = _branch(envs, f.environment, kinds.get(f.environment, "environment"), f)
        else:
            env = _branch(groups, _HOST_GROUPS.get(f.category, "Other findings"), "host", f)
        paths: List[str] = [p for p in f.paths if not p.startswith("/proc/")] or list(f.paths)
        if f.environment and f.distribution:
            pkg = _package(env, (f.distribution, f.version or ""), f)
            for path in paths:
                _add_file(pkg.files, path, f)
            continue
        for path in paths or [f.title]:
            owner = owners.owner(path) if f.environment else None
            files = _package(env, owner, f).files if owner is not None else env.files
            _add_file(files, path, f)

    def order(node: EnvNode) -> Tuple[int, str]:
        return (-node.worst.rank, node.label)

    return sorted(envs.values(), key=order) + sorted(groups.values(), key=order)
