"""The scan pipeline: discover -> inventory -> match -> bundle, as one library call."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Tuple

from sitesweep.bundle.layout import MANIFEST
from sitesweep.bundle.reader import open_bundle, read_inventory
from sitesweep.bundle.writer import BundlePaths, RunInfo, write_analysis, write_bundle
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


def run_collect(opts: ScanOptions, progress: Optional[Progress] = None) -> ScanOutcome:
    """Collect observations only and write them as a bundle (no matching on the host).

    The packs are still loaded, to know which file names and paths to hash and copy.
    """
    progress = progress or NullProgress()
    started = datetime.now(timezone.utc)
    packs = load_packs(opts.signatures, builtin=opts.builtin_packs)
    root = HostRoot(opts.root)
    inventory = collect_inventory(root, collect_spec(packs, root, opts), progress)
    result = ScanResult(inventory, packs, (), inventory.gaps, ())
    bundle = None
    if opts.output is not None:
        progress.stage("bundle")
        run = RunInfo(opts.argv, started, datetime.now(timezone.utc), mode="collect")
        bundle = write_bundle(result, root, opts.output, run)
    return ScanOutcome(result, bundle)


@dataclass(frozen=True)
class AnalyzeOutcome:
    """The result of analysing a bundle and where the analysis was written."""

    result: ScanResult
    written: Optional[Path]


def run_analyze(
    bundle: Path,
    signatures: Tuple[Path, ...] = (),
    builtin_packs: bool = True,
    output: Optional[Path] = None,
    argv: Tuple[str, ...] = (),
) -> AnalyzeOutcome:
    """Match the current packs against a bundle's observations, without touching any host.

    Raises:
        BundleError: the bundle is malformed or unsafe.
        PackError: a signature pack is invalid.
    """
    started = datetime.now(timezone.utc)
    packs = load_packs(signatures, builtin=builtin_packs)
    with open_bundle(bundle) as directory:
        inventory = read_inventory(directory)
        manifest_sha = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
        result = analyze(inventory, packs)
    written = None
    if output is not None:
        run = RunInfo(argv, started, datetime.now(timezone.utc), mode="analyze")
        written = write_analysis(result, bundle, manifest_sha, output, run)
    return AnalyzeOutcome(result, written)


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
