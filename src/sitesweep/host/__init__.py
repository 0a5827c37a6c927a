"""Observations about the host that are not Python environments: identity, users."""

from __future__ import annotations
