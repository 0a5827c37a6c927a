"""Checks judge observations; they never touch the host. ``CHECKS`` is the explicit registry."""

from __future__ import annotations

from typing import Tuple, Type

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.files import ArtifactHashes, IndicatorFiles
from sitesweep.checks.packages import AffectedInstalled
from sitesweep.checks.startup import CustomizeHooks, PthExecutableLines

CHECKS: Tuple[Type[Check], ...] = (
    AffectedInstalled,
    IndicatorFiles,
    ArtifactHashes,
    PthExecutableLines,
    CustomizeHooks,
)
"""Every check, in the order they run (and findings are reported within a severity)."""

__all__ = ["CHECKS", "Check", "CheckContext"]
