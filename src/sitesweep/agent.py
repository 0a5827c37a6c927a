"""The deployable collector's entry point: ``python3 -I -S agent.pyz collect --output DIR``.

This module is the ``main`` of the zipapp built by ``sitesweep build-agent``. It needs only the
standard library, sitesweep's collection code and the pure-Python packages shipped beside it
(``packaging``, ``jinja2``, ``markupsafe``, ``tomli``; no click, no rich, nothing compiled), so
it runs on any Linux python3 >= 3.9 with ``-I -S``: the target's site-packages and its ``.pth``
files are never processed. Where psutil is missing, :mod:`sitesweep.agent_psutil` stands in.
The built-in packs are read from inside the archive (copied to a private temporary directory
that is removed before exit). With ``--match`` the agent also matches them, as ``analyze`` would
(every check but YARA, which needs compiled code: the controller runs it over the evidence the
bundle carries and merges its findings with the agent's). The last line on stdout names the bundle:
``SITESWEEP-BUNDLE <file name> <sha256> <size>``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import List, Optional, Sequence, Tuple

from sitesweep.scratch import scratch_dir

BUNDLE_LINE = "SITESWEEP-BUNDLE"
"""First word of the line that names the written bundle."""

EXIT_OK = 0
EXIT_ERROR = 2
CPU_NICE_INCREMENT = 10
_PACKS_IN_ARCHIVE = "sitesweep/signatures/"
_PLACEHOLDERS: List[str] = []


def reduced_checks(live: bool = True) -> Tuple[Tuple[str, str], ...]:
    """Name the checks that run in reduced form here because a compiled helper is missing.

    Processes and interface addresses are read on live collections only, so only those name them.
    Where the psutil stand-in serves, what it cannot give on this host (tried, not assumed: no
    ``/proc`` off Linux, no ``/proc/PID/net``, a refused ioctl) is named; on Linux with ``/proc``
    it gives processes with their connections and the interface addresses, so nothing is.
    """
    reduced: List[Tuple[str, str]] = []
    if live and ("psutil" in _PLACEHOLDERS or importlib.util.find_spec("psutil") is None):
        from sitesweep.agent_psutil import capabilities

        connections, addresses = capabilities()
        if not sys.platform.startswith("linux"):
            reduced.append(("processes", "psutil unavailable on target: not collected (no /proc)"))
        elif connections is not None:
            why = f"read from /proc, without connections ({connections})"
            reduced.append(("processes", f"psutil unavailable on target: {why}"))
        if addresses is not None:
            why = f"no interface addresses ({addresses})"
            reduced.append(("identity", f"psutil unavailable on target: {why}"))
    if importlib.util.find_spec("yara") is None:
        reduced.append(("yara", "yara-python unavailable on target; YARA runs in analyze"))
    return tuple(reduced)


def _install_psutil_placeholder() -> None:
    """Stand in for psutil with :mod:`sitesweep.agent_psutil` when the target has none.

    The real psutil is compiled and site-packages are off, so on a target it normally cannot be
    imported; the stand-in reads processes, their connections and the interface addresses from
    ``/proc`` and the kernel (see :mod:`sitesweep.agent_psutil`).
    """
    if "psutil" in sys.modules or importlib.util.find_spec("psutil") is not None:
        return
    from sitesweep.agent_psutil import as_module

    sys.modules["psutil"] = as_module()
    _PLACEHOLDERS.append("psutil")


def _archive_path() -> Optional[Path]:
    """The zipapp this module was imported from, or ``None`` when run from a normal install."""
    for parent in PurePosixPath(__file__).parents:
        candidate = Path(str(parent))
        if candidate.is_file() and zipfile.is_zipfile(candidate):
            return candidate
    return None


def _extract_packs(archive: Path, target: Path) -> Path:
    """Copy the packs shipped in ``archive`` into ``target``; return the signatures directory."""
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if not name.startswith(_PACKS_IN_ARCHIVE) or name.endswith("/"):
                continue
            parts = PurePosixPath(name).parts
            if ".." in parts:
                continue
            dest = target.joinpath(*parts[1:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(name))
    return target / "signatures"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent.pyz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    collect = sub.add_parser("collect", help="collect observations into a bundle")
    collect.add_argument("--output", required=True, type=Path)
    collect.add_argument("--root", type=Path, default=None)
    collect.add_argument("--exclude", action="append", default=[], help="host path not to walk")
    collect.add_argument(
        "--prune", action="append", default=[], help="directory name (or PARENT/NAME) not entered"
    )
    collect.add_argument(
        "--no-default-prune", action="store_true", help="enter git object stores too"
    )
    collect.add_argument("--io-nice", action="store_true", help="idle I/O priority")
    collect.add_argument("--cpu-nice", action="store_true", help="lower CPU priority (nice +10)")
    collect.add_argument("--case-id", help="case or ticket id, recorded in the manifest")
    collect.add_argument("--examiner", help="who runs the collection, recorded in the manifest")
    collect.add_argument("--note", help="free text for the manifest")
    collect.add_argument(
        "--match",
        action="store_true",
        help="also match the packs here (every check but YARA, which needs compiled code and "
        "runs on the controller over the shipped evidence); the findings go into the bundle",
    )
    collect.add_argument(
        "--encrypt-to",
        action="append",
        default=[],
        help="age public key to encrypt the bundle to (needs pyrage on the target)",
    )
    return parser


def _be_gentle(args: argparse.Namespace) -> None:
    """Lower CPU and I/O priority as asked; say on stderr what could not be done."""
    from sitesweep.niceness import lower_cpu_priority, set_idle_io_priority

    problems = [
        lower_cpu_priority(CPU_NICE_INCREMENT) if args.cpu_nice else None,
        set_idle_io_priority() if args.io_nice else None,
    ]
    for problem in problems:
        if problem is not None:
            sys.stderr.write(f"sitesweep agent: warning: {problem}\n")


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _collect(args: argparse.Namespace, argv: Sequence[str]) -> int:
    _install_psutil_placeholder()
    _be_gentle(args)
    from sitesweep.discovery.model import FsPolicy
    from sitesweep.discovery.walk import DEFAULT_PRUNE
    from sitesweep.pipeline import ScanOptions, run_collect, run_scan

    archive = _archive_path()
    with scratch_dir("sitesweep-agent-") as scratch:
        signatures: Tuple[Path, ...] = ()
        if archive is not None:
            signatures = (_extract_packs(archive, scratch),)
        opts = ScanOptions(
            root=args.root,
            output=args.output,
            signatures=signatures,
            builtin_packs=archive is None,
            fs_policy=FsPolicy.LOCAL,
            exclude=tuple(args.exclude),
            argv=("agent.pyz", *argv),
            reduced=reduced_checks(live=args.root is None),
            prune=frozenset(args.prune) | (frozenset() if args.no_default_prune else DEFAULT_PRUNE),
            case_id=args.case_id,
            examiner=args.examiner,
            note=args.note,
            encrypt_to=tuple(args.encrypt_to),
        )
        outcome = run_scan(opts) if args.match else run_collect(opts)
    assert outcome.bundle is not None  # noqa: S101 - output is always set
    tarball = outcome.bundle.archive
    line = f"{BUNDLE_LINE} {tarball.name} {_sha256(tarball)} {tarball.stat().st_size}"
    sys.stdout.write(line + "\n")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the agent; errors go to stderr and exit 2."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(args_list)
    try:
        return _collect(args, args_list)
    except Exception as exc:  # noqa: BLE001 - the one place any failure becomes exit 2
        sys.stderr.write(f"sitesweep agent: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


def run() -> None:
    """The zipapp's entry point: :func:`main` with its exit code."""
    sys.exit(main())
