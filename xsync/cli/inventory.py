"""`xsync inventory`: what the local DICOM tree holds, grouped into the sessions and scans XNAT
will make of it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xsync.cli.options import spec_option
from xsync.cli.progress import ScanProgressBar, stderr_is_terminal
from xsync.errors import EXIT_OK, UsageError

CACHE_NEXT_TO_SPEC = Path(".xsync") / "inventory.sqlite"


def _roots_and_cache(roots: tuple[Path, ...], spec_path: Path) -> tuple[tuple[Path, ...], Path]:
    """The roots to scan and the default cache: the spec's when no ROOTS are given."""
    if roots:
        return roots, spec_path.parent / CACHE_NEXT_TO_SPEC
    from xsync.spec import load_spec

    spec = load_spec(spec_path)
    if not spec.dicom.roots:
        raise UsageError(f"no DICOM roots: give ROOTS, or set dicom.roots in {spec_path}")
    return spec.dicom.roots, spec.dicom.cache


def _escaped(text: str) -> str:
    """Paths whose bytes are not valid UTF-8 (held as surrogate escapes) shown as `\\udcXX`,
    as in the messages on stderr, whatever the terminal's encoding."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


@click.command()
@click.argument("roots", nargs=-1, type=click.Path(path_type=Path))
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Print the inventory as JSON (format xsync-inventory/1).")
@click.option("--show-phi", is_flag=True, help="Show patient names, IDs, birth dates and patient comments.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too, not only on errors.")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The header cache (default: .xsync/inventory.sqlite next to the spec).",
)
@click.option("--no-cache", is_flag=True, help="Read every header again; neither read nor write the cache.")
def inventory(
    roots: tuple[Path, ...],
    spec_path: Path,
    as_json: bool,
    show_phi: bool,
    strict: bool,
    cache_path: Path | None,
    no_cache: bool,
) -> int:
    """List the DICOM under ROOTS (default: dicom.roots of the spec) as studies and series.

    For each study: date, description, the XNAT session type it will get; for each series:
    the scan ID and scan type XNAT will give it, file and instance counts, frames and bytes.
    Problems (unreadable, truncated or non-DICOM files, copies of one instance that differ,
    a series split across studies, a study spread over several roots, files without
    SeriesInstanceUID) go to stderr, each naming its files. Exit 1 when there are errors,
    or with --strict any warning.
    """
    from xsync.inventory import raise_for_diagnostics, scan
    from xsync.inventory.report import render_text, to_json
    from xsync.render.safe import shown

    if cache_path is not None and no_cache:
        raise UsageError("--cache and --no-cache contradict each other")
    scan_roots, default_cache = _roots_and_cache(roots, spec_path)
    cache = None if no_cache else (cache_path or default_cache)
    progress = ScanProgressBar() if stderr_is_terminal() else None  # scan() finishes it, also on errors
    result = scan(scan_roots, cache_path=cache, progress=progress, notify=lambda m: click.echo(shown(m), err=True))
    if as_json:
        click.echo(json.dumps(to_json(result, show_phi=show_phi), indent=2))
    else:
        click.echo(_escaped(render_text(result, show_phi=show_phi)), nl=False)
    for d in result.diagnostics:
        click.echo(str(d), err=True)
    raise_for_diagnostics(result, strict=strict, detail=False)
    return EXIT_OK
