"""Every subcommand of ``sitesweep``, each behind a loader that imports its module when it runs.

One function per command, so the table stays explicit and type-checked; ``cli.lazy.LazyGroup``
calls a loader the first time its command is looked up (``--help`` looks them all up).
"""

from __future__ import annotations

from typing import Dict

import click

from sitesweep.cli.lazy import Loader


def _scan() -> click.Command:
    from sitesweep.cli.scan import scan

    return scan


def _signatures() -> click.Command:
    from sitesweep.cli.signatures import signatures

    return signatures


def _collect() -> click.Command:
    from sitesweep.cli.collect import collect

    return collect


def _analyze() -> click.Command:
    from sitesweep.cli.collect import analyze

    return analyze


def _verify() -> click.Command:
    from sitesweep.cli.verify import verify

    return verify


def _build_agent() -> click.Command:
    from sitesweep.cli.agent import build_agent

    return build_agent


def _sweep() -> click.Command:
    from sitesweep.cli.sweep import sweep

    return sweep


def _report() -> click.Command:
    from sitesweep.cli.report import report

    return report


def _self_check() -> click.Command:
    from sitesweep.cli.selfcheck import self_check

    return self_check


COMMANDS: Dict[str, Loader] = {
    "scan": _scan,
    "signatures": _signatures,
    "collect": _collect,
    "analyze": _analyze,
    "verify": _verify,
    "build-agent": _build_agent,
    "sweep": _sweep,
    "report": _report,
    "self-check": _self_check,
}
"""Command name -> loader; the names are the ones each command module gives its command."""
