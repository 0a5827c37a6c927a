"""Encryption at rest with age (X25519 recipients), through pyrage, the bindings of rage.

age is a small, modern, well-specified file format with audited implementations (age in Go,
rage in Rust); responders already use ``age-keygen`` and can decrypt a bundle with the ``age``
command line without sitesweep. pyrage is an optional dependency (``sitesweep[encrypt]``): asking
for encryption without it is an error (exit 2), never a silent plaintext bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence

from sitesweep.errors import BundleError, SitesweepError

AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_SUFFIX = ".age"
IDENTITY_LIMIT = 1 << 20


class EncryptionError(SitesweepError):
    """Encryption was asked for but cannot be done (no pyrage, a bad recipient, a failure)."""


def _pyrage() -> Any:
    try:
        import pyrage
    except ImportError as exc:
        raise EncryptionError(
            "--encrypt-to needs pyrage (pip install 'sitesweep[encrypt]'); nothing was written"
        ) from exc
    return pyrage


def parse_recipients(recipients: Sequence[str]) -> List[Any]:
    """Check age X25519 public keys (``age1...``) before any work is done.

    Raises:
        EncryptionError: pyrage is missing or a recipient is not a valid age public key.
    """
    pyrage = _pyrage()
    parsed = []
    for text in recipients:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(text.strip()))
        except pyrage.RecipientError as exc:
            raise EncryptionError(f"not an age X25519 public key: {text!r} ({exc})") from exc
    return parsed


def encrypt_file(plain: Path, target: Path, recipients: Sequence[str]) -> None:
    """Encrypt ``plain`` to every recipient into ``target`` (streamed, not held in memory).

    Raises:
        EncryptionError: encryption failed (the caller removes the plaintext either way).
    """
    pyrage = _pyrage()
    keys = parse_recipients(recipients)
    try:
        pyrage.encrypt_file(str(plain), str(target), keys)
    except (pyrage.EncryptError, OSError) as exc:
        raise EncryptionError(f"cannot encrypt the bundle: {exc}") from exc


def is_encrypted(path: Path) -> bool:
    """Whether ``path`` starts with the age header."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(AGE_MAGIC)) == AGE_MAGIC
    except OSError:
        return False


def _identities(keyfile: Path) -> List[Any]:
    pyrage = _pyrage()
    try:
        if keyfile.stat().st_size > IDENTITY_LIMIT:
            raise BundleError(f"{keyfile}: too large for an age identity file")
        lines = keyfile.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{keyfile}: cannot read the identity: {exc}") from exc
    keys = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            keys.append(pyrage.x25519.Identity.from_str(text))
        except pyrage.IdentityError as exc:
            raise BundleError(f"{keyfile}: not an age X25519 identity file ({exc})") from exc
    if not keys:
        raise BundleError(f"{keyfile}: no AGE-SECRET-KEY line")
    return keys


def decrypt_file(encrypted: Path, keyfile: Path, target: Path) -> None:
    """Decrypt ``encrypted`` with the identities in ``keyfile`` into ``target``.

    Raises:
        BundleError: the identity is unreadable or does not open the file.
    """
    pyrage = _pyrage()
    keys = _identities(keyfile)
    try:
        pyrage.decrypt_file(str(encrypted), str(target), keys)
    except (pyrage.DecryptError, OSError) as exc:
        raise BundleError(f"{encrypted}: cannot decrypt with {keyfile}: {exc}") from exc
