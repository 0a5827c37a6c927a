"""The door to a container image, read where it lies: an OCI image layout directory, or the
tarball ``docker save`` / ``podman save`` writes (Docker's ``manifest.json`` form or an OCI
archive), optionally gzip-compressed.

The image's final filesystem is built as an index, never extracted: each layer's tar headers are
read in order and applied with the OCI whiteout rules (``.wh.<name>`` deletes ``<name>`` from the
layers below, ``.wh..wh..opq`` empties its directory of what the layers below put there). Each
indexed file remembers where its bytes are and which layer introduced it. Content is served
straight from the tar member:

- an uncompressed layer (``docker save``'s ``layer.tar``) is read in place, at the member's offset
  inside the image file;
- a gzip or zstd layer is decompressed once, as a stream, into an anonymous temporary file
  (unlinked at creation, so nothing is left behind if the scan is killed), bounded by
  :data:`MAX_LAYER_BYTES`, and its members are read from there. Files are never written out one
  by one. zstd needs the ``zstandard`` library of the optional extra ``images`` (imported only
  when a zstd stream is met).

Symlinks resolve inside the image exactly as in a directory tree (an absolute target restarts at
the image's ``/``, ``..`` stops there): nothing outside the image is ever read.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import stat
import tarfile
import threading
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Deque, Dict, Iterator, List, Optional, Tuple

from sitesweep.door.base import (
    DIR,
    FILE,
    LINK,
    MAX_SYMLINK_HOPS,
    OTHER,
    Listed,
    parts,
    regular_node,
)
from sitesweep.errors import HostReadError, SitesweepError
from sitesweep.model import Gap, GapReason, HostPath
from sitesweep.scratch import anonymous_file

__all__ = [
    "MAX_LAYER_BYTES",
    "ImageArchive",
    "ImageDoor",
    "ImageError",
    "ImageInfo",
    "LayerInfo",
    "open_image",
]

MAX_LAYER_BYTES = 64 << 30
"""Largest decompressed layer (or compressed image tarball) read; more is an :class:`ImageError`."""
INFLATE_FLOOR = 1 << 30
INFLATE_RATIO = 100
"""A compressed stream may inflate to at most ``max(INFLATE_FLOOR, INFLATE_RATIO x its size)``
(and :data:`MAX_LAYER_BYTES`): real layers compress 2-10 times, a gzip bomb a thousand, and what
it inflates to fills the analyst's ``TMPDIR`` (anonymously, so nothing is left behind)."""
_MAX_TIME = float(2**63 - 1)
"""Largest modification time in seconds a filesystem holds (a signed 64-bit count) and a bundle
accepts; a PAX header may say anything, ``nan`` and ``1e300`` included."""
MAX_JSON_BYTES = 16 << 20
"""Largest manifest, index or config document read."""
MAX_ENTRIES = 5_000_000
"""Most tar members indexed over all layers."""
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_ZSTD_FEED = 2048
"""Compressed bytes handed to the zstd decoder at a time: it has no output bound of its own, and
a zstd block expands at most 32768 times, so one call yields at most 64 MiB."""
IMAGES_EXTRA = (
    "the optional extra 'images' (pip install --require-hashes -r requirements-images.lock)"
)
_OPAQUE = ".wh..wh..opq"
_WHITEOUT = ".wh."
_CHUNK = 1 << 20


class ImageError(SitesweepError):
    """The image cannot be read: not an image, truncated, corrupt, or over a bound.

    ``others``: when the first image of an archive that lists several is the one that cannot be
    read, the archive's other images (for the caller to scan, and to close).
    """

    others: Optional[ImageArchive] = None


@dataclass(frozen=True)
class LayerInfo:
    """One layer: its digest (of the blob as stored) and what the image config says of it."""

    digest: str
    media_type: str
    size: int
    created_by: str = ""


@dataclass(frozen=True)
class ImageInfo:
    """What the image says about itself (no environment value, only names)."""

    source: str
    name: str
    layers: Tuple[LayerInfo, ...]
    config_digest: str
    entrypoint: Tuple[str, ...] = ()
    cmd: Tuple[str, ...] = ()
    env_names: Tuple[str, ...] = ()
    labels: Tuple[Tuple[str, str], ...] = ()
    pip_history: Tuple[str, ...] = ()
    os: str = ""
    architecture: str = ""
    not_scanned: int = 0
    """Other images in the same archive (the archive lists ``not_scanned + 1`` images)."""
    position: int = 0
    """Which of the archive's images this is (0: the first it lists)."""
    tags: Tuple[str, ...] = ()
    """Every name the archive gives it (``RepoTags``; the reference annotation): the first is
    ``name``."""


class _Node:
    """One file of the image's final filesystem (slotted: an image holds up to millions)."""

    __slots__ = (
        "children",
        "gid",
        "ino",
        "kind",
        "layer",
        "link",
        "mode",
        "mtime",
        "offset",
        "size",
        "source",
        "uid",
    )

    def __init__(
        self,
        kind: int,
        mode: int,
        uid: int = 0,
        gid: int = 0,
        size: int = 0,
        mtime: float = 0.0,
        link: str = "",
        layer: int = -1,
        source: int = -1,
        offset: int = 0,
        ino: int = 0,
        children: Optional[Dict[str, _Node]] = None,
    ) -> None:
        self.kind, self.mode, self.uid, self.gid = kind, mode, uid, gid
        self.size, self.mtime, self.link, self.layer = size, mtime, link, layer
        self.source, self.offset, self.ino, self.children = source, offset, ino, children


@dataclass
class _Source:
    """Where a layer's uncompressed tar bytes are: a descriptor and the offset they start at."""

    fd: int
    start: int
    size: int


class FileWindow(io.RawIOBase):
    """A read-only, seekable window of ``size`` bytes at ``start`` in descriptor ``fd``.

    A layer member read in place here; a disk inside an OVA tar for libyal's file-object readers
    (:mod:`sitesweep.door.diskvol`), which also ask its ``get_size``.
    """

    def __init__(self, fd: int, start: int, size: int) -> None:
        super().__init__()
        self._fd, self._start, self._size, self._pos = fd, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def get_size(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = _pread(self._fd, want, self._start + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


_PREAD_LOCK = threading.Lock()


def _pread(fd: int, size: int, offset: int) -> bytes:
    pread = getattr(os, "pread", None)
    if pread is not None:
        return bytes(pread(fd, size, offset))
    with _PREAD_LOCK:  # pragma: no cover - platforms without pread (Windows)
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


class _MemberFile:
    """A file of the image: ``size`` bytes at ``offset`` in a layer's uncompressed tar."""

    def __init__(self, source: _Source, offset: int, size: int) -> None:
        self._source, self._offset, self.size, self._pos = source, offset, size, 0

    def read(self, size: int) -> bytes:
        want = min(size, self.size - self._pos)
        if want <= 0:
            return b""
        data = _pread(self._source.fd, want, self._source.start + self._offset + self._pos)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._pos = self.size


@dataclass
class _Index:
    root: _Node = field(default_factory=lambda: _Node(DIR, stat.S_IFDIR | 0o755, children={}))
    entries: int = 0
    problems: List[Tuple[str, str]] = field(default_factory=list)
    """(host path, what is wrong) for members that could not be placed in the filesystem."""
    next_ino: int = 2


class ImageDoor:
    """A door backend serving a container image's final filesystem (see the module docstring).

    Use :func:`open_image` to build one.
    """

    is_live = False

    def __init__(
        self,
        info: ImageInfo,
        index: _Index,
        sources: List[_Source],
        fds: List[int],
        blobs: Optional[_Blobs] = None,
    ):
        self.info = info
        self._index = index
        self._sources = sources
        self._fds = fds
        self._blobs = blobs
        self.gaps: Tuple[Gap, ...] = tuple(
            Gap("image", HostPath(path), GapReason.PARSE_ERROR, detail)
            for path, detail in index.problems
        )
        """Members of the layers that are not part of the filesystem served, and why (and the
        archive's other images, unless :meth:`take_others` handed them to the caller)."""
        if info.not_scanned and blobs is not None:
            detail = (
                f"{info.not_scanned} more image(s) in {info.source} not scanned: "
                "only the first the archive lists was asked for"
            )
            self.gaps = (*self.gaps, Gap("image", None, GapReason.CHECK_SKIPPED, detail))

    def take_others(self) -> Optional[ImageArchive]:
        """The archive's other images, for the caller to scan each (``None`` when it holds one).

        They are then no gap of this door. The archive shares what this door already read (the
        outer tarball's headers, a compressed tarball inflated once) and is closed on its own.
        """
        if self._blobs is None or not self.info.not_scanned:
            return None
        archive = ImageArchive(self._blobs, self.info.not_scanned + 1)
        self._blobs = None  # the archive owns its descriptor now
        self.gaps = tuple(g for g in self.gaps if g.reason is not GapReason.CHECK_SKIPPED)
        return archive

    @property
    def others_not_scanned(self) -> int:
        """The archive's other images that no one scans (0 once :meth:`take_others` took them)."""
        return self.info.not_scanned if self._blobs is not None else 0

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())
        if self._blobs is not None:
            while self._blobs.fds:
                os.close(self._blobs.fds.pop())

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self.close()

    # -- the door ------------------------------------------------------------------------------

    def lstat(self, host: str) -> os.stat_result:
        return self._stat(self._node(host, follow=False))

    def readlink(self, host: str) -> str:
        node = self._node(host, follow=False)
        if node.kind != LINK:
            raise HostReadError(host, GapReason.OS_ERROR, "Invalid argument: not a symbolic link")
        return node.link

    def scandir(self, host: str, follow: bool = True, inode: int = 0) -> List[Listed]:
        node = self._node(host, follow=follow)
        if node.kind == LINK:
            detail = "symbolic link: not followed"
            raise HostReadError(host, GapReason.SYMLINK_LOOP, detail)
        if node.children is None:
            raise HostReadError(host, GapReason.VANISHED, "Not a directory")
        return [(n, c.kind, c.ino) for n, c in node.children.items()]

    def open(self, host: str, follow: bool, seen: Optional[os.stat_result] = None) -> _MemberFile:
        # an image does not change while it is read: the lookup is as cheap as lstat, ``seen``
        # needs no comparing
        node = regular_node(host, follow, lambda last: self._node(host, follow=last))
        if node.source < 0:
            raise HostReadError(host, GapReason.PARSE_ERROR, "content not stored in the image")
        return _MemberFile(self._sources[node.source], node.offset, node.size)

    def resolve(self, host: str) -> HostPath:
        names, _node, rest = self._walk(host, follow_last=True)
        return HostPath("/" + "/".join([*names, *rest]))

    # -- image facts ---------------------------------------------------------------------------

    def layer_of(self, host: str) -> Optional[LayerInfo]:
        """The layer that put the file at ``host`` (its last writer), if it is in the image."""
        try:
            node = self._node(host, follow=False)
        except HostReadError:
            return None
        if 0 <= node.layer < len(self.info.layers):
            return self.info.layers[node.layer]
        return None

    # -- lookup --------------------------------------------------------------------------------

    def _node(self, host: str, follow: bool) -> _Node:
        _names, node, rest = self._walk(host, follow_last=follow)
        if rest or node is None:
            raise HostReadError(host, GapReason.VANISHED, "No such file or directory")
        return node

    def _walk(self, host: str, follow_last: bool) -> Tuple[List[str], Optional[_Node], List[str]]:
        """Resolve ``host`` inside the image; return the canonical names, the node (``None``
        when missing) and the unresolved tail (kept as given)."""
        trailing = host.endswith("/") or host.endswith("/.") or host.endswith("/..")
        pending: Deque[str] = deque(parts(host))
        stack: List[_Node] = [self._index.root]
        names: List[str] = []
        hops = 0
        while pending:
            part = pending.popleft()
            if part == "..":
                if names:
                    names.pop()
                    stack.pop()
                continue
            here = stack[-1]
            child = here.children.get(part) if here.children is not None else None
            if child is None:
                return names, None, [part, *pending]
            if child.kind == LINK and (pending or follow_last or trailing):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    detail = "too many levels of symbolic links"
                    raise HostReadError(host, GapReason.SYMLINK_LOOP, detail)
                if child.link.startswith("/"):
                    del names[:]
                    del stack[1:]
                pending.extendleft(reversed(parts(child.link)))
                continue
            if pending and child.children is None:
                return [*names, part], None, list(pending)
            names.append(part)
            stack.append(child)
        node = stack[-1]
        if trailing and node.children is None:
            return names, None, [""]
        return names, node, []

    def _stat(self, node: _Node) -> os.stat_result:
        """As ``os.lstat`` gives it: a link's size is its target's length, ``st_blocks`` counts
        the bytes the layer holds (a GNU sparse member none: it is refused when read), and the
        ``*_ns`` times are set (a tuple alone leaves ``st_blocks`` ``None``)."""
        size = len(os.fsencode(node.link)) if node.kind == LINK else node.size
        blocks = 0 if node.kind == FILE and node.source < 0 else (size + 511) // 512
        when = node.mtime
        ns = int(when * 1_000_000_000)
        extra = {"st_atime_ns": ns, "st_mtime_ns": ns, "st_ctime_ns": ns, "st_blocks": blocks}
        head = (node.mode, node.ino, 0, 1, node.uid, node.gid, size, when, when, when)
        return os.stat_result(head, extra)


# -- opening an image ----------------------------------------------------------------------------


class _Blobs:
    """The blobs of an image: files of a layout directory, or members of a tarball."""

    def __init__(self, path: Path, parent: Optional[_Blobs] = None) -> None:
        self.path = path
        self.fds: List[int] = []
        self._members: Dict[str, tarfile.TarInfo] = {}
        self._fd = -1
        self._size = 0
        if parent is not None:  # a clone: the same headers, its own descriptor
            self._members, self._size = parent._members, parent._size
            if parent._fd >= 0:
                self._fd = os.dup(parent._fd)
                self.fds.append(self._fd)
            return
        if path.is_dir():
            return
        # A link the analyst gave (an evidence store's name for the file) is what it names, as
        # for a disk image; only the blobs inside a layout are opened without following.
        fd = _open_ro(Path(os.path.realpath(path)) if path.is_symlink() else path)
        self.fds.append(fd)
        size = os.fstat(fd).st_size
        kind = _compression(_pread(fd, 4, 0))
        if kind:
            fd, size = _inflate(_Source(fd, 0, size), kind, f"{path.name}", self.fds)
        self._fd, self._size = fd, size
        try:
            with tarfile.open(fileobj=_reader(fd, 0, size), mode="r:") as outer:
                for member in _members(outer):
                    self._members[_normal(member.name)] = member
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise ImageError(
                f"{path}: not a readable image tarball (truncated or corrupt): {exc}"
            ) from exc
        if not self._members:
            raise ImageError(f"{path}: an empty tar archive, not an image")

    def clone(self) -> _Blobs:
        """The same blobs, on a descriptor of their own (closed with the clone's door)."""
        return _Blobs(self.path, self)

    def exists(self, name: str) -> bool:
        if self._fd < 0:
            return (self.path / name).is_file()
        return _normal(name) in self._members

    def source(self, name: str) -> _Source:
        """Where the bytes of blob ``name`` are."""
        if self._fd < 0:
            target = self.path / name
            if ".." in Path(name).parts or not target.is_file():
                raise ImageError(f"{self.path}: blob {name} is missing")
            # A link inside the layout (the blobs directory, a blob) must not lead out of it:
            # O_NOFOLLOW guards the last name only.
            home = os.path.realpath(self.path)
            if not os.path.realpath(target).startswith(home.rstrip("/") + "/"):
                what = "is a link leading outside the image layout: not read"
                raise ImageError(f"{self.path}: {name} {what}")
            fd = _open_ro(target)
            self.fds.append(fd)
            return _Source(fd, 0, os.fstat(fd).st_size)
        member = self._member(name)
        if member.offset_data + member.size > self._size:
            raise ImageError(f"{self.path}: {name} is truncated (the tarball ends before it)")
        return _Source(self._fd, member.offset_data, member.size)

    def _member(self, name: str) -> tarfile.TarInfo:
        key = _normal(name)
        for _ in range(MAX_SYMLINK_HOPS):
            member = self._members.get(key)
            if member is None:
                break
            if member.isfile():
                return member
            if not (member.issym() or member.islnk()):
                break
            base = "" if member.islnk() else key.rpartition("/")[0]
            key = _normal(f"{base}/{member.linkname}" if base else member.linkname)
        raise ImageError(f"{self.path}: blob {name} is missing from the tarball")

    def json(self, name: str) -> Any:
        source = self.source(name)
        if source.size > MAX_JSON_BYTES:
            raise ImageError(f"{self.path}: {name} is larger than {MAX_JSON_BYTES} bytes")
        try:
            return json.loads(_pread(source.fd, source.size, source.start).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ImageError(f"{self.path}: {name} is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class _Layer:
    blob: str
    digest: str
    media_type: str


def open_image(path: Path) -> ImageDoor:
    """Read the first image of ``path`` (its manifest, config and layer headers) and build its
    final filesystem. The archive's other images are a gap of the door, unless the caller takes
    them (:meth:`ImageDoor.take_others`) to scan each.

    Raises:
        ImageError: not an image, a missing or truncated blob, a corrupt layer, an unsupported
            layer compression, or a bound exceeded; the message names what and where.
    """
    if not path.exists():
        raise ImageError(f"{path}: no such image file or directory")
    with _naming(path, 0):
        return _open(_Blobs(path), path, 0, keep_others=True)


class ImageArchive:
    """The images of one archive after its first (``docker save a b``, an OCI index of several
    images), each opened on its own: :meth:`open` one, scan it, close it, then the next."""

    def __init__(self, blobs: _Blobs, count: int) -> None:
        self._blobs = blobs
        self.count = count
        """Images the archive lists (the first included)."""

    @property
    def source(self) -> Path:
        """The archive's path."""
        return self._blobs.path

    def open(self, position: int) -> ImageDoor:
        """The archive's image at ``position`` (1 is the second it lists).

        Raises:
            ImageError: that image cannot be read (the others may still be).
        """
        with _naming(self._blobs.path, position):
            return _open(self._blobs.clone(), self._blobs.path, position, keep_others=False)

    def close(self) -> None:
        """Release the archive's descriptor (the doors opened from it keep their own)."""
        while self._blobs.fds:
            os.close(self._blobs.fds.pop())

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _naming(path: Path, position: int) -> Iterator[None]:
    """Put the image (and which of its archive's images) in front of an error's message."""
    try:
        yield
    except ImageError as exc:
        where = f"{path}" if not position else f"{path} (image {position + 1})"
        if str(exc).startswith(where):
            raise
        text = str(exc)
        if text.startswith(f"{path}: "):
            text = text[len(f"{path}: ") :]
        named = ImageError(f"{where}: {text}")
        named.others = exc.others
        raise named from exc


def _open(blobs: _Blobs, path: Path, position: int, keep_others: bool) -> ImageDoor:
    count = 0
    try:
        count = _count(blobs) if keep_others else 0
        info, layers = _manifest(blobs, path, position)
        index = _Index()
        sources: List[_Source] = []
        for number, layer in enumerate(layers):
            source = _layer_source(blobs, layer)
            sources.append(source)
            _apply(index, source, number, len(sources) - 1, layer.digest)
    except ImageError as exc:
        if count > 1:
            exc.others = ImageArchive(blobs.clone(), count)
        _close_all(blobs.fds)
        raise
    except BaseException:
        _close_all(blobs.fds)
        raise
    others = blobs.clone() if keep_others and info.not_scanned else None
    return ImageDoor(info, index, sources, blobs.fds, others)


def _close_all(fds: List[int]) -> None:
    while fds:
        os.close(fds.pop())


def _count(blobs: _Blobs) -> int:
    """How many images the archive lists (0 when its listing cannot be read: the manifest's own
    error then says why)."""
    try:
        if blobs.exists("manifest.json") and not blobs.exists("oci-layout"):
            listed = blobs.json("manifest.json")
        elif blobs.exists("index.json"):
            return len(_oci_images(blobs, blobs.path))
        else:
            listed = blobs.json("manifest.json") if blobs.exists("manifest.json") else None
    except ImageError:
        return 0
    return len(listed) if isinstance(listed, list) else 0


def _manifest(blobs: _Blobs, path: Path, which: int) -> Tuple[ImageInfo, List[_Layer]]:
    """Find the config and layers of the archive's image ``which``: from Docker's
    ``manifest.json`` or an OCI ``index.json``."""
    if blobs.exists("manifest.json") and not blobs.exists("oci-layout"):
        return _docker_manifest(blobs, path, which)
    if blobs.exists("index.json"):
        return _oci_manifest(blobs, path, which)
    if blobs.exists("manifest.json"):
        return _docker_manifest(blobs, path, which)
    raise ImageError(f"{path}: neither an OCI image layout (index.json) nor a docker save archive")


def _docker_manifest(blobs: _Blobs, path: Path, which: int) -> Tuple[ImageInfo, List[_Layer]]:
    entries = blobs.json("manifest.json")
    if not isinstance(entries, list) or len(entries) <= which:
        raise ImageError(f"{path}: manifest.json lists no image")
    entry = entries[which]
    if not isinstance(entry, dict):
        raise ImageError(f"{path}: manifest.json's entry {which + 1} is not an object")
    config_name = entry.get("Config")
    layer_names = entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list):
        raise ImageError(f"{path}: manifest.json has no Config or Layers")
    config = blobs.json(config_name)
    diff_ids = _get(config, "rootfs", "diff_ids") or []
    layers: List[_Layer] = []
    for i, name in enumerate(layer_names):
        if not isinstance(name, str):
            raise ImageError(f"{path}: manifest.json names a layer that is not a path")
        digest = _blob_digest(name) or (diff_ids[i] if i < len(diff_ids) else f"layer {i}")
        layers.append(_Layer(name, str(digest), ""))
    listed = entry.get("RepoTags")
    tags = [str(t) for t in listed if isinstance(t, str)] if isinstance(listed, list) else []
    digest = _blob_digest(config_name) or f"sha256:{config_name.split('.')[0]}"
    return _info(path, tags, config, digest, layers, len(entries) - 1, which), layers


@dataclass(frozen=True)
class _OciImage:
    """One image of an OCI index: its names, and its manifest's descriptor (or why it has none)."""

    tags: Tuple[str, ...]
    descriptor: Any
    problem: str = ""


def _oci_images(blobs: _Blobs, path: Path) -> List[_OciImage]:
    """The images ``index.json`` lists, in order. An entry that is itself an index (a
    multi-platform image) gives one image per platform whose manifest the archive holds (its
    Linux platforms, else all; attestations, platform ``unknown``, left out), each named
    ``<ref> [<os>/<arch>]`` when there are several; one platform keeps the plain name."""
    index = blobs.json("index.json")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise ImageError(f"{path}: index.json lists no manifest")
    images: List[_OciImage] = []
    for descriptor in manifests:
        ref = _ref_name(descriptor)
        tags = (ref,) if ref else ()
        try:
            found = _platforms(blobs, descriptor, path)
        except ImageError as exc:
            images.append(_OciImage(tags, descriptor, str(exc)))
            continue
        if len(found) == 1:
            images.append(_OciImage(tags, found[0][1]))
            continue
        for platform, manifest in found:
            images.append(_OciImage(tuple(f"{t} [{platform}]" for t in tags), manifest))
    return images


def _platforms(blobs: _Blobs, descriptor: Any, path: Path) -> List[Tuple[str, Any]]:
    """(``os/arch``, manifest descriptor) of each platform an index entry stands for."""
    pending: List[Tuple[Any, int]] = [(descriptor, 0)]
    found: List[Tuple[str, Any]] = []
    while pending:
        entry, depth = pending.pop(0)
        if depth > 3:
            raise ImageError(f"{path}: image indexes nested too deep")
        document = blobs.json(_blob_path(entry, path))
        if not isinstance(document, dict):
            raise ImageError(f"{path}: manifest is not an object")
        nested = document.get("manifests")
        if not isinstance(nested, list) or not nested:
            found.append((_platform(entry), entry))
            continue
        present = [m for m in nested if _has_blob(blobs, m)]
        linux = [m for m in present if _get(m, "platform", "os") in (None, "linux")]
        chosen = linux or [m for m in present if _get(m, "platform", "os") != "unknown"]
        if not chosen:
            raise ImageError(f"{path}: an image index whose manifests are not in the archive")
        pending.extend((m, depth + 1) for m in chosen)
    return found


def _platform(descriptor: Any) -> str:
    platform = _get(descriptor, "platform")
    if not isinstance(platform, dict):
        return "?"
    parts_ = [str(platform.get(k)) for k in ("os", "architecture", "variant") if platform.get(k)]
    return "/".join(parts_) or "?"


def _has_blob(blobs: _Blobs, descriptor: Any) -> bool:
    try:
        return blobs.exists(_blob_path(descriptor, blobs.path))
    except ImageError:
        return False


def _oci_manifest(blobs: _Blobs, path: Path, which: int) -> Tuple[ImageInfo, List[_Layer]]:
    images = _oci_images(blobs, path)
    if len(images) <= which:
        raise ImageError(f"{path}: index.json lists no manifest")
    image = images[which]
    if image.problem:
        raise ImageError(image.problem)
    manifest = blobs.json(_blob_path(image.descriptor, path))
    if not isinstance(manifest, dict):
        raise ImageError(f"{path}: manifest is not an object")
    config_desc = manifest.get("config")
    layer_descs = manifest.get("layers")
    if not isinstance(config_desc, dict) or not isinstance(layer_descs, list):
        raise ImageError(f"{path}: manifest has no config or layers")
    config = blobs.json(_blob_path(config_desc, path))
    layers = [
        _Layer(_blob_path(d, path), str(d.get("digest")), str(d.get("mediaType") or ""))
        for d in layer_descs
        if isinstance(d, dict)
    ]
    digest = str(config_desc.get("digest"))
    return _info(path, list(image.tags), config, digest, layers, len(images) - 1, which), layers


def image_name(name: str, config_digest: str) -> str:
    """What an image is called: its tag or reference, else its config digest's first 12 hex
    digits (``sha256:0123456789ab``), as ``docker images`` shows an untagged image."""
    if name:
        return name
    algorithm, _, hexdigest = config_digest.partition(":")
    return f"{algorithm}:{hexdigest[:12]}" if hexdigest else config_digest or "image"


def _info(
    path: Path,
    tags: List[str],
    config: Any,
    digest: str,
    layers: List[_Layer],
    more: int,
    which: int = 0,
) -> ImageInfo:
    from sitesweep.redact import redact_argv, redact_text

    inner = _get(config, "config") or {}
    history = [h for h in (_get(config, "history") or []) if isinstance(h, dict)]
    built = [str(h.get("created_by") or "") for h in history if not h.get("empty_layer")]
    env = [str(e).partition("=")[0] for e in (_get(inner, "Env") or []) if isinstance(e, str)]
    labels = _get(inner, "Labels") or {}
    pip = tuple(
        redact_text(str(h.get("created_by")))
        for h in history
        if "pip install" in str(h.get("created_by") or "")
        or "pip3 install" in str(h.get("created_by") or "")
    )
    infos = tuple(
        LayerInfo(
            layer.digest,
            layer.media_type,
            0,
            redact_text(built[i]) if i < len(built) else "",
        )
        for i, layer in enumerate(layers)
    )
    return ImageInfo(
        source=str(path),
        name=image_name(tags[0] if tags else "", digest),
        tags=tuple(tags),
        not_scanned=more,
        position=which,
        layers=infos,
        config_digest=digest,
        entrypoint=redact_argv(_strings(_get(inner, "Entrypoint"))),
        cmd=redact_argv(_strings(_get(inner, "Cmd"))),
        env_names=tuple(sorted(set(env))),
        labels=tuple(sorted((str(k), redact_text(str(v))) for k, v in labels.items()))
        if isinstance(labels, dict)
        else (),
        pip_history=pip,
        os=str(_get(config, "os") or ""),
        architecture=str(_get(config, "architecture") or ""),
    )


def _layer_source(blobs: _Blobs, layer: _Layer) -> _Source:
    source = blobs.source(layer.blob)
    kind = _compression(_pread(source.fd, 4, source.start))
    if not kind and "zstd" in layer.media_type:
        kind = "zstd"
    elif not kind and "gzip" in layer.media_type:
        kind = "gzip"
    if kind:
        fd, size = _inflate(source, kind, f"layer {layer.digest}", blobs.fds)
        return _Source(fd, 0, size)
    return source


def _compression(head: bytes) -> str:
    """``gzip`` or ``zstd`` by a stream's magic bytes; empty for anything else (a plain tar)."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    return ""


def _inflate(source: _Source, kind: str, what: str, fds: List[int]) -> Tuple[int, int]:
    """Decompress a gzip or zstd stream once into an anonymous temporary file; return its fd
    and size (at most :data:`MAX_LAYER_BYTES`, and :data:`INFLATE_RATIO` times the compressed
    size past :data:`INFLATE_FLOOR`; concatenated members or frames all read)."""
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise ImageError(f"{what}: zstd-compressed, reading it needs {IMAGES_EXTRA}") from None
        errors: Tuple[type[Exception], ...] = (zstandard.ZstdError,)
    else:
        errors = (zlib.error,)
    with anonymous_file("sitesweep-layer-") as tmp:
        fd = os.dup(tmp.fileno())
    fds.append(fd)
    decoder = _Decoder(kind)
    done, total = 0, 0
    cap = min(MAX_LAYER_BYTES, max(INFLATE_FLOOR, INFLATE_RATIO * source.size))
    try:
        while done < source.size:
            chunk = _pread(source.fd, min(_CHUNK, source.size - done), source.start + done)
            if not chunk:
                break
            done += len(chunk)
            for out in decoder.feed(chunk):
                total += len(out)
                if total > cap:
                    raise ImageError(
                        f"{what}: decompresses to more than {cap} bytes from {source.size} "
                        "(a decompression bomb?)"
                    )
                _write_all(fd, out)
        if decoder.pending or done < source.size or not total:
            raise ImageError(f"{what}: truncated {kind} stream")
    except errors as exc:
        raise ImageError(f"{what}: corrupt {kind} stream: {exc}") from exc
    return fd, total


class _Decoder:
    """A gzip or zstd stream decoder yielding bounded pieces of output; ``pending`` is true while
    a member (gzip) or frame (zstd) has begun and not ended."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.pending = False
        self._new()

    def _new(self) -> None:
        if self.kind == "zstd":
            import zstandard

            self._zstd = zstandard.ZstdDecompressor().decompressobj()
        else:
            self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if self.kind == "zstd":
            yield from self._feed_zstd(chunk)
            return
        while chunk:
            self.pending = True
            out = self._gzip.decompress(chunk, _CHUNK)
            yield out
            if self._gzip.eof:  # a multi-member gzip: start the next member
                chunk = self._gzip.unused_data
                self._new()
                self.pending = False
            else:
                chunk = self._gzip.unconsumed_tail

    def _feed_zstd(self, chunk: bytes) -> Iterator[bytes]:
        view = memoryview(chunk)
        while view:
            piece, view = view[:_ZSTD_FEED], view[_ZSTD_FEED:]
            while piece:
                self.pending = True
                yield self._zstd.decompress(piece)
                if not self._zstd.eof:
                    break
                # a frame ended: the rest of the piece starts the next frame
                piece = memoryview(self._zstd.unused_data)
                self._new()
                self.pending = False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _apply(index: _Index, source: _Source, layer: int, source_no: int, digest: str) -> None:
    """Apply one layer's members to the index, whiteouts included."""
    try:
        with tarfile.open(fileobj=_reader(source.fd, source.start, source.size), mode="r:") as tf:
            for member in _members(tf):
                if member.offset_data + (member.size if member.isfile() else 0) > source.size:
                    raise ImageError(f"layer {digest}: truncated at {member.name!r}")
                index.entries += 1
                if index.entries > MAX_ENTRIES:
                    raise ImageError(f"more than {MAX_ENTRIES} files in the image's layers")
                _apply_member(index, member, layer, source_no)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ImageError(f"layer {digest}: not a readable tar stream: {exc}") from exc


def _apply_member(index: _Index, member: tarfile.TarInfo, layer: int, source_no: int) -> None:
    names = [p for p in _normal(member.name).split("/") if p]
    if not names:
        return  # the root directory itself
    if ".." in names:  # a name that climbs: never part of the filesystem (nor written anywhere)
        index.problems.append(("/" + "/".join(names), f"layer {layer}: member name climbs out"))
        return
    parent = _ensure_dir(index, names[:-1], layer)
    base = names[-1]
    if parent.children is None:  # _ensure_dir gives directories only
        return
    if base == _OPAQUE:
        _prune_lower(parent, layer)
        return
    if base.startswith(_WHITEOUT):
        gone = parent.children.get(base[len(_WHITEOUT) :])
        if gone is not None and gone.layer < layer:
            del parent.children[base[len(_WHITEOUT) :]]
        return
    node = _node_for(index, member, layer, source_no)
    if node is None:
        return
    old = parent.children.get(base)
    if node.kind == DIR and old is not None and old.kind == DIR:
        old.mode, old.uid, old.gid, old.mtime, old.layer = (
            node.mode,
            node.uid,
            node.gid,
            node.mtime,
            layer,
        )
        return
    index.next_ino += 1
    node.ino = index.next_ino
    parent.children[base] = node


def _node_for(
    index: _Index, member: tarfile.TarInfo, layer: int, source_no: int
) -> Optional[_Node]:
    perm = member.mode & 0o7777
    mtime = float(member.mtime)
    if not math.isfinite(mtime) or abs(mtime) > _MAX_TIME:  # a PAX header may say "nan", "1e300"
        where = "/" + _normal(member.name).strip("/")
        index.problems.append((where, f"layer {layer}: modification time {mtime} is no time"))
        mtime = 0.0
    common = {"uid": member.uid, "gid": member.gid, "mtime": mtime, "layer": layer}
    if member.isdir():
        return _Node(DIR, stat.S_IFDIR | perm, children={}, **common)  # type: ignore[arg-type]
    if member.issym():
        return _Node(LINK, stat.S_IFLNK | 0o777, link=member.linkname, **common)  # type: ignore[arg-type]
    if member.islnk():  # a hard link: the same bytes as a file already in the index
        target = _lookup(index, _normal(member.linkname))
        if target is None or target.kind != FILE:
            what = f"layer {layer}: hard link to {member.linkname!r}, not a file of the image"
            index.problems.append(("/" + _normal(member.name), what))
            return None
        return _Node(
            FILE,
            stat.S_IFREG | perm,
            size=target.size,
            source=target.source,
            offset=target.offset,
            **common,  # type: ignore[arg-type]
        )
    if member.isfile():
        sparse = member.issparse()
        return _Node(
            FILE,
            stat.S_IFREG | perm,
            size=member.size,
            source=-1 if sparse else source_no,
            offset=member.offset_data,
            **common,  # type: ignore[arg-type]
        )
    kind = stat.S_IFIFO if member.isfifo() else stat.S_IFCHR if member.ischr() else stat.S_IFBLK
    return _Node(OTHER, kind | perm, **common)  # type: ignore[arg-type]


def _ensure_dir(index: _Index, names: List[str], layer: int) -> _Node:
    node = index.root
    for name in names:
        if node.children is None:  # never: every node walked here is a directory
            node.children = {}
        child = node.children.get(name)
        if child is None or child.children is None:
            index.next_ino += 1
            child = _Node(DIR, stat.S_IFDIR | 0o755, layer=layer, ino=index.next_ino, children={})
            node.children[name] = child
        node = child
    return node


def _prune_lower(directory: _Node, layer: int) -> None:
    """An opaque directory: drop what the layers below put in it (this layer's entries stay)."""
    for name, child in list((directory.children or {}).items()):
        if child.layer < layer:
            del directory.children[name]  # type: ignore[union-attr]
        elif child.children is not None:
            _prune_lower(child, layer)


def _lookup(index: _Index, name: str) -> Optional[_Node]:
    node: Optional[_Node] = index.root
    for part in name.split("/"):
        if not part:
            continue
        if node is None or node.children is None:
            return None
        node = node.children.get(part)
    return node


# -- small helpers -------------------------------------------------------------------------------


def _members(tf: tarfile.TarFile) -> Any:
    """Iterate a tar's members without keeping them all (``TarFile`` would)."""
    while True:
        member = tf.next()
        if member is None:
            return
        tf.members = []  # type: ignore[attr-defined]  # do not keep every header
        yield member


def _reader(fd: int, start: int, size: int) -> IO[bytes]:
    return io.BufferedReader(FileWindow(fd, start, size), 1 << 16)


def _open_ro(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ImageError(f"{path}: cannot be opened: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ImageError(f"{path}: not a regular file")
    return fd


def _normal(name: str) -> str:
    return "/".join(p for p in name.split("/") if p and p != ".")


def _blob_digest(name: str) -> Optional[str]:
    parts_ = _normal(name).split("/")
    if len(parts_) == 3 and parts_[0] == "blobs":
        return f"{parts_[1]}:{parts_[2]}"
    return None


def _blob_path(descriptor: Any, path: Path) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise ImageError(f"{path}: a descriptor without a digest")
    algorithm, _, hexdigest = digest.partition(":")
    if not algorithm.isalnum() or not hexdigest.isalnum():
        raise ImageError(f"{path}: malformed digest {digest!r}")
    return f"blobs/{algorithm}/{hexdigest}"


def _ref_name(descriptor: Any) -> Optional[str]:
    notes = descriptor.get("annotations") if isinstance(descriptor, dict) else None
    if isinstance(notes, dict):
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            if isinstance(notes.get(key), str):
                return str(notes[key])
    return None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _strings(value: Any) -> List[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [value]
    return []
