"""``sitesweep signatures``: list, show, validate and import signature packs.

An invalid pack raises :class:`~sitesweep.errors.PackError`, which ``cli.main`` maps to exit code
2 with every problem (file and field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional, Tuple, TypeVar

import click

from sitesweep.cli.console import stderr, stdout
from sitesweep.cli.exit_codes import ExitCode
from sitesweep.cli.render_packs import render_pack_detail, render_pack_table
from sitesweep.outputs import refuse_bundle_dir
from sitesweep.packs import load_packs
from sitesweep.packs.describe import pack_doc, summarize, summary_doc
from sitesweep.packs.osv_pack import import_osv
from sitesweep.textsafe import printable

_F = TypeVar("_F", bound=Callable[..., Any])
_SKIPS_SHOWN = 20


def _signatures_option(func: _F) -> _F:
    """Add ``--signatures DIR`` (repeatable), the same option ``scan`` has."""
    option = click.option(
        "--signatures",
        "signatures",
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Extra signature pack directory (repeatable), loaded beside the built-in packs.",
    )
    return option(func)


def _json_option(func: _F) -> _F:
    """Add ``--json`` (machine output on stdout)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def _echo_json(doc: object) -> None:
    """Write ``doc`` as indented JSON on stdout."""
    click.echo(json.dumps(doc, indent=2, sort_keys=True))


@click.group()
def signatures() -> None:
    """List, show, validate and import signature packs."""


@signatures.command("list")
@_signatures_option
@_json_option
def list_packs(signatures: Tuple[Path, ...], as_json: bool) -> int:
    """List the loaded packs: id, version, title, affected releases, indicator counts."""
    rows = [summarize(pack) for pack in load_packs(signatures).packs]
    if as_json:
        _echo_json([summary_doc(row) for row in rows])
    else:
        render_pack_table(stdout(), rows)
    return ExitCode.OK


@signatures.command()
@click.argument("pack_id", metavar="ID")
@_signatures_option
@_json_option
def show(pack_id: str, signatures: Tuple[Path, ...], as_json: bool) -> int:
    """Show everything pack ID says."""
    packs = load_packs(signatures)
    pack = packs.get(pack_id)
    if pack is None:
        known = ", ".join(p.id for p in packs.packs) or "none"
        raise click.ClickException(f"no pack with id {pack_id!r} (loaded: {known})")
    if as_json:
        _echo_json(pack_doc(pack))
    else:
        render_pack_detail(stdout(), pack)
    return ExitCode.OK


@signatures.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path))
@_signatures_option
def validate(paths: Tuple[Path, ...], signatures: Tuple[Path, ...]) -> int:
    """Validate the packs in PATH (a pack or a directory of packs); default: the built-in ones.

    With --signatures only, the extra packs are validated beside the built-in ones (as scan
    would load them). Exit 0 when every pack is valid, 2 with every problem when not.
    """
    packs = load_packs((*paths, *signatures), builtin=not paths)
    ids = ", ".join(f"{p.id} ({p.version})" for p in packs.packs)
    stderr.print(
        printable(f"{len(packs.packs)} pack(s) valid: {ids}"), markup=False, highlight=False
    )
    return ExitCode.OK


@signatures.command("import-osv")
@click.argument("source", metavar="FILE|DIR", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Pack directory to write; its name is the pack id.",
)
@click.option("--force", is_flag=True, help="Replace an existing pack.toml in --output.")
@click.option(
    "--update",
    is_flag=True,
    help="Keep an imported pack in step with its feed: rewrite it only if records were added, "
    "changed or removed, and list them.",
)
@click.option("--all-skipped", is_flag=True, help="List every skipped item, not the first 20.")
def import_osv_command(
    source: Path, output: Path, force: bool, update: bool = False, all_skipped: bool = False
) -> int:
    """Turn OSV records of malicious PyPI packages (MAL- entries) into a pack.

    FILE|DIR is one record, a directory searched for them, or an OSV zip export (all.zip).
    """
    result = import_osv(source, output, overwrite=force, update=update)
    shown = result.skipped if all_skipped else result.skipped[:_SKIPS_SHOWN]
    for item in shown:
        stderr.print(
            printable(f"skipped {item}"), style="dim", markup=False, highlight=False, soft_wrap=True
        )
    if len(result.skipped) > len(shown):
        more = len(result.skipped) - len(shown)
        stderr.print(f"... {more} more skipped (--all-skipped lists them)", style="dim")
    for change in result.changes:
        stderr.print(printable(change), markup=False, highlight=False, soft_wrap=True)
    if update and not result.changes:
        up_to_date = f"{result.pack.source}: up to date"
        stderr.print(printable(up_to_date), markup=False, highlight=False, soft_wrap=True)
        return ExitCode.OK
    message = (
        f"wrote {result.pack.source}: {len(result.records)} record(s), "
        f"{len(result.pack.affected)} affected release(s), {len(result.skipped)} skipped"
    )
    stderr.print(printable(message), markup=False, highlight=False)
    return ExitCode.OK


_EXCHANGE_FORMATS = ("misp", "stix")


def _exchange_format(func: _F) -> _F:
    """Add ``--format misp|stix`` (export and import share it)."""
    option = click.option(
        "--format",
        "fmt",
        type=click.Choice(_EXCHANGE_FORMATS),
        required=True,
        help="misp: a MISP event (JSON); stix: a STIX 2.1 bundle.",
    )
    return option(func)


@signatures.command("export")
@click.argument("pack_id")
@_exchange_format
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (a new file) instead of stdout.",
)
@_signatures_option
def export_command(
    pack_id: str, fmt: str, output: Optional[Path], signatures: Tuple[Path, ...]
) -> int:
    """Export a pack's indicators as a MISP event or a STIX 2.1 bundle (needs the intel extra)."""
    pack = load_packs(signatures).get(pack_id)
    if pack is None:
        raise click.UsageError(f"no pack {pack_id!r} (see: sitesweep signatures list)")
    from sitesweep.intel import ExtraMissing
    from sitesweep.intel.misp import pack_to_misp
    from sitesweep.intel.stix import pack_to_stix

    try:
        text = pack_to_misp(pack) if fmt == "misp" else pack_to_stix(pack)
    except ExtraMissing as exc:
        stderr.print(printable(str(exc)), markup=False, highlight=False, soft_wrap=True)
        return ExitCode.ERROR
    if output is None:
        click.echo(text, nl=False)
        return ExitCode.OK
    refuse_bundle_dir(output.parent, "an export")
    try:
        with output.open("x", encoding="utf-8") as handle:  # O_EXCL: never through a link
            handle.write(text)
    except OSError as exc:
        raise click.UsageError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    stderr.print(printable(f"wrote {output}"), markup=False, highlight=False, soft_wrap=True)
    return ExitCode.OK


@signatures.command("import")
@click.argument(
    "source", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_exchange_format
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Pack directory to write; its name is the pack id.",
)
@click.option(
    "--affected",
    multiple=True,
    metavar="NAME==VERSION",
    help="An affected release the source does not name (repeatable): a pack needs one.",
)
@click.option("--force", is_flag=True, help="Replace an existing pack.toml in --output.")
def import_command(
    source: Path, fmt: str, output: Path, affected: Tuple[str, ...], force: bool
) -> int:
    """Turn a MISP event or a STIX 2.1 bundle into a pack (needs the intel extra)."""
    from sitesweep.intel import ExtraMissing
    from sitesweep.intel.misp import misp_to_draft
    from sitesweep.intel.stix import stix_to_draft
    from sitesweep.packs.draft import write_draft

    try:
        data = source.read_bytes()
        draft = (
            misp_to_draft(data, str(source)) if fmt == "misp" else stix_to_draft(data, str(source))
        )
    except ExtraMissing as exc:
        stderr.print(printable(str(exc)), markup=False, highlight=False, soft_wrap=True)
        return ExitCode.ERROR
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    for spec in affected:
        name, sep, version = spec.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise click.UsageError(f"--affected {spec!r}: expected NAME==VERSION")
        draft.affected.append(
            (name.strip(), (f"=={version.strip()}",), f"Named by --affected ({source.name}).")
        )
    pack = write_draft(draft, output, str(source), overwrite=force)
    for line in draft.skipped:
        stderr.print(
            printable(f"skipped {line}"), style="dim", markup=False, highlight=False, soft_wrap=True
        )
    message = (
        f"wrote {pack.source}: {len(pack.affected)} affected release(s), {len(pack.files)} file "
        f"and {len(pack.artifacts)} artifact indicator(s), {len(draft.skipped)} skipped"
    )
    stderr.print(printable(message), markup=False, highlight=False, soft_wrap=True)
    return ExitCode.OK
