"""The scan pipeline: discover -> inventory -> match -> bundle, as one library call."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, Optional, Tuple

from sitesweep.bundle.custody import NO_CUSTODY, Custody
from sitesweep.bundle.layout import MANIFEST
from sitesweep.checks.integrity import record_targets
from sitesweep.content import EvidenceContent, HostContent
from sitesweep.discovery.model import FsPolicy
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.engine import analyze
from sitesweep.host.live_identity import read_live_host
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, start_inventory
from sitesweep.model import Severity
from sitesweep.outcome import ScanResult
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits
from sitesweep.progress import NullProgress, Progress

if TYPE_CHECKING:
    from sitesweep.bundle.writer import BundlePaths, RunInfo
    from sitesweep.door.disk import DiskDoor
    from sitesweep.door.oci import ImageArchive, ImageDoor
    from sitesweep.intel.index import IndexSource
    from sitesweep.intel.model import IndexWitness

log = logging.getLogger(__name__)

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
            instead of a directory, read where it lies (never extracted); :func:`run_scan`
            scans the first image it holds, :func:`scan_images` every one.
        images: more images after ``image``, for :func:`scan_images` (``scan --image A
            --image B``).
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
    images: Tuple[Path, ...] = ()


@dataclass(frozen=True)
class ImageScan:
    """One image of a run over several: its scan, or why it could not be read at all.

    Attributes:
        source: the image file or directory given.
        position: which of the archive's images (0: the first it lists).
        name: the image's name (its tag or reference, else its config digest); for an image
            that cannot be read, the path (and ``(image N)`` for one of several).
        outcome: the scan and its bundle; ``None`` when the image could not be read.
        error: why it could not be read or scanned (one line naming the image).
        status: ``scanned``; ``unreadable`` (the image could not be opened) or ``failed`` (its
            scan could not finish).
        aliases: the image's other tags (``docker save app:1 app:latest`` of one image).
    """

    source: Path
    position: int
    name: str
    outcome: Optional[ScanOutcome]
    error: str = ""
    status: str = "scanned"
    aliases: Tuple[str, ...] = ()


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


def _image_docs(root: HostRoot, result: ScanResult, own_hostname: str) -> Dict[str, str]:
    """``image.json`` for an image scan (the image's config, layers, and who wrote which file)."""
    door = _image_door(root)
    if door is None:
        disk = _disk_door(root)
        if disk is None:
            return {}
        from sitesweep.bundle.serialize import dumps
        from sitesweep.diskscan import IMAGE_DOC, disk_doc

        return {IMAGE_DOC: dumps(disk_doc(disk))}
    from sitesweep.bundle.serialize import dumps
    from sitesweep.imagescan import IMAGE_DOC, image_doc

    return {IMAGE_DOC: dumps(image_doc(result, door, own_hostname))}


def _disk_door(root: HostRoot) -> Optional[DiskDoor]:
    """The disk-image door behind ``root``, if that is what it is (never imported otherwise)."""
    disk = sys.modules.get("sitesweep.door.disk")
    if disk is None or not isinstance(root.door, disk.DiskDoor):
        return None
    door: DiskDoor = root.door
    return door


def _image_door(root: HostRoot) -> Optional[ImageDoor]:
    """The container-image door behind ``root``, if that is what it is (a scan that opened no
    container image never imports the image door: it is not loaded, so no door is one)."""
    oci = sys.modules.get("sitesweep.door.oci")
    if oci is None or not isinstance(root.door, oci.ImageDoor):
        return None
    door: ImageDoor = root.door
    return door


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
    manifest: Dict[str, Any] = field(default_factory=dict)
    """The bundle's manifest (read inside the bundle: an encrypted one has no other way in)."""


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
        # A merged result's exports are the bundle's own (the host wrote them); its complete
        # findings, the controller's YARA included, are the analysis's findings.json.
        lean = how.startswith("merged")
        written = write_analysis(result, bundle, manifest_sha, output, run, extra, exports=not lean)
    return AnalyzeOutcome(result, written, witness, how, manifest)


def run_scan(opts: ScanOptions, progress: Optional[Progress] = None) -> ScanOutcome:
    """Scan a host (live or under ``opts.root``), analyse it, and write the bundle.

    Raises:
        PackError: a signature pack is invalid (before anything is scanned).
        RootError: the root is not a directory.
        OutputError: the bundle cannot be written.
    """
    return _run(opts, progress, match=True)


def scan_images(
    opts: ScanOptions, progress: Optional[Progress] = None, match: bool = True
) -> Iterator[ImageScan]:
    """Scan every image ``opts.image`` and ``opts.images`` name, each as a host of its own with
    its own bundle: every image of an archive that holds several (``docker save a b``), in the
    order it lists them. An image that cannot be read is an :class:`ImageScan` with the error;
    the others are still scanned. Each image's door is closed before the next is opened.

    Raises:
        PackError: a signature pack is invalid (before anything is scanned).
        OutputError: a bundle cannot be written.
    """
    _check_encryption(opts)
    packs = load_packs(opts.signatures, builtin=opts.builtin_packs)
    for path in (*((opts.image,) if opts.image is not None else ()), *opts.images):
        one = replace(opts, image=path, images=())
        others: Optional[ImageArchive] = None
        try:
            root = HostRoot.image(path)
        except _unreadable() as exc:
            others = getattr(exc, "others", None)
            yield ImageScan(path, 0, str(path), None, str(exc), "unreadable")
        else:
            door = _image_door(root)
            others = door.take_others() if door is not None else None
            yield _image_scan(path, 0, one, root, packs, progress, match)
        if others is None:
            continue
        with others:
            for position in range(1, others.count):
                try:
                    root = HostRoot(path, door=others.open(position))
                except _unreadable() as exc:
                    label = f"{path} (image {position + 1})"
                    yield ImageScan(path, position, label, None, str(exc), "unreadable")
                    continue
                yield _image_scan(path, position, one, root, packs, progress, match)


def _unreadable() -> Tuple[type[Exception], ...]:
    """What says an image cannot be read at all (its scan is then skipped, the run goes on)."""
    from sitesweep.door.oci import ImageError
    from sitesweep.errors import RootError

    return (ImageError, RootError)


def _image_scan(
    path: Path,
    position: int,
    opts: ScanOptions,
    root: HostRoot,
    packs: PackSet,
    progress: Optional[Progress],
    match: bool,
) -> ImageScan:
    door = _image_door(root)
    label = (
        door.info.name
        if door is not None
        else f"{path}" + (f" (image {position + 1})" if position else "")
    )
    try:
        outcome = _scan_root(opts, root, packs, progress, match, datetime.now(timezone.utc))
    except Exception as exc:  # one image's failure never stops the others (logged, an error row)
        from sitesweep.errors import SitesweepError

        log.debug("scan of %s failed", label, exc_info=exc)
        why = (
            f"{exc}"
            if isinstance(exc, SitesweepError)
            else (
                f"internal error (a bug in sitesweep, not a finding; -vv shows where): "
                f"{type(exc).__name__}: {exc}"
            )
        )
        return ImageScan(path, position, label, None, f"{label}: {why}", "failed")
    finally:
        root.close()
    if door is None:  # a disk image: the host its OS names
        return ImageScan(path, position, outcome.result.inventory.identity.hostname, outcome)
    return ImageScan(path, position, label, outcome, aliases=door.info.tags[1:])


def _as_image_host(result: ScanResult, door: ImageDoor) -> ScanResult:
    """An image is named after itself: its name is the host's name, and ``<name>@<config
    digest>`` its machine id (so a re-scan of the same image is the same host in a fleet report,
    two tags stay two hosts, and a machine-id file baked into a base image never merges images)."""
    inventory = result.inventory
    info = door.info
    identity = replace(
        inventory.identity, hostname=info.name, machine_id=f"{info.name}@{info.config_digest}"
    )
    return replace(result, inventory=replace(inventory, identity=identity))


def _run(opts: ScanOptions, progress: Optional[Progress], match: bool) -> ScanOutcome:
    """Collect, then (``match``) analyse on the spot, then write the bundle if asked."""
    started = datetime.now(timezone.utc)
    _check_encryption(opts)
    packs = load_packs(opts.signatures, builtin=opts.builtin_packs)
    root = HostRoot.image(opts.image) if opts.image is not None else HostRoot(opts.root)
    return _scan_root(opts, root, packs, progress, match, started)


def _scan_root(
    opts: ScanOptions,
    root: HostRoot,
    packs: PackSet,
    progress: Optional[Progress],
    match: bool,
    started: datetime,
) -> ScanOutcome:
    """Scan the host ``root`` opens (a directory, the live system, or an image)."""
    progress = progress or NullProgress()
    underway = start_inventory(root, collect_spec(packs, root, opts), progress)
    try:
        if match:
            progress.stage("match")
            result = analyze(
                underway,
                packs,
                strict=opts.strict,
                content=HostContent(root),
                yara_limits=opts.yara_limits,
            )
            result = replace(result, reduced=opts.reduced)
        else:
            result = ScanResult.observations(underway.finish(), packs, opts.reduced)
    finally:
        underway.cancel()  # a no-op once finished
    own_hostname = result.inventory.identity.hostname
    if opts.image is not None:
        from sitesweep.imagescan import name_layers

        door = _image_door(root)
        if door is not None:
            result = _as_image_host(name_layers(result, door), door)
        result = replace(result, gaps=(*result.gaps, *getattr(root.door, "gaps", ())))
    bundle = None
    if opts.output is not None:
        from sitesweep.bundle.writer import write_bundle

        progress.stage("bundle")
        run = _run_info(opts, root, started, "scan" if match else "collect")
        extra = _image_docs(root, result, own_hostname)
        bundle = write_bundle(result, root, opts.output, run, extra)
    return ScanOutcome(result, bundle)
