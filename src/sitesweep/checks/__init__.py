"""Checks judge observations; they never touch the host. ``CHECKS`` is the explicit registry."""

from __future__ import annotations

from typing import Tuple, Type

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.caches import CachedAffectedArtifact
from sitesweep.checks.credentials import CredentialExposure, KubernetesAccess
from sitesweep.checks.devtools import DevToolConfigRuns
from sitesweep.checks.files import ArtifactHashes, IndicatorFiles
from sitesweep.checks.history import HistoryAffectedInstall
from sitesweep.checks.importtime import ImportTimeCode, PthWithoutOwner, ReleaseShape
from sitesweep.checks.index_witness import IndexWitnessCheck
from sitesweep.checks.integrity import RecordMismatch
from sitesweep.checks.kubernetes import ClusterPods
from sitesweep.checks.lockfiles import LockedAffectedVersion
from sitesweep.checks.packages import AffectedInstalled
from sitesweep.checks.persistence import (
    IndexRedirect,
    ModifiedInWindow,
    PackPersistencePaths,
    PythonFromHiddenDir,
    RunsFromWritableDir,
)
from sitesweep.checks.persistence_forms import PackScriptStarted, PosingPersistence
from sitesweep.checks.processes import InlineDecodeExec, ProcessIndicators, SuspiciousLocation
from sitesweep.checks.staging import StagedInTemp
from sitesweep.checks.startup import CustomizeHooks, PthExecutableLines
from sitesweep.checks.yara import YaraRules

CHECKS: Tuple[Type[Check], ...] = (
    AffectedInstalled,
    IndicatorFiles,
    ArtifactHashes,
    PthExecutableLines,
    CustomizeHooks,
    ImportTimeCode,
    ReleaseShape,
    PthWithoutOwner,
    StagedInTemp,
    DevToolConfigRuns,
    YaraRules,
    RecordMismatch,
    CachedAffectedArtifact,
    LockedAffectedVersion,
    HistoryAffectedInstall,
    ProcessIndicators,
    InlineDecodeExec,
    SuspiciousLocation,
    PackPersistencePaths,
    PosingPersistence,
    PackScriptStarted,
    PythonFromHiddenDir,
    RunsFromWritableDir,
    ModifiedInWindow,
    IndexRedirect,
    CredentialExposure,
    KubernetesAccess,
    ClusterPods,
    IndexWitnessCheck,
)
"""Every check, in the order they run (and findings are reported within a severity)."""

__all__ = ["CHECKS", "Check", "CheckContext"]
