"""Open a bundle (directory or ``.tar.gz``) safely and read its observations back.

A bundle may come from a compromised host or an attacker: archives are unpacked member by member
into a private temporary directory, refusing absolute paths, ``..``, links, devices and anything
over the size bounds, and nothing is ever written outside that directory.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterator, Optional, Tuple

from sitesweep.bundle import layout
from sitesweep.bundle.age import decrypt_file, is_encrypted
from sitesweep.bundle.decode import from_plain
from sitesweep.errors import BundleError
from sitesweep.inventory import Inventory

MAX_MEMBERS = 200_000
MAX_MEMBER_SIZE = 1 << 30
MAX_TOTAL_SIZE = 8 << 30
MAX_JSON_SIZE = 1 << 30


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
                total += member.size
                if total > MAX_TOTAL_SIZE:
                    raise BundleError(f"archive unpacks to more than {MAX_TOTAL_SIZE} bytes")
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
    scratch = Path(tempfile.mkdtemp(prefix="sitesweep-bundle-"))
    try:
        archive = path
        if is_encrypted(path):
            if identity is None:
                raise BundleError(f"{path}: an age-encrypted bundle: pass --identity KEYFILE")
            archive = scratch / "decrypted.tar.gz"
            decrypt_file(path, identity, archive)
        unpacked = scratch / "unpacked"
        unpacked.mkdir()
        yield _extract(archive, unpacked)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_json(bundle: Path, name: str) -> Any:
    """Read one JSON file of a bundle, bounded in size."""
    path = bundle / name
    try:
        if path.is_symlink() or not path.is_file():
            raise BundleError(f"{path}: missing or not a regular file")
        if path.stat().st_size > MAX_JSON_SIZE:
            raise BundleError(f"{path}: larger than {MAX_JSON_SIZE} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: hostile nesting
        raise BundleError(f"{path}: {exc}") from exc


def read_manifest(bundle: Path) -> Dict[str, Any]:
    """Return the manifest as a dict."""
    data = read_json(bundle, layout.MANIFEST)
    if not isinstance(data, dict):
        raise BundleError(f"{bundle / layout.MANIFEST}: not an object")
    return data


def read_inventory(bundle: Path) -> Inventory:
    """Rebuild the observations a bundle holds (the scan root comes from the manifest)."""
    data = read_json(bundle, layout.INVENTORY)
    if not isinstance(data, dict):
        raise BundleError(f"{bundle / layout.INVENTORY}: not an object")
    root = read_manifest(bundle).get("scan_root")
    data["root"] = root if isinstance(root, str) else ""
    return from_plain(Inventory, data, layout.INVENTORY)


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
