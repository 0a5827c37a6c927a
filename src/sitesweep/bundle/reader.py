"""Open a bundle (directory or ``.tar.gz``) safely and read its observations back.

A bundle may come from a compromised host or an attacker: archives are unpacked member by member
into a private temporary directory, refusing absolute paths, ``..``, links, devices and anything
over the size bounds, and nothing is ever written outside that directory.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterator, Optional, Tuple

from sitesweep.bundle import layout
from sitesweep.bundle.age import decrypt_file, is_encrypted
from sitesweep.bundle.decode import from_plain, parse_json
from sitesweep.errors import BundleError
from sitesweep.inventory import Inventory
from sitesweep.model import Gap, GapReason
from sitesweep.scratch import scratch_dir

MAX_MEMBERS = 200_000
MAX_MEMBER_SIZE = 1 << 30
MAX_TOTAL_SIZE = 8 << 30
MAX_JSON_SIZE = 1 << 30
"""Largest JSON file read from a bundle directory."""
JSON_FLOOR = 32 << 20
JSON_RATIO = 100
"""A JSON member of an archive may be at most ``max(JSON_FLOOR, JSON_RATIO x archive size)``:
real bundles compress their JSON about 10-20 times, while an ``inventory.json`` that inflates
a 118 KB archive to 100 MB (850 times) would cost gigabytes to parse."""
SCHEMA_MAJORS = frozenset({"1", "2"})
"""Major versions of the bundle schema this sitesweep reads (see ``layout.SCHEMA_VERSION``)."""

_JSON_CAPS: Dict[str, int] = {}
"""The JSON size cap of each archive unpacked by :func:`open_bundle`, by its directory."""


TOTAL_FLOOR = 256 << 20
TOTAL_RATIO = 200
"""An archive may unpack to at most ``max(TOTAL_FLOOR, TOTAL_RATIO x its size)`` (and
:data:`MAX_TOTAL_SIZE`): a bundle's evidence compresses a few times, its JSON 10-20 times; a
1 MiB bomb declaring a 1 GiB member wrote that gigabyte into ``TMPDIR`` before being refused."""


def total_cap(archive_size: int) -> int:
    """What an archive of ``archive_size`` bytes may unpack to, in all."""
    return min(MAX_TOTAL_SIZE, max(TOTAL_FLOOR, TOTAL_RATIO * archive_size))


def json_cap(archive_size: int) -> int:
    """The size cap of one JSON document of an archive of ``archive_size`` bytes."""
    return min(MAX_JSON_SIZE, max(JSON_FLOOR, JSON_RATIO * archive_size))


def _check_member(member: tarfile.TarInfo) -> PurePosixPath:
    name = PurePosixPath(member.name)
    if name.is_absolute() or member.name.startswith("/"):
        raise BundleError(f"refusing archive member with an absolute path: {member.name!r}")
    if ".." in name.parts:
        raise BundleError(f"refusing archive member that climbs out with '..': {member.name!r}")
    if not (member.isreg() or member.isdir()):
        raise BundleError(f"refusing archive member that is a link or device: {member.name!r}")
    if member.size > MAX_MEMBER_SIZE:
        raise BundleError(f"refusing archive member larger than {MAX_MEMBER_SIZE}: {member.name!r}")
    return name


def _extract(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` into ``target`` after checking every member; return the bundle dir."""
    total = 0
    tops = set()
    cap = json_cap(archive.stat().st_size)
    limit = total_cap(archive.stat().st_size)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > MAX_MEMBERS:
                    raise BundleError(f"archive has more than {MAX_MEMBERS} members")
                name = _check_member(member)
                tops.add(name.parts[0])
                dest = target.joinpath(*name.parts)
                if member.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                if name.suffix == ".json" and member.size > cap:
                    raise BundleError(
                        f"refusing {member.name!r}: {member.size} bytes of JSON in an archive "
                        f"of {archive.stat().st_size} (more than {cap})"
                    )
                total += member.size
                if total > limit:
                    raise BundleError(
                        f"archive of {archive.stat().st_size} bytes unpacks to more than {limit} "
                        "(a decompression bomb?)"
                    )
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise BundleError(f"cannot read archive member {member.name!r}")
                with source, dest.open("xb") as out:
                    shutil.copyfileobj(source, out)
                dest.chmod(0o600)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f"{archive}: not a readable bundle archive: {exc}") from exc
    if len(tops) != 1:
        raise BundleError(f"{archive}: a bundle archive holds exactly one top directory")
    return target / tops.pop()


@contextmanager
def open_bundle(path: Path, identity: Optional[Path] = None) -> Iterator[Path]:
    """Yield the bundle's directory; a ``.tar.gz`` is unpacked safely into a temporary one.

    An age-encrypted archive (``.tar.gz.age``) is first decrypted with the age identity file
    ``identity`` into the same private temporary directory, which is removed afterwards.
    """
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle")
    with scratch_dir("sitesweep-bundle-") as scratch:
        try:
            yield _unpack(path, scratch, identity)
        finally:
            for key in [k for k in _JSON_CAPS if k.startswith(str(scratch))]:
                del _JSON_CAPS[key]


def _unpack(path: Path, scratch: Path, identity: Optional[Path]) -> Path:
    """Decrypt (if need be) and unpack the archive ``path`` into ``scratch``; the bundle dir."""
    archive = path
    if is_encrypted(path):
        if identity is None:
            raise BundleError(f"{path}: an age-encrypted bundle: pass --identity KEYFILE")
        archive = scratch / "decrypted.tar.gz"
        decrypt_file(path, identity, archive)
    unpacked = scratch / "unpacked"
    unpacked.mkdir()
    directory = _extract(archive, unpacked)
    _JSON_CAPS[str(directory)] = json_cap(archive.stat().st_size)
    return directory


def read_json(bundle: Path, name: str) -> Any:
    """Read one JSON file of a bundle: bounded in size (in proportion to its archive), in
    depth, and refusing NaN and Infinity (:func:`parse_json`)."""
    path = bundle / name
    cap = _JSON_CAPS.get(str(bundle), MAX_JSON_SIZE)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:  # ELOOP: a link
        raise BundleError(f"{path}: missing or not a regular file ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(f"{path}: missing or not a regular file")
        if info.st_size > cap:
            raise BundleError(f"{path}: larger than {cap} bytes")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise BundleError(f"{path}: larger than {cap} bytes")
    return parse_json(data, str(path))


def check_schema(manifest: Dict[str, Any], where: str) -> None:
    """Refuse a manifest whose ``schema_version`` this sitesweep does not know.

    Raises:
        BundleError: the version is missing, malformed or of an unknown major number.
    """
    version = manifest.get("schema_version")
    major = version.split(".", 1)[0] if isinstance(version, str) else None
    if major not in SCHEMA_MAJORS:
        known = ", ".join(f"{m}.x" for m in sorted(SCHEMA_MAJORS))
        raise BundleError(
            f"{where}: schema_version {version!r} is not one this sitesweep reads ({known}); "
            "a newer sitesweep may read it"
        )


def read_manifest(bundle: Path) -> Dict[str, Any]:
    """Return the manifest as a dict, refusing an unknown ``schema_version``."""
    data = read_json(bundle, layout.MANIFEST)
    where = str(bundle / layout.MANIFEST)
    if not isinstance(data, dict):
        raise BundleError(f"{where}: not an object")
    check_schema(data, where)
    return data


def read_inventory(bundle: Path) -> Inventory:
    """Rebuild the observations a bundle holds (the scan root comes from the manifest)."""
    data = read_json(bundle, layout.INVENTORY)
    if not isinstance(data, dict):
        raise BundleError(f"{bundle / layout.INVENTORY}: not an object")
    root = read_manifest(bundle).get("scan_root")
    data["root"] = root if isinstance(root, str) else ""
    inventory = from_plain(Inventory, data, layout.INVENTORY)
    left_out = tuple(rows_left_out(inventory))
    return replace(inventory, gaps=inventory.gaps + left_out) if left_out else inventory


def rows_left_out(inventory: Inventory) -> Iterator[Gap]:
    """A gap per distribution whose RECORD rows the bundle kept only in part: the writer leaves
    out the rows of files the scan found absent but a few
    (:func:`sitesweep.bundle.serialize.inventory_chunks`), so nothing is matched against them
    here (no YARA, no hash or name indicator)."""
    targets = set(inventory.record_targets)
    for dist in inventory.distributions:
        rows = dist.record_rows
        if dist.name in targets and rows is not None and len(dist.record) < rows:
            detail = (
                f"{rows - len(dist.record)} of the {rows} rows of its RECORD name files the "
                f"scan found absent and were not kept in the bundle (it keeps a few of them): "
                "no indicator was matched against them here"
            )
            yield Gap("bundle", dist.path, GapReason.VANISHED, detail)


def reduced_checks(manifest: Dict[str, Any]) -> Tuple[Tuple[str, str], ...]:
    """The manifest's ``reduced_checks`` as (area, why) pairs (malformed entries are skipped)."""
    items = manifest.get("reduced_checks")
    if not isinstance(items, list):
        return ()
    return tuple(
        (str(i.get("area")), str(i.get("detail")))
        for i in items
        if isinstance(i, dict) and isinstance(i.get("area"), str)
    )
