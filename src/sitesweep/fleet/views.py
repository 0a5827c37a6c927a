"""One analysed bundle as the fleet view sees it, its verdict, and the analysis cache.

A sweep analyses each bundle once, right after fetching it, and stores the small
:class:`BundleView` under the bundle's directory keyed by (bundle SHA-256, packs digest,
threshold, sitesweep version); ``report`` reads it back instead of analysing again. Any change
of packs, threshold or sitesweep makes a new key, so a cached view is never stale.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import sitesweep
from sitesweep.bundle import layout
from sitesweep.bundle.age import is_encrypted
from sitesweep.bundle.decode import parse_json
from sitesweep.bundle.reader import check_schema, read_manifest, total_cap
from sitesweep.errors import BundleError
from sitesweep.model import Severity
from sitesweep.outcome import ScanResult, Verdict, outcome_of
from sitesweep.outputs import write_new
from sitesweep.packs.model import PackSet
from sitesweep.pipeline import run_analyze

if TYPE_CHECKING:
    from sitesweep.intel.index import IndexSpec

CACHE_DIR = ".fleet-cache"
ENCRYPTED = "encrypted"
"""Status of a host whose bundle is age-encrypted and was not opened (no ``--identity``)."""


class EncryptedBundleError(BundleError):
    """An age-encrypted bundle and no identity to open it: its host is unchecked, never clean."""


_MANIFEST_LIMIT = 16 << 20


@dataclass(frozen=True)
class BundleView:
    """What the fleet view needs of one analysed bundle (small enough to cache)."""

    hostname: str
    machine_id: Optional[str]
    finished: str
    verdict: str
    worst: str
    findings: int
    environments: Tuple[str, ...]
    rotate: Tuple[str, ...]
    gaps: int
    reduced: Tuple[str, ...]
    incomplete: Tuple[str, ...]
    judged: str = ""
    """How the findings were reached (:mod:`sitesweep.merge`): the host's merged with the
    controller's YARA, or analysed on the controller and why."""
    releases: Tuple[str, ...] = ()
    """``name version`` of each release a finding at/above the threshold names (``litellm
    1.82.8``): which hosts or images carry an affected release, in one column."""


def _archive_manifest(archive: Path) -> Dict[str, Any]:
    """Read only the manifest member of a bundle archive (bounded), for the host's name.

    Skipping a member inflates it: the members before the manifest may declare at most what
    the whole archive may unpack to (:func:`~sitesweep.bundle.reader.total_cap`)."""
    try:
        limit, skipped = total_cap(archive.stat().st_size), 0
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                skipped += member.size
                if skipped > limit:
                    raise BundleError(f"{archive}: unpacks to more than {limit} bytes")
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == layout.MANIFEST and member.isreg():
                    if member.size > _MANIFEST_LIMIT:
                        break
                    source = tar.extractfile(member)
                    raw = source.read() if source is not None else b"{}"
                    data = parse_json(raw, f"{archive}: {layout.MANIFEST}")
                    if not isinstance(data, dict):
                        raise BundleError(f"{archive}: {layout.MANIFEST} is not an object")
                    check_schema(data, f"{archive}: {layout.MANIFEST}")
                    return data
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise BundleError(f"{archive}: {exc}") from exc
    raise BundleError(f"{archive}: no readable manifest")


def manifest_of(bundle: Path) -> Dict[str, Any]:
    return read_manifest(bundle) if bundle.is_dir() else _archive_manifest(bundle)


def _reduced(manifest: Dict[str, Any]) -> Tuple[Tuple[str, str], ...]:
    items = manifest.get("reduced_checks")
    if not isinstance(items, list):
        return ()
    return tuple((str(i.get("area")), str(i.get("detail"))) for i in items if isinstance(i, dict))


def view_of(
    result: ScanResult, manifest: Dict[str, Any], threshold: Severity, judged: str = ""
) -> BundleView:
    """What the fleet view keeps of one analysis (``manifest``: the bundle's; ``judged``: how
    its findings were reached)."""
    reduced = _reduced(manifest)
    outcome = outcome_of(replace(result, reduced=reduced or result.reduced), threshold)
    verdict, reasons = outcome.verdict, outcome.incomplete
    serious = result.at_least(threshold)
    rotate = tuple(item.line() for item in outcome.rotation)  # one item per secret
    ident = result.inventory.identity
    return BundleView(
        hostname=ident.hostname or "",
        machine_id=ident.machine_id,
        finished=str(manifest.get("finished", "")),
        verdict=verdict.value,
        worst=result.worst().value if result.findings else "",
        findings=len(result.findings),
        environments=tuple(sorted({f.environment for f in serious if f.environment})),
        rotate=tuple(dict.fromkeys(rotate)),
        gaps=len(result.gaps),
        reduced=tuple(f"{a}: {d}" for a, d in reduced),
        incomplete=reasons,
        judged=judged,
        releases=tuple(
            sorted(
                {f"{f.distribution} {f.version}" for f in serious if f.distribution and f.version}
            )
        ),
    )


def packs_digest(packs: PackSet) -> str:
    """SHA-256 over every pack's identity, ``pack.toml`` and YARA rule files."""
    sha = hashlib.sha256()
    for pack in packs.packs:
        sha.update(f"{pack.id}\0{pack.version}\0{pack.sha256}\0".encode())
        for name in pack.yara_files:
            try:
                sha.update(hashlib.sha256((Path(pack.source) / name).read_bytes()).digest())
            except OSError:
                sha.update(f"missing:{name}".encode())
    return sha.hexdigest()


def views_digest(packs: PackSet, index: Optional[IndexSpec] = None) -> str:
    """The cache key part of a fleet view's judges: the packs, and the index asked if any."""
    digest = packs_digest(packs)
    return digest if index is None else f"{digest}|index={index.label}"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def cache_path(bundle: Path, digest: str, threshold: Severity) -> Optional[Path]:
    """Where the view of ``bundle`` is cached (``None`` for unpacked bundles: no single hash;
    ``None`` for encrypted ones too: a view in clear would tell what the encryption hides)."""
    if not bundle.is_file() or is_encrypted(bundle):
        return None
    key = hashlib.sha256(
        f"{file_sha256(bundle)}|{digest}|{threshold.value}|{sitesweep.__version__}".encode()
    ).hexdigest()[:32]
    return bundle.parent / CACHE_DIR / f"{key}.json"


def _load_cached(path: Path) -> Optional[BundleView]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        tuples = ("environments", "rotate", "reduced", "incomplete", "releases")
        values: Dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in doc.items()}
        view = BundleView(**values)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if "releases" not in values:  # cached before views had releases: analysed again
        return None
    return view if view.verdict in {v.value for v in Verdict} else None


def store_view(path: Optional[Path], view: BundleView) -> None:
    """Cache ``view`` at ``path`` (best effort: an unwritable cache only costs time)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_new(path, json.dumps(asdict(view), sort_keys=True))
    except OSError:
        return


def cached_view(
    bundle: Path, digest: str, threshold: Severity
) -> Tuple[Optional[BundleView], Optional[Path]]:
    """The cached view of ``bundle`` (``None`` when there is none) and where it is (to be) cached.

    Raises:
        BundleError: the bundle cannot be read.
    """
    try:
        cached_at = cache_path(bundle, digest, threshold)
    except OSError as exc:
        raise BundleError(f"{bundle}: {exc}") from exc
    if cached_at is not None and cached_at.is_file():
        return _load_cached(cached_at), cached_at
    return None, cached_at


def view_bundle(
    bundle: Path,
    packs: PackSet,
    threshold: Severity,
    digest: Optional[str] = None,
    index: Optional[IndexSpec] = None,
    identity: Optional[Path] = None,
) -> BundleView:
    """The view of one bundle: from the cache, else analysed now (and cached).

    ``index`` is a package index asked about the bundle's releases (its label is part of the
    cache key: a view with the index's answers is not one without them). ``identity`` is the
    age identity file that opens encrypted bundles (``.tar.gz.age``): each is decrypted into a
    private temporary directory for its analysis and never cached.

    Raises:
        EncryptedBundleError: the bundle is encrypted and no ``identity`` was given.
        BundleError: the bundle cannot be read (or ``identity`` does not open it).
    """
    if identity is None and bundle.is_file() and is_encrypted(bundle):
        raise EncryptedBundleError(
            f"{bundle.name}: age-encrypted, not read: give --identity KEYFILE to check this host"
        )
    key = digest or views_digest(packs, index)
    cached, cached_at = cached_view(bundle, key, threshold)
    if cached is not None:
        return cached
    source = None
    if index is not None:
        from sitesweep.intel.index import IndexUnavailable

        try:
            source = index.open()
        except IndexUnavailable as exc:
            raise BundleError(f"{bundle}: {exc}") from exc
    outcome = run_analyze(bundle, packs=packs, index=source, host_findings=True, identity=identity)
    view = view_of(outcome.result, outcome.manifest, threshold, outcome.how)
    store_view(cached_at, view)
    return view
