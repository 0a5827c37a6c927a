"""The scan pipeline: discover -> inventory -> match -> bundle, as one library call."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Dict, FrozenSet, Optional, Tuple

from sitesweep.bundle.custody import NO_CUSTODY, Custody
from sitesweep.bundle.layout import MANIFEST
from sitesweep.checks.integrity import record_targets
from sitesweep.content import EvidenceContent, HostContent
from sitesweep.discovery.model import FsPolicy
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.engine import analyze
from sitesweep.host.live_identity import read_live_host
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, collect_inventory
from sitesweep.model import Severity
from sitesweep.outcome import ScanResult
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits
from sitesweep.progress import NullProgress, Progress

if TYPE_CHECKING:
    from sitesweep.bundle.writer import BundlePaths, RunInfo
    from sitesweep.intel.index import IndexSource
    from sitesweep.intel.model import IndexWitness

# The bundle writer (jinja2 for the HTML report, the exports), the bundle reader (tarfile) and age
# are imported inside the functions that write, read or encrypt a bundle: a scan that writes no
# bundle (a library caller's, the benchmark's) does not pay for importing them.


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
        reduced: (area, why) pairs for checks that ran in reduced form (the fleet agent),
            stated in the bundle manifest.
        verify_record: verify every distribution's RECORD (the packs' targets always are).
        yara_limits: size cap and per-file timeout of YARA matching.
        case_id, examiner, note: chain of custody, recorded in the manifest and the report.
        encrypt_to: age public keys; the archive is encrypted to them and no plaintext is kept.
        prune: directories the walk does not enter, by name or ``parent/name``.
        kubernetes: list the cluster's pods with the local kubectl (live scans only).
        image: a container image (OCI layout directory or ``docker save`` tarball) scanned
            instead of a directory, read where it lies (never extracted).
        evidence: ``policy`` (content where it matters, facts elsewhere) or ``full``.
    """

    root: Optional[Path] = None
    output: Optional[Path] = None
    signatures: Tuple[Path, ...] = ()
    builtin_packs: bool = True
    fs_policy: FsPolicy = FsPolicy.LOCAL
    exclude: Tuple[str, ...] = ()
    argv: Tuple[str, ...] = ()
    strict: bool = False
    reduced: Tuple[Tuple[str, str], ...] = ()
    verify_record: bool = False
    yara_limits: YaraLimits = field(default_factory=YaraLimits)
    case_id: Optional[str] = None
    examiner: Optional[str] = None
    note: Optional[str] = None
    encrypt_to: Tuple[str, ...] = ()
    prune: FrozenSet[str] = DEFAULT_PRUNE
    kubernetes: bool = False
    threshold: Severity = Severity.HIGH
    """The ``--fail-on`` severity: the bundle's verdict is told at it, as the terminal's is."""
    image: Optional[Path] = None
    evidence: str = "policy"


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
        persistence_paths=frozenset(i.path for p in packs.packs for i in p.persistence),
        credentials=frozenset(c for p in packs.packs for c in p.credentials),
        verify_record=opts.verify_record,
        verify_targets=record_targets(packs),
        prune=opts.prune,
        kubernetes=opts.kubernetes,
    )


def _run_info(opts: ScanOptions, root: HostRoot, started: datetime, mode: str) -> RunInfo:
    """The manifest's facts about this run (live scans also record boot time and addresses)."""
    from sitesweep.bundle.writer import RunInfo

    return RunInfo(
        opts.argv,
        started,
        datetime.now(timezone.utc),
        mode=mode,
        reduced=opts.reduced,
        custody=Custody(opts.case_id, opts.examiner, opts.note),
        live_host=read_live_host() if root.is_live else None,
        encrypt_to=opts.encrypt_to,
        threshold=opts.threshold,
        evidence=opts.evidence,
    )


def _image_docs(root: HostRoot, result: ScanResult) -> Dict[str, str]:
    """``image.json`` for an image scan (the image's config, layers, and who wrote which file)."""
    from sitesweep.door.oci import ImageDoor

    if not isinstance(root.door, ImageDoor):
        from sitesweep.door.disk import DiskDoor

        if not isinstance(root.door, DiskDoor):
            return {}
        from sitesweep.bundle.serialize import dumps
        from sitesweep.diskscan import IMAGE_DOC, disk_doc

        return {IMAGE_DOC: dumps(disk_doc(root.door))}
    from sitesweep.bundle.serialize import dumps
    from sitesweep.imagescan import IMAGE_DOC, image_doc

    return {IMAGE_DOC: dumps(image_doc(result, root.door))}


def _check_encryption(opts: ScanOptions) -> None:
    """Fail before scanning when encryption is asked for and cannot be done."""
    if opts.encrypt_to:
        from sitesweep.bundle.age import parse_recipients

        parse_recipients(opts.encrypt_to)


def run_collect(opts: ScanOptions, progress: Optional[Progress] = None) -> ScanOutcome:
    """Collect observations only and write them as a bundle (no matching on the host).

    The packs are still loaded, to know which file names and paths to hash and copy.
    """
    return _run(opts, progress, match=False)


@dataclass(frozen=True)
class AnalyzeOutcome:
    """The result of analysing a bundle and where the analysis was written."""

    result: ScanResult
    written: Optional[Path]
    index: Optional[IndexWitness] = None
    how: str = "analysed"
    """How the result was reached: analysed here, or (``host_findings``) the host's findings
    merged with this machine's own checks (:mod:`sitesweep.merge`), or why they were not."""


def run_analyze(
    bundle: Path,
    signatures: Tuple[Path, ...] = (),
    builtin_packs: bool = True,
    output: Optional[Path] = None,
    argv: Tuple[str, ...] = (),
    identity: Optional[Path] = None,
    custody: Custody = NO_CUSTODY,
    packs: Optional[PackSet] = None,
    index: Optional[IndexSource] = None,
    index_workers: int = 4,
    threshold: Severity = Severity.HIGH,
    host_findings: bool = False,
) -> AnalyzeOutcome:
    """Match the current packs against a bundle's observations, without touching any host.

    ``host_findings``: a bundle matched on its host with these very packs (the fleet agent's)
    keeps its findings, and only the checks the host could not run are run here (YARA, the
    index): :func:`sitesweep.merge.judge`. Other bundles are analysed in full.

    ``identity`` is an age identity file that opens an encrypted bundle (``.tar.gz.age``).
    ``packs`` are packs loaded already (a caller analysing many bundles loads them once);
    otherwise they are loaded from ``signatures`` and ``builtin_packs``. ``index`` is a package
    index (or a snapshot of one) to ask about every installed release, from this machine only;
    nothing is asked without it. Its requests and answers are written into the analysis.

    Raises:
        BundleError: the bundle is malformed or unsafe, or cannot be decrypted.
        PackError: a signature pack is invalid.
    """
    from sitesweep.bundle.reader import open_bundle, read_inventory, read_manifest, reduced_checks

    started = datetime.now(timezone.utc)
    packs = load_packs(signatures, builtin=builtin_packs) if packs is None else packs
    with open_bundle(bundle, identity) as directory:
        inventory = read_inventory(directory)
        manifest_sha = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
        content = EvidenceContent.from_bundle(directory)
        witness = None
        if index is not None:
            from sitesweep.intel.witness import ask_index

            witness = ask_index(inventory.distributions, index, index_workers)
        manifest = read_manifest(directory)
        how = "analysed"
        if host_findings:
            from sitesweep.merge import judge

            judged = judge(directory, manifest, inventory, packs, content, witness)
            result, how = judged.result, judged.how
        else:
            result = analyze(inventory, packs, content=content, index=witness)
        result = replace(result, reduced=reduced_checks(manifest))
    written = None
    if output is not None:
        from sitesweep.bundle.writer import RunInfo, write_analysis

        run = RunInfo(
            argv,
            started,
            datetime.now(timezone.utc),
            mode="analyze",
            custody=custody,
            threshold=threshold,
        )
        from sitesweep.intel.report import INDEX_WITNESS, witness_json

        extra = {} if witness is None else {INDEX_WITNESS: witness_json(witness)}
        written = write_analysis(result, bundle, manifest_sha, output, run, extra)
    return AnalyzeOutcome(result, written, witness, how)


def run_scan(opts: ScanOptions, progress: Optional[Progress] = None) -> ScanOutcome:
    """Scan a host (live or under ``opts.root``), analyse it, and write the bundle.

    Raises:
        PackError: a signature pack is invalid (before anything is scanned).
        RootError: the root is not a directory.
        OutputError: the bundle cannot be written.
    """
    return _run(opts, progress, match=True)


def _run(opts: ScanOptions, progress: Optional[Progress], match: bool) -> ScanOutcome:
    """Collect, then (``match``) analyse on the spot, then write the bundle if asked."""
    progress = progress or NullProgress()
    started = datetime.now(timezone.utc)
    _check_encryption(opts)
    packs = load_packs(opts.signatures, builtin=opts.builtin_packs)
    root = HostRoot.image(opts.image) if opts.image is not None else HostRoot(opts.root)
    inventory = collect_inventory(root, collect_spec(packs, root, opts), progress)
    if match:
        progress.stage("match")
        result = analyze(
            inventory,
            packs,
            strict=opts.strict,
            content=HostContent(root),
            yara_limits=opts.yara_limits,
        )
        result = replace(result, reduced=opts.reduced)
    else:
        result = ScanResult.observations(inventory, packs, opts.reduced)
    if opts.image is not None:
        from sitesweep.door.oci import ImageDoor
        from sitesweep.imagescan import name_layers

        if isinstance(root.door, ImageDoor):
            result = name_layers(result, root.door)
        result = replace(result, gaps=(*result.gaps, *getattr(root.door, "gaps", ())))
    bundle = None
    if opts.output is not None:
        from sitesweep.bundle.writer import write_bundle

        progress.stage("bundle")
        run = _run_info(opts, root, started, "scan" if match else "collect")
        bundle = write_bundle(result, root, opts.output, run, _image_docs(root, result))
    return ScanOutcome(result, bundle)
