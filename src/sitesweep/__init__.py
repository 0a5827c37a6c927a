"""sitesweep: find, on a host or a mounted image, the traces of a compromised Python library."""

from __future__ import annotations

__version__ = "0.1.0"
