"""A package index as a witness: its PEP 691 project pages and the RECORDs of its wheels.

Two sources answer the same questions: :class:`HttpIndex` asks a live index (``analyze --index
URL``) and keeps every answer in a store on disk when given one; :class:`SnapshotIndex` reads a
store made that way (``--index-snapshot DIR``), so air-gapped responders and tests get the same
answers with no network. Every request and answer is logged (:class:`Exchange`) for custody.

The store's layout (one directory, plain files a responder can read and ship)::

    simple/<canonical name>.json       the project page (PEP 691 JSON) as the index sent it
    simple/<canonical name>.missing    the index answered 404: no such project
    records/<wheel file name>.RECORD   that wheel's RECORD, read after its SHA-256 was checked
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import urllib.error
import urllib.request
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from sitesweep import __version__
from sitesweep.intel.model import Exchange
from sitesweep.outputs import write_new

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
"""The PEP 691 media type asked for."""
PAGE_LIMIT = 32 << 20
"""Largest project page read (PyPI's largest pages are a few MiB)."""
WHEEL_LIMIT = 256 << 20
"""Largest wheel downloaded to read its RECORD."""
RECORD_LIMIT = 16 << 20
"""Largest RECORD read from a wheel."""


class IndexUnavailable(Exception):  # noqa: N818 - reads as a sentence at the raise site
    """The index (or snapshot) could not answer a question; the caller records a gap."""


@dataclass(frozen=True)
class ReleaseFile:
    """One file the index lists for a project.

    Attributes:
        filename: the file name (``litellm-1.82.6-py3-none-any.whl``).
        url: where to download it (absolute).
        sha256: its SHA-256 as the index states it, when stated.
        version: the version its name carries (``None`` when the name cannot be parsed).
        yanked: whether the index marks it yanked (PEP 592).
        yanked_reason: the reason given, if any.
        upload_time: the upload time the index states (PEP 700), if any.
    """

    filename: str
    url: str
    sha256: Optional[str]
    version: Optional[str]
    yanked: bool
    yanked_reason: Optional[str]
    upload_time: Optional[str]

    @property
    def is_wheel(self) -> bool:
        """Return whether this is a wheel."""
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class ProjectPage:
    """What the index says of one project.

    Attributes:
        name: canonical project name.
        found: whether the index knows the project at all (``False`` after a 404).
        files: the files it lists.
        versions: the versions it lists (PEP 700 ``versions``, else read from the file names).
    """

    name: str
    found: bool
    files: Tuple[ReleaseFile, ...] = ()
    versions: Tuple[str, ...] = ()

    @cached_property
    def normal_versions(self) -> Tuple[str, ...]:
        """The listed versions in PEP 440 normal form, worked out once per page (one page
        serves every environment holding the project)."""
        return tuple(normal_version(v) for v in self.versions)

    def files_of(self, version: str) -> Tuple[ReleaseFile, ...]:
        """Return the files of ``version`` (compared in PEP 440 normal form where it parses;
        a file's ``version`` is in that form already, see :func:`file_version`)."""
        want = normal_version(version)
        return tuple(f for f in self.files if f.version and f.version == want)

    def has_version(self, version: str) -> bool:
        """Return whether the index lists ``version``."""
        return normal_version(version) in self.normal_versions

    def other_versions(self, version: str) -> int:
        """Return how many listed versions are not ``version``."""
        want = normal_version(version)
        return sum(1 for v in self.normal_versions if v != want)


@dataclass(frozen=True)
class IndexSpec:
    """Which index to ask, as the responder named it: a value that crosses process boundaries
    (the fleet report analyses bundles in a process pool), opened where it is used.

    Attributes:
        url: a live index's simple API root (``--index``).
        snapshot: a store directory read offline (``--index-snapshot``).
        cache: a store directory the live index's answers are kept in (``--index-cache``).
        interval: the least time between two requests.
    """

    url: Optional[str] = None
    snapshot: Optional[Path] = None
    cache: Optional[Path] = None
    interval: float = 0.2

    @property
    def label(self) -> str:
        """What the responder named: the URL or the snapshot directory."""
        return self.url or str(self.snapshot)

    def open(self) -> IndexSource:
        """Return the source that answers for this spec.

        Raises:
            IndexUnavailable: a snapshot that is not a directory, or a URL that is not http(s).
        """
        if self.snapshot is not None:
            return SnapshotIndex(self.snapshot)
        if self.url is None:
            raise IndexUnavailable("no index named (--index URL or --index-snapshot DIR)")
        return HttpIndex(self.url, self.cache, interval=self.interval)


def normal_version(text: str) -> str:
    """Return ``text`` in PEP 440 normal form, or as it is when it does not parse."""
    try:
        return str(Version(text))
    except InvalidVersion:
        return text


def file_version(filename: str) -> Optional[str]:
    """Return the version a wheel or sdist file name carries, or ``None``."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def parse_project_page(name: str, page_url: str, data: bytes) -> ProjectPage:
    """Read a PEP 691 JSON project page.

    Raises:
        IndexUnavailable: the page is not PEP 691 JSON.
    """
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise IndexUnavailable(f"project page of {name} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise IndexUnavailable(f"project page of {name} has no 'files' list (not PEP 691)")
    files = tuple(f for f in (_release_file(item, page_url) for item in doc["files"]) if f)
    listed = doc.get("versions")
    if isinstance(listed, list) and all(isinstance(v, str) for v in listed):
        versions = tuple(listed)
    else:
        versions = tuple(dict.fromkeys(f.version for f in files if f.version))
    return ProjectPage(canonicalize_name(name), True, files, versions)


def _release_file(item: Any, page_url: str) -> Optional[ReleaseFile]:
    if not isinstance(item, dict):
        return None
    filename, url = item.get("filename"), item.get("url")
    if not isinstance(filename, str) or not isinstance(url, str) or "/" in filename:
        return None
    hashes = item.get("hashes")
    sha = hashes.get("sha256") if isinstance(hashes, dict) else None
    yanked = item.get("yanked", False)
    upload = item.get("upload-time")
    return ReleaseFile(
        filename=filename,
        url=urljoin(page_url, url),
        sha256=sha.lower() if isinstance(sha, str) else None,
        version=file_version(filename),
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        upload_time=upload if isinstance(upload, str) else None,
    )


def record_from_wheel(data: bytes, filename: str) -> str:
    """Return the RECORD text of a wheel held in memory.

    Raises:
        IndexUnavailable: not a zip, no single ``*.dist-info/RECORD``, or RECORD too large.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [
                n
                for n in archive.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/RECORD")
            ]
            if len(names) != 1:
                raise IndexUnavailable(f"{filename}: {len(names)} RECORD files at the top level")
            info = archive.getinfo(names[0])
            if info.file_size > RECORD_LIMIT:
                raise IndexUnavailable(f"{filename}: RECORD larger than {RECORD_LIMIT} bytes")
            return archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise IndexUnavailable(f"{filename}: not a readable wheel: {exc}") from exc


class _Store:
    """The on-disk layout shared by the cache and the snapshot (module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def page(self, name: str) -> Path:
        return self.directory / "simple" / f"{canonicalize_name(name)}.json"

    def missing(self, name: str) -> Path:
        return self.directory / "simple" / f"{canonicalize_name(name)}.missing"

    def record(self, filename: str) -> Path:
        return self.directory / "records" / f"{filename}.RECORD"

    def write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_new(path, data)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class IndexSource(ABC):
    """Answers what an index says; every answer is logged in :attr:`exchanges`."""

    def __init__(self, label: str) -> None:
        self.label = label
        """The index URL or the snapshot directory, as the responder gave it."""
        self._log: List[Exchange] = []
        self._lock = threading.Lock()

    @property
    def exchanges(self) -> Tuple[Exchange, ...]:
        """Every question asked so far, in order."""
        with self._lock:
            return tuple(self._log)

    def _note(self, exchange: Exchange) -> None:
        with self._lock:
            self._log.append(exchange)

    @abstractmethod
    def project(self, name: str) -> ProjectPage:
        """Return the project page of ``name``.

        Raises:
            IndexUnavailable: no answer (network error, bad page, not in the snapshot).
        """

    @abstractmethod
    def wheel_record(self, file: ReleaseFile) -> str:
        """Return the RECORD of a published wheel.

        Raises:
            IndexUnavailable: no answer, or the wheel's bytes differ from its stated SHA-256.
        """


class SnapshotIndex(IndexSource):
    """Answers from a store directory only: no network, ever."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        if not directory.is_dir():
            raise IndexUnavailable(f"index snapshot {directory} is not a directory")
        self._store = _Store(directory)

    def project(self, name: str) -> ProjectPage:
        page, missing = self._store.page(name), self._store.missing(name)
        if missing.is_file():
            self._note(Exchange(_now(), str(missing), "snapshot", None, 0, None))
            return ProjectPage(canonicalize_name(name), False)
        data = self._read(page)
        return parse_project_page(name, f"snapshot:{name}/", data)

    def wheel_record(self, file: ReleaseFile) -> str:
        return self._read(self._store.record(file.filename)).decode("utf-8", "replace")

    def _read(self, path: Path) -> bytes:
        try:
            data = path.read_bytes()
        except OSError as exc:
            error = f"not in the snapshot ({exc.strerror or exc})"
            self._note(Exchange(_now(), str(path), "snapshot", None, 0, None, error))
            raise IndexUnavailable(f"{path.name}: {error}") from exc
        sha = hashlib.sha256(data).hexdigest()
        self._note(Exchange(_now(), str(path), "snapshot", None, len(data), sha))
        return data


class HttpIndex(IndexSource):
    """Asks a live index over HTTP(S), at most one request per ``interval`` seconds.

    Args:
        url: the simple API root (``https://pypi.org/simple/``).
        cache: a store directory to keep answers in and read them back from, or ``None``.
        interval: the least time between two requests (rate limit).
        timeout: seconds per request.
    """

    def __init__(
        self, url: str, cache: Optional[Path] = None, interval: float = 0.2, timeout: float = 30
    ) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise IndexUnavailable(f"index URL {url!r} is not an http(s) URL")
        self.url = url if url.endswith("/") else url + "/"
        self._store = _Store(cache) if cache is not None else None
        self._interval = interval
        self._timeout = timeout
        self._pace = threading.Lock()
        self._last = 0.0

    def project(self, name: str) -> ProjectPage:
        canonical = canonicalize_name(name)
        store = self._store
        if store is not None:
            if store.missing(canonical).is_file():
                self._note(Exchange(_now(), str(store.missing(canonical)), "cache", None, 0, None))
                return ProjectPage(canonical, False)
            cached = self._cached(store.page(canonical))
            if cached is not None:
                return parse_project_page(canonical, f"{self.url}{canonical}/", cached)
        page_url = f"{self.url}{canonical}/"
        status, data = self._get(page_url, SIMPLE_JSON, PAGE_LIMIT)
        if status == 404:
            if store is not None:
                store.write(store.missing(canonical), b"404\n")
            return ProjectPage(canonical, False)
        if status != 200:
            raise IndexUnavailable(f"{page_url}: HTTP {status}")
        page = parse_project_page(canonical, page_url, data)
        if store is not None:
            store.write(store.page(canonical), data)
        return page

    def wheel_record(self, file: ReleaseFile) -> str:
        store = self._store
        if store is not None:
            cached = self._cached(store.record(file.filename))
            if cached is not None:
                return cached.decode("utf-8", "replace")
        status, data = self._get(file.url, "application/octet-stream", WHEEL_LIMIT)
        if status != 200:
            raise IndexUnavailable(f"{file.url}: HTTP {status}")
        actual = hashlib.sha256(data).hexdigest()
        if file.sha256 is not None and actual != file.sha256:
            raise IndexUnavailable(
                f"{file.filename}: downloaded bytes have SHA-256 {actual}, the index says "
                f"{file.sha256}"
            )
        record = record_from_wheel(data, file.filename)
        if store is not None:
            store.write(store.record(file.filename), record.encode("utf-8"))
        return record

    def _cached(self, path: Path) -> Optional[bytes]:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        sha = hashlib.sha256(data).hexdigest()
        self._note(Exchange(_now(), str(path), "cache", None, len(data), sha))
        return data

    def _get(self, url: str, accept: str, limit: int) -> Tuple[int, bytes]:
        """GET ``url`` (paced); return the status and at most ``limit`` bytes of the body."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise IndexUnavailable(f"{url}: not an http(s) URL")
        self._wait_turn()
        headers: Dict[str, str] = {"Accept": accept, "User-Agent": f"sitesweep/{__version__}"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked
        asked = _now()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                data = answer.read(limit + 1)
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            exc.close()  # an error answer holds its connection open until closed
            self._note(Exchange(asked, url, "network", exc.code, 0, None))
            return exc.code, b""
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = str(getattr(exc, "reason", exc))
            self._note(Exchange(asked, url, "network", None, 0, None, reason))
            raise IndexUnavailable(f"{url}: {reason}") from exc
        if len(data) > limit:
            error = f"answer larger than {limit} bytes"
            self._note(Exchange(asked, url, "network", status, len(data), None, error))
            raise IndexUnavailable(f"{url}: {error}")
        sha = hashlib.sha256(data).hexdigest()
        self._note(Exchange(asked, url, "network", status, len(data), sha))
        return status, data

    def _wait_turn(self) -> None:
        with self._pace:
            delay = self._last + self._interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()
