"""Epoch seconds as ISO 8601 UTC, for any number a host's filesystem can hold.

A 64-bit timestamp filesystem stores times before year 1 and after 9999, which ``datetime`` cannot
represent. Such a time is a fact about the host (and a sign of tampering), so it is rendered, not
dropped: as ``epoch <seconds> (outside years 1-9999)``.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

__all__ = ["iso_utc"]


def iso_utc(epoch: float, timespec: str = "auto") -> str:
    """``epoch`` as ISO 8601 UTC with a ``Z``; explicit text for a time ``datetime`` cannot hold."""
    try:
        stamp = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        shown = repr(epoch) if not math.isfinite(epoch) else f"{epoch:.0f}"
        return f"epoch {shown} (outside years 1-9999)"
    return stamp.isoformat(timespec=timespec).replace("+00:00", "Z")
