"""Write a triage bundle: staging dir, evidence copies, JSON files, manifest last, ``.tar.gz``.

Nothing else in sitesweep writes files. The bundle is built in ``<name>.partial`` and renamed when
complete, so an interrupted run never leaves something that looks like a finished bundle.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from sitesweep import __version__
from sitesweep.bundle import layout
from sitesweep.bundle.report import render_text_report
from sitesweep.bundle.serialize import (
    coverage_doc,
    dumps,
    environment_dict,
    findings_doc,
    inventory_doc,
)
from sitesweep.engine import ScanResult
from sitesweep.errors import HostReadError, OutputError
from sitesweep.hostfs import HostRoot
from sitesweep.metadata.model import HostFile
from sitesweep.model import Gap, HostPath

EVIDENCE_LIMIT = 64 << 20
"""Largest file copied as evidence; larger ones are listed with their hash only."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RunInfo:
    """Facts about the run that go into the manifest.

    Attributes:
        argv: the command line.
        started, finished: UTC times.
        mode: ``scan`` (observations and findings) or ``collect`` (observations only).
    """

    argv: Tuple[str, ...]
    started: datetime
    finished: datetime
    mode: str = "scan"


@dataclass(frozen=True)
class BundlePaths:
    """Where the bundle went."""

    directory: Path
    archive: Path


def bundle_name(hostname: str, started: datetime) -> str:
    """``sitesweep-<host>-<UTC time>``, safe as a file name."""
    host = _SAFE.sub("_", hostname).strip("._") or "host"
    return f"sitesweep-{host[:64]}-{started.strftime('%Y%m%dT%H%M%SZ')}"


def _unused_name(output: Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3``... so an earlier bundle is never overwritten."""
    candidate, n = name, 1
    while any((output / f"{candidate}{s}").exists() for s in ("", ".tar.gz", ".partial")):
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def evidence_files(result: ScanResult) -> List[HostFile]:
    """Files to copy: files of interest, executable .pth files, startup hooks."""
    inv = result.inventory
    chosen: Dict[str, HostFile] = {f.path: f for f in inv.files}
    chosen.update({p.file.path: p.file for p in inv.pth_files if p.exec_lines})
    chosen.update({h.file.path: h.file for h in inv.startup_hooks})
    return [chosen[k] for k in sorted(chosen)]


def tool_digest() -> str:
    """SHA-256 over the scanner's own installed source files (path and content)."""
    package = Path(__file__).resolve().parents[1]
    sha = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        sha.update(path.relative_to(package).as_posix().encode())
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


class _Writer:
    def __init__(self, result: ScanResult, root: HostRoot, staging: Path) -> None:
        self.result = result
        self.root = root
        self.staging = staging
        self.gaps: List[Gap] = []

    def write(self, name: str, text: str) -> None:
        target = self.staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def copy_evidence(self) -> List[Dict[str, object]]:
        index: List[Dict[str, object]] = []
        evidence_dir = self.staging / layout.EVIDENCE_DIR
        evidence_dir.mkdir()
        for file in evidence_files(self.result):
            entry: Dict[str, object] = {
                "host_path": file.path,
                "sha256": file.sha256,
                "size": file.size,
            }
            base = _SAFE.sub("_", file.path.rsplit("/", 1)[-1])[:100]
            name = f"{(file.sha256 or 'unhashed')[:16]}-{base}{layout.EVIDENCE_SUFFIX}"
            try:
                data = self.root.read_bytes(file.path, EVIDENCE_LIMIT)
            except HostReadError as exc:
                self.gaps.append(Gap("bundle", HostPath(file.path), exc.reason, exc.detail))
                entry["copied"] = False
                entry["reason"] = exc.detail
            else:
                target = evidence_dir / name
                target.write_bytes(data)
                target.chmod(0o444)
                entry["copied"] = True
                entry["bundle_path"] = f"{layout.EVIDENCE_DIR}/{name}"
                entry["copied_sha256"] = hashlib.sha256(data).hexdigest()
            index.append(entry)
        return index

    def manifest(self, run: RunInfo, extra_gaps: Sequence[Gap]) -> Dict[str, object]:
        inv = self.result.inventory
        files = sorted(
            p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file()
        )
        return {
            "schema_version": layout.SCHEMA_VERSION,
            "tool": {"name": "sitesweep", "version": __version__, "sha256": tool_digest()},
            "packs": [
                {"id": p.id, "version": p.version, "sha256": p.sha256}
                for p in self.result.packs.packs
            ],
            "host": {
                "hostname": inv.identity.hostname,
                "machine_id": inv.identity.machine_id,
                "os_release": inv.identity.os_release,
                "kernel": inv.identity.kernel,
            },
            "mode": run.mode,
            "scan_root": inv.root,
            "live": inv.live,
            "argv": list(run.argv),
            "started": run.started.isoformat().replace("+00:00", "Z"),
            "finished": run.finished.isoformat().replace("+00:00", "Z"),
            "bundle_gaps": [
                {"path": g.path, "reason": g.reason.value, "detail": g.detail} for g in extra_gaps
            ],
            "files": {name: _sha256_file(self.staging / name) for name in files},
        }


def write_bundle(result: ScanResult, root: HostRoot, output: Path, run: RunInfo) -> BundlePaths:
    """Write the bundle directory and its ``.tar.gz`` under ``output``.

    Raises:
        OutputError: the output directory cannot be created or written.
    """
    name = _unused_name(output, bundle_name(result.inventory.identity.hostname, run.started))
    final = output / name
    staging = output / f"{name}.partial"
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        writer = _Writer(result, root, staging)
        writer.write(layout.EVIDENCE_INDEX, dumps(writer.copy_evidence()))
        if run.mode != "collect":
            writer.write(layout.FINDINGS, dumps(findings_doc(result)))
        writer.write(
            layout.ENVIRONMENTS,
            dumps([environment_dict(e) for e in result.inventory.environments]),
        )
        writer.write(layout.INVENTORY, dumps(inventory_doc(result)))
        writer.write(layout.COVERAGE, dumps(coverage_doc(result, writer.gaps)))
        writer.write(layout.REPORT_TEXT, render_text_report(result, run.mode == "collect"))
        writer.write(layout.MANIFEST, dumps(writer.manifest(run, writer.gaps)))
        staging.replace(final)
        archive = output / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(final, arcname=name)
    except OSError as exc:
        raise OutputError(f"cannot write the bundle under {output}: {exc}") from exc
    return BundlePaths(final, archive)


def write_analysis(
    result: ScanResult, source: Path, source_manifest_sha256: str, output: Path, run: RunInfo
) -> Path:
    """Write the findings of ``analyze`` on a bundle into a new directory under ``output``.

    The source bundle is left untouched (its manifest still verifies); the new directory names it
    and records the SHA-256 of its manifest, so the analysis is tied to the evidence it judged.
    """
    base = source.name[: -len(".tar.gz")] if source.name.endswith(".tar.gz") else source.name
    stamp = run.started.strftime("%Y%m%dT%H%M%SZ")
    target = output / _unused_name(output, f"{base}-analysis-{stamp}")
    try:
        target.mkdir(parents=True)
        (target / layout.FINDINGS).write_text(dumps(findings_doc(result)), encoding="utf-8")
        (target / layout.COVERAGE).write_text(dumps(coverage_doc(result)), encoding="utf-8")
        (target / layout.REPORT_TEXT).write_text(render_text_report(result), encoding="utf-8")
        manifest = {
            "schema_version": layout.SCHEMA_VERSION,
            "mode": "analyze",
            "tool": {"name": "sitesweep", "version": __version__, "sha256": tool_digest()},
            "packs": [
                {"id": p.id, "version": p.version, "sha256": p.sha256} for p in result.packs.packs
            ],
            "source_bundle": {"path": str(source), "manifest_sha256": source_manifest_sha256},
            "argv": list(run.argv),
            "started": run.started.isoformat().replace("+00:00", "Z"),
            "finished": run.finished.isoformat().replace("+00:00", "Z"),
            "files": {
                n: _sha256_file(target / n)
                for n in (layout.FINDINGS, layout.COVERAGE, layout.REPORT_TEXT)
            },
        }
        (target / layout.MANIFEST).write_text(dumps(manifest), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the analysis under {output}: {exc}") from exc
    return target
