"""Writing outputs safely: never through a planted link, never into a bundle.

Output directories are often shared (``/tmp``, a case share) and their names predictable (a
bundle is named after the host and the second it started). Whoever can write there could plant
``sitesweep-web1-20260324T104500Z.tar.gz -> /etc/cron.d/x`` and have the next scan write through
it, or point a report at a bundle directory and break that bundle's ``verify``. So every file
sitesweep writes is either

* created new: :func:`open_new` (``O_CREAT | O_EXCL | O_NOFOLLOW``: an existing name, a link
  included, is an error, nothing is written through it), for a name chosen to be unused; or
* replaced whole: :func:`write_new` (a new file of a random name beside it, then renamed over
  the name: a rename replaces a planted link instead of following it), for a name that is
  rewritten (``fleet.json``, ``sweep.json``, a pack, an index cache entry);

and every command refuses an output directory that is a bundle (:func:`refuse_bundle_dir`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import BinaryIO, Union

from sitesweep.errors import OutputError

__all__ = ["is_bundle_dir", "open_new", "refuse_bundle_dir", "write_new"]

_BUNDLE_MARKS = ("manifest.json", "inventory.json")
"""What a bundle (or an analysis) directory holds; a report or scan is never written among them."""

_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_NEW |= getattr(os, "O_CLOEXEC", 0)


def is_bundle_dir(directory: Path) -> bool:
    """Whether ``directory`` holds a bundle's (or an analysis's) files."""
    return any(os.path.lexists(directory / mark) for mark in _BUNDLE_MARKS)


def refuse_bundle_dir(directory: Path, what: str) -> None:
    """Raise :class:`OutputError` when ``directory`` is a bundle: ``what`` written there would
    break its ``verify`` (its manifest lists every file)."""
    if is_bundle_dir(directory):
        raise OutputError(
            f"{directory} is a bundle directory: {what} written there would break its verify; "
            "pass another --output"
        )


def open_new(path: Path, mode: int = 0o644) -> BinaryIO:
    """A new file at ``path`` opened for writing; an existing name (a link too) is an error.

    Raises:
        OSError: ``FileExistsError`` when anything is at ``path``; ``ELOOP`` for a link.
    """
    fd = os.open(path, _NEW, mode)
    return os.fdopen(fd, "wb")


def write_new(path: Path, data: Union[str, bytes], mode: int = 0o644) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` without ever following a link planted there.

    The data goes to a new file of a random name beside ``path`` (:func:`open_new`), which is
    then renamed over ``path``: a rename replaces a link at ``path`` instead of writing through it.
    """
    part = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open_new(part, mode) as fh:
            fh.write(raw)
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
