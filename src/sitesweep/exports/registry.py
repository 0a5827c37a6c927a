"""The output formats of ``--format``: one registry, one signature for every renderer.

A renderer takes a :class:`~sitesweep.outcome.ResultView` (result, outcome decided once, bundle
location) and yields its text in pieces. ``scan``, ``analyze`` and ``report`` look formats up
here; an exporter adds one with :func:`register`::

    @register("sarif")
    def sarif(view: ResultView) -> Iterable[str]: ...

Built here: ``csv`` (the findings CSV), ``jsonl`` (one ECS document per finding) and ``sarif``
(SARIF 2.1.0). ``text``
and ``json`` are the CLI's own (terminal and outcome document) and are not registered here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, Optional, Tuple

from sitesweep.outcome import ResultView

Renderer = Callable[[ResultView], Iterable[str]]

FORMATS: Tuple[str, ...] = ("text", "json", "jsonl", "csv", "sarif")
"""Every name ``--format`` accepts; one not registered (yet) is refused with a message."""

_RENDERERS: Dict[str, Renderer] = {}


def register(name: str) -> Callable[[Renderer], Renderer]:
    """Register ``name``'s renderer (a decorator)."""

    def add(func: Renderer) -> Renderer:
        _RENDERERS[name] = func
        return func

    return add


def renderer(name: str) -> Optional[Renderer]:
    """The renderer of format ``name``, or ``None`` when no module provides it."""
    return _RENDERERS.get(name)


@register("csv")
def _csv(view: ResultView) -> Iterable[str]:
    from sitesweep.exports.csvout import findings_csv

    yield findings_csv(view.result)


@register("jsonl")
def _jsonl(view: ResultView) -> Iterable[str]:
    from sitesweep.exports.ecs import findings_jsonl

    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    yield findings_jsonl(view.result, now)


@register("sarif")
def _sarif(view: ResultView) -> Iterable[str]:
    from sitesweep.exports.sarif import render_sarif

    yield render_sarif(view.result, view.outcome)
