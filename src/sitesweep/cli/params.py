"""Options shared by several commands, defined once."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, FrozenSet, Optional, Tuple, TypeVar, cast

import click

from sitesweep.discovery.model import FsPolicy
from sitesweep.discovery.walk import DEFAULT_PRUNE
from sitesweep.model import Severity
from sitesweep.packs.yararules import DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, YaraLimits
from sitesweep.pipeline import ScanOptions

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
                "--image",
                type=click.Path(exists=True, path_type=Path),
                multiple=True,
                expose_value=False,
                callback=_remember_image,
                help="Scan an image instead, read where it lies: an OCI image layout directory "
                "or a docker/podman save tarball (.tar, .tar.gz, .tar.zst), or a disk image "
                "(raw, split raw .001, qcow2, VMDK, VHD/VHDX, E01; needs the 'images' extra). "
                "Repeatable; every image of an archive is scanned: one bundle and verdict each.",
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


def _remember_image(ctx: click.Context, _param: click.Parameter, value: Tuple[Path, ...]) -> None:
    """Keep ``--image`` for :func:`build_scan_options` (the commands need no parameter for it)."""
    if value:
        ctx.meta["sitesweep.image"] = tuple(value)


def signatures_option(func: F) -> F:
    """``--signatures DIR`` (repeatable): extra packs beside the built-in ones."""
    return click.option(
        "--signatures",
        "signatures",
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Extra signature pack directory (repeatable), loaded beside the built-in packs.",
    )(func)


def builtin_packs_option(func: F) -> F:
    """``--no-builtin-packs``: leave out the packs shipped with sitesweep (heuristics only)."""
    return click.option(
        "--builtin-packs/--no-builtin-packs",
        "builtin_packs",
        default=True,
        show_default=True,
        help="Load the signature packs shipped with sitesweep. --no-builtin-packs judges with "
        "the heuristics and any --signatures alone (how the next, unpublished incident looks).",
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


def kubernetes_option(func: F) -> F:
    """``--kubernetes``: list the cluster's pods with the local kubectl (read-only, live only)."""
    return click.option(
        "--kubernetes",
        is_flag=True,
        help="Also run the read-only `kubectl get pods --all-namespaces -o json` with the kubectl "
        "on PATH and its current context, and check the pods (live scans only).",
    )(func)


def yara_limit_options(func: F) -> F:
    """``--yara-max-size MIB`` and ``--yara-timeout SECONDS``: bounds on matching one file."""
    for option in reversed(
        (
            click.option(
                "--yara-max-size",
                type=click.IntRange(min=1),
                default=DEFAULT_MAX_SIZE >> 20,
                show_default=True,
                help="Largest file matched against the YARA rules, in MiB (larger: a gap).",
            ),
            click.option(
                "--yara-timeout",
                type=click.IntRange(min=1),
                default=DEFAULT_TIMEOUT,
                show_default=True,
                help="Seconds allowed for matching one file (slower: a gap).",
            ),
        )
    ):
        func = option(func)
    return func


@dataclass(frozen=True)
class CustodyArgs:
    """What ``--case-id``, ``--examiner``, ``--note`` and ``--encrypt-to`` said."""

    case_id: Optional[str]
    examiner: Optional[str]
    note: Optional[str]
    encrypt_to: Tuple[str, ...]


def custody_options(func: F) -> F:
    """Chain-of-custody and encryption options, passed to the command as one ``custody``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        case_id: Optional[str],
        examiner: Optional[str],
        note: Optional[str],
        encrypt_to: Tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        custody = CustodyArgs(case_id, examiner, note, tuple(encrypt_to))
        return func(*args, custody=custody, **kwargs)

    command: Any = wrapper
    for option in reversed(
        (
            click.option("--case-id", help="Case or ticket id, recorded in the manifest."),
            click.option("--examiner", help="Who runs the collection, recorded in the manifest."),
            click.option("--note", help="Free text for the manifest (why, where, by whose order)."),
            click.option(
                "--encrypt-to",
                "encrypt_to",
                multiple=True,
                metavar="RECIPIENT",
                help="Encrypt the archive to this age public key (age1..., repeatable); "
                "the plaintext bundle is then removed.",
            ),
        )
    ):
        command = option(command)
    return cast(F, command)


def identity_option(func: F) -> F:
    """``--identity KEYFILE``: the age identity that opens an encrypted bundle."""
    return click.option(
        "--identity",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="age identity file (AGE-SECRET-KEY-...) to open an encrypted bundle (.tar.gz.age).",
    )(func)


@dataclass(frozen=True)
class GentleArgs:
    """What ``--prune``, ``--no-default-prune``, ``--io-nice`` and ``--cpu-nice`` said."""

    prune: FrozenSet[str]
    io_nice: bool
    cpu_nice: bool


def gentle_options(func: F) -> F:
    """Walk pruning and priority options, passed to the command as one ``gentle``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        prune: Tuple[str, ...],
        default_prune: bool,
        io_nice: bool,
        cpu_nice: bool,
        **kwargs: Any,
    ) -> Any:
        names = frozenset(prune) | (DEFAULT_PRUNE if default_prune else frozenset())
        return func(*args, gentle=GentleArgs(names, io_nice, cpu_nice), **kwargs)

    command: Any = wrapper
    for option in reversed(
        (
            click.option(
                "--prune",
                multiple=True,
                metavar="NAME",
                help="Do not enter directories with this name, or PARENT/NAME (repeatable; "
                "e.g. node_modules). Each is reported as a coverage gap. Careful: a Python "
                "environment can live anywhere, node_modules included (node-gyp).",
            ),
            click.option(
                "--default-prune/--no-default-prune",
                default=True,
                show_default=True,
                help="Skip git object stores (.git/objects): they hold only hashed objects.",
            ),
            click.option(
                "--io-nice",
                is_flag=True,
                help="Read at idle I/O priority (Linux ioprio idle class) on busy hosts.",
            ),
            click.option("--cpu-nice", is_flag=True, help="Run at lower CPU priority (nice +10)."),
        )
    ):
        command = option(command)
    return cast(F, command)


def index_options(func: F) -> F:
    """Add the package-index options (``--index``, ``--index-snapshot``, ``--index-cache``,
    ``--index-interval``) that ``analyze``, ``report`` and ``sweep`` share."""
    for option in reversed(
        (
            click.option(
                "--index",
                "index_url",
                metavar="URL",
                help="Ask this package index (PEP 691 simple API root, e.g. "
                "https://pypi.org/simple/) whether each installed release is still published, "
                "yanked or gone, and whether its files match the published wheel. Only this "
                "machine asks; nothing is asked without this option.",
            ),
            click.option(
                "--index-snapshot",
                type=click.Path(file_okay=False, path_type=Path),
                help="Read the index's answers from a directory kept by --index-cache (offline).",
            ),
            click.option(
                "--index-cache",
                type=click.Path(file_okay=False, path_type=Path),
                help="Keep the index's answers in this directory and reuse them (default: inside "
                "--output).",
            ),
            click.option(
                "--index-interval",
                type=click.FloatRange(0, 60),
                default=0.2,
                show_default=True,
                help="Least time in seconds between two requests to the index.",
            ),
        )
    ):
        func = option(func)
    return func


def evidence_option(func: F) -> F:
    """Add ``--evidence policy|full``: which files' content the bundle keeps."""
    option = click.option(
        "--evidence",
        type=click.Choice(("policy", "full")),
        default="policy",
        show_default=True,
        help="policy: keep the content of indicator files, .pth and startup hooks, persistence, "
        "files failing their RECORD, affected releases and hits, and only the facts (path, size, "
        "SHA-256) of clean files; full: keep the content of every matched file.",
    )
    return option(func)


def build_scan_options(
    root: Optional[Path],
    output: Path,
    signatures: Tuple[Path, ...],
    filesystems: str,
    exclude: Tuple[str, ...],
    custody: CustodyArgs,
    gentle: GentleArgs,
    kubernetes: bool,
    verify_record: bool = False,
    yara_limits: Optional[YaraLimits] = None,
    builtin_packs: bool = True,
    evidence: str = "policy",
) -> ScanOptions:
    """The ScanOptions that ``scan`` and ``collect`` both build from their shared options."""
    context = click.get_current_context(silent=True)
    images: Tuple[Path, ...] = context.meta.get("sitesweep.image", ()) if context else ()
    if images and root is not None:
        raise click.UsageError("--root and --image name two different hosts: give one")
    return ScanOptions(
        image=images[0] if images else None,
        images=images[1:],
        root=root,
        output=output,
        signatures=signatures,
        builtin_packs=builtin_packs,
        fs_policy=FsPolicy(filesystems),
        exclude=exclude,
        argv=tuple(sys.argv),
        case_id=custody.case_id,
        examiner=custody.examiner,
        note=custody.note,
        encrypt_to=custody.encrypt_to,
        prune=gentle.prune,
        kubernetes=kubernetes,
        verify_record=verify_record,
        yara_limits=yara_limits or YaraLimits(),
        evidence=evidence,
    )
