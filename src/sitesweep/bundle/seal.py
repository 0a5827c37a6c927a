"""Seal a finished bundle for transport: encrypt its archive with age, then drop the plaintext.

The bundle is staged as a directory and archived as usual; with recipients, the ``.tar.gz`` is
encrypted to ``<name>.tar.gz.age`` (written as ``.partial`` and renamed when complete) and the
plaintext directory and ``.tar.gz`` are then deleted, whether encryption worked or not: asked for
encryption, sitesweep never leaves a readable bundle behind. Deleting is an unlink, not a secure
wipe: on a host where that matters, point ``--output`` at an encrypted or memory-backed
filesystem.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Sequence

from sitesweep.bundle.age import AGE_SUFFIX, encrypt_file


def seal_bundle(directory: Path, archive: Path, recipients: Sequence[str]) -> Path:
    """Encrypt ``archive`` to ``recipients``; remove ``directory`` and ``archive``.

    Returns:
        The encrypted archive's path.

    Raises:
        EncryptionError: encryption failed (the plaintext is removed all the same).
    """
    sealed = archive.with_name(archive.name + AGE_SUFFIX)
    partial = directory / f".{sealed.name}.partial"  # in the bundle's own (private) directory
    try:
        encrypt_file(archive, partial, recipients)
        partial.chmod(0o600)
        partial.replace(sealed)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()
    return sealed
