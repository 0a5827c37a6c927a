"""The scan pipeline: discover -> inventory -> match -> bundle, as one library call."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Tuple

from sitesweep.bundle.writer import BundlePaths, RunInfo, write_bundle
from sitesweep.discovery.model import FsPolicy
from sitesweep.engine import ScanResult, analyze
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.progress import NullProgress, Progress


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan needs to know, built by the CLI (or a test, or the fleet sweep).

    Attributes:
        root: directory standing for the host's ``/``; ``None`` scans the live system.
        output: where the bundle goes; ``None`` writes no bundle.
        signatures: extra pack directories.
        builtin_packs: whether to load the packs shipped with sitesweep.
        fs_policy: which mounted filesystems to enter.
        exclude: host paths not to walk.
        argv: the command line, for the manifest.
        strict: re-raise a failing check instead of recording a gap (tests, development).
    """

    root: Optional[Path] = None
    output: Optional[Path] = None
    signatures: Tuple[Path, ...] = ()
    builtin_packs: bool = True
    fs_policy: FsPolicy = FsPolicy.LOCAL
    exclude: Tuple[str, ...] = ()
    argv: Tuple[str, ...] = ()
    strict: bool = False


@dataclass(frozen=True)
class ScanOutcome:
    """The result of a scan and where its bundle went."""

    result: ScanResult
    bundle: Optional[BundlePaths]


def _exclusions(root: HostRoot, opts: ScanOptions) -> Tuple[str, ...]:
    """Add the output directory to the walk's exclusions when it lies under the scan root."""
    extra = list(opts.exclude)
    if opts.output is not None:
        out = opts.output.resolve()
        with contextlib.suppress(ValueError):  # output outside the root: nothing to exclude
            extra.append(root.host(out))
    return tuple(extra)


def collect_spec(packs: PackSet, root: HostRoot, opts: ScanOptions) -> CollectSpec:
    """What the collector must look out for, derived from the packs."""
    return CollectSpec(
        names=packs.file_names(),
        site_paths=packs.site_paths(),
        exclude=_exclusions(root, opts),
        fs_policy=opts.fs_policy,
    )


def run_scan(opts: ScanOptions, progress: Optional[Progress] = None) -> ScanOutcome:
    """Scan a host (live or under ``opts.root``), analyse it, and write the bundle.

    Raises:
        PackError: a signature pack is invalid (before anything is scanned).
        RootError: the root is not a directory.
        OutputError: the bundle cannot be written.
    """
    progress = progress or NullProgress()
    started = datetime.now(timezone.utc)
    packs = load_packs(opts.signatures, builtin=opts.builtin_packs)
    root = HostRoot(opts.root)
    inventory = collect_inventory(root, collect_spec(packs, root, opts), progress)
    progress.stage("match")
    result = analyze(inventory, packs, strict=opts.strict)
    bundle = None
    if opts.output is not None:
        progress.stage("bundle")
        run = RunInfo(opts.argv, started, datetime.now(timezone.utc))
        bundle = write_bundle(result, root, opts.output, run)
    return ScanOutcome(result, bundle)
