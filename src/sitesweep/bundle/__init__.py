"""The triage bundle: the only code that writes (and later reads) bundle files."""

from __future__ import annotations
