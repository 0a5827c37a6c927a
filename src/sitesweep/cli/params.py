"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import click

from sitesweep.discovery.model import FsPolicy
from sitesweep.model import Severity

F = TypeVar("F", bound=Callable[..., object])


def scan_target_options(func: F) -> F:
    """``--root``, ``--output``, ``--filesystems``, ``--exclude``: what to scan, where to write."""
    for option in reversed(
        (
            click.option(
                "--root",
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="Scan this directory as the host's / (a mounted image or container fs).",
            ),
            click.option(
                "--output",
                type=click.Path(file_okay=False, path_type=Path),
                default=Path(),
                show_default="current directory",
                help="Directory that receives the bundle and its .tar.gz.",
            ),
            click.option(
                "--filesystems",
                type=click.Choice([p.value for p in FsPolicy]),
                default=FsPolicy.LOCAL.value,
                show_default=True,
                help="Mounted filesystems to enter: local disks (live) or all under --root; "
                "one; all.",
            ),
            click.option("--exclude", multiple=True, help="Host path not to walk (repeatable)."),
        )
    ):
        func = option(func)
    return func


def signatures_option(func: F) -> F:
    """``--signatures DIR`` (repeatable): extra packs beside the built-in ones."""
    return click.option(
        "--signatures",
        "signatures",
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Extra signature pack directory (repeatable), loaded beside the built-in packs.",
    )(func)


def fail_on_option(func: F) -> F:
    """``--fail-on SEVERITY``: the threshold for exit code 1."""
    return click.option(
        "--fail-on",
        type=click.Choice([s.value for s in Severity]),
        default=Severity.HIGH.value,
        show_default=True,
        help="Exit 1 when a finding is at or above this severity.",
    )(func)
