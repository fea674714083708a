"""`xsync plan` and `xsync show`: what apply would do, for people (text), pull requests
(markdown) and machines (JSON); saved plans rendered again."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from xsync.cli.options import spec_option
from xsync.cli.output import use_color, write_atomically
from xsync.cli.progress import ScanProgressBar, spinner, stderr_is_terminal
from xsync.cli.settings import ConnectionOptions, connection_options, resolve_connection
from xsync.errors import EXIT_CHANGES, EXIT_OK, UsageError
from xsync.plan.plan import Plan
from xsync.render.jsonplan import load_plan_document, render_json
from xsync.render.markdown import render_markdown
from xsync.render.text import render_text
from xsync.xnat.client import XnatClient

F = TypeVar("F", bound=Callable[..., Any])


def _render(plan: Plan, fmt: str, *, color: bool, show_unmanaged: bool) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color, show_unmanaged=show_unmanaged)


def _format_options(fn: F) -> F:
    fn = click.option("--no-color", is_flag=True, help="No ANSI colour (also: NO_COLOR).")(fn)
    fn = click.option("--show-unmanaged", is_flag=True, help="List server objects the spec does not mention.")(fn)
    fn = click.option(
        "--markdown", "fmt", flag_value="markdown", help="A pull-request comment (kept under 60,000 characters)."
    )(fn)
    fn = click.option("--json", "fmt", flag_value="json", help="The versioned JSON plan document.")(fn)
    return click.option("--text", "fmt", flag_value="text", default=True, hidden=True)(fn)


@click.command()
@spec_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Also save the plan to this file.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--no-cache", is_flag=True, help="Read every DICOM header again (ignore .xsync/inventory.sqlite).")
@click.option("--strict", is_flag=True, help="Refuse to plan when the DICOM inventory has warnings.")
@_format_options
@connection_options
def plan(
    spec_path: Path,
    out: Path | None,
    detailed_exitcode: bool,
    no_cache: bool,
    strict: bool,
    fmt: str,
    show_unmanaged: bool,
    no_color: bool,
    connection: ConnectionOptions,
) -> int:
    """Compare the spec and the local DICOM with the server and print what apply would do."""
    from xsync.inventory.scan import raise_for_diagnostics
    from xsync.spec import load_spec
    from xsync.workflow import compute_plan, read_remote, scan_spec_dicom

    spec = load_spec(spec_path)
    settings = resolve_connection(connection, spec_server=spec.server, environ=os.environ)
    progress = ScanProgressBar() if stderr_is_terminal() else None
    inventory = scan_spec_dicom(
        spec, use_cache=not no_cache, progress=progress, notify=lambda m: click.echo(m, err=True)
    )
    if inventory is not None:
        click.echo(
            f"scanned {len(spec.dicom.roots)} DICOM root(s): {len(inventory.studies)} studies, "
            f"{inventory.n_files} files",
            err=True,
        )
        for d in inventory.diagnostics:
            click.echo(str(d), err=True)
        raise_for_diagnostics(inventory, strict=strict, detail=False)
    started = time.monotonic()
    with spinner(f"reading {spec.project} from {settings.base_url}"), XnatClient(settings) as client:
        remote = read_remote(client, spec)
        n_requests = client.request_count
    click.echo(
        f"read {spec.project} from {settings.base_url} in {n_requests} requests ({time.monotonic() - started:.2f} s)",
        err=True,
    )
    result = compute_plan(spec, inventory, remote)
    if out is not None:
        write_atomically(out, render_json(result))
        click.echo(f"saved the plan to {out}", err=True)
    color = use_color(sys.stdout, os.environ, disabled=no_color)
    sys.stdout.write(_render(result, fmt, color=color, show_unmanaged=show_unmanaged))
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


@click.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_format_options
def show(plan_file: Path, fmt: str, show_unmanaged: bool, no_color: bool) -> int:
    """Render a plan saved with `xsync plan -o FILE`."""
    try:
        saved = load_plan_document(plan_file.read_text(encoding="utf-8"))
    except (ValueError, ValidationError) as e:
        raise UsageError(f"{plan_file} is not an xsync plan file (format version 1): {type(e).__name__}") from None
    color = use_color(sys.stdout, os.environ, disabled=no_color)
    sys.stdout.write(_render(saved, fmt, color=color, show_unmanaged=show_unmanaged))
    return EXIT_OK
