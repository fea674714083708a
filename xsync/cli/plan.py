"""`xsync plan` and `xsync show`: what apply would do, for people (text), pull requests
(markdown) and machines (JSON); saved plans rendered again."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from xsync.cli.options import spec_option
from xsync.cli.output import no_color_option, use_color, write_atomically
from xsync.cli.progress import ScanProgressBar, spinner, stderr_is_terminal
from xsync.cli.settings import ConnectionOptions, client_for, connection_options, resolve_connection
from xsync.errors import EXIT_CHANGES, EXIT_OK, StalePlanError, UsageError
from xsync.render.safe import shown
from xsync.render.units import plural

if TYPE_CHECKING:  # the plan's models, renderers and the client are imported where they are used
    from xsync.model.inventory import Inventory
    from xsync.plan.plan import Plan
    from xsync.spec.model import Spec
    from xsync.xnat.client import XnatClient

F = TypeVar("F", bound=Callable[..., Any])

# `xsync show` reads at most this much: a saved plan holds the changes and the inventory's
# digest, not the inventory, so even a site of tens of thousands of sessions stays well
# below it; anything larger (or endless, like /dev/zero) is not a plan file.
MAX_PLAN_FILE_BYTES = 64 << 20


def _render(plan: Plan, fmt: str, *, color: bool, show_phi: bool = False) -> str:
    from xsync.render.jsonplan import render_json
    from xsync.render.markdown import render_markdown
    from xsync.render.text import render_text

    if fmt == "json":
        return render_json(plan, show_phi=show_phi)
    if fmt == "markdown":
        return render_markdown(plan, show_phi=show_phi)
    return render_text(plan, color=color, show_phi=show_phi)


def _format_options(fn: F) -> F:
    """--json or --markdown (text by default; both at once is a usage error) and --no-color,
    passed on as `fmt` and `no_color`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, as_json: bool, as_markdown: bool, **kwargs: Any) -> Any:
        if as_json and as_markdown:
            raise UsageError("--json and --markdown: choose one")
        return fn(*args, fmt="json" if as_json else "markdown" if as_markdown else "text", **kwargs)

    decorated: F = no_color_option(wrapper)  # type: ignore[assignment]
    decorated = click.option(
        "--markdown", "as_markdown", is_flag=True, help="A pull-request comment (kept under 60,000 characters)."
    )(decorated)
    return click.option("--json", "as_json", is_flag=True, help="The versioned JSON plan document.")(decorated)


def check_plan_target(out: Path, spec_path: Path) -> None:
    """`-o` writes a regular file in an existing folder, and never over something that is not a
    saved plan (the spec, a device such as /dev/stdout, another document)."""
    if out.resolve() == spec_path.resolve():
        raise UsageError(f"-o {out}: that is the spec itself")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: the folder {out.parent} does not exist")
    if out.exists() or out.is_symlink():
        if not out.is_file() or out.is_symlink():
            raise UsageError(f"-o {out}: not a regular file")
        try:
            json.loads(out.read_text(encoding="utf-8"))["format_version"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise UsageError(f"-o {out}: the file exists and is not a saved xsync plan; not overwriting it") from None


@click.command()
@spec_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Also save the plan to this file.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--no-cache", is_flag=True, help="Read every DICOM header again (ignore .xsync/inventory.sqlite).")
@click.option("--strict", is_flag=True, help="Refuse to plan when the DICOM inventory has warnings.")
@click.option("--show-unmanaged", is_flag=True, help="Also list server objects the spec does not mention.")
@click.option("--show-phi", is_flag=True, help="Show patient identifiers the spec manages (birth dates).")
@_format_options
@connection_options
def plan(
    spec_path: Path,
    out: Path | None,
    detailed_exitcode: bool,
    no_cache: bool,
    strict: bool,
    show_unmanaged: bool,
    show_phi: bool,
    fmt: str,
    no_color: bool,
    connection: ConnectionOptions,
) -> int:
    """Compare the spec and the local DICOM with the server and print what apply would do."""
    if out is not None:
        check_plan_target(out, spec_path)
    result = _make_plan(spec_path, connection, no_cache=no_cache, strict=strict, show_unmanaged=show_unmanaged)
    if out is not None:
        from xsync.render.jsonplan import render_json

        write_atomically(out, render_json(result, show_phi=show_phi))
        click.echo(f"saved the plan to {out}", err=True)
    color = use_color(sys.stdout, os.environ, disabled=no_color)
    sys.stdout.write(_render(result, fmt, color=color, show_phi=show_phi))
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


def _make_plan(
    spec_path: Path,
    connection: ConnectionOptions,
    *,
    no_cache: bool,
    strict: bool,
    show_unmanaged: bool,
) -> Plan:
    """The plan pipeline with its progress on stderr: spec, login, DICOM scan, server read."""
    from xsync.spec import load_spec

    spec = load_spec(spec_path)
    settings = resolve_connection(connection, spec_server=spec.server, environ=os.environ)
    # Log in before the (possibly long) DICOM scan, so a wrong password is said at once.
    with client_for(settings) as client:
        plan, _ = plan_with(spec, client, no_cache=no_cache, strict=strict, show_unmanaged=show_unmanaged)
    return plan


def plan_with(
    spec: Spec, client: XnatClient, *, no_cache: bool, strict: bool, show_unmanaged: bool = False
) -> tuple[Plan, Inventory | None]:
    """Scan the spec's DICOM, read the project through an open client, and plan; progress and
    what was read are said on stderr. Also returns the inventory (apply sends its files)."""
    from xsync.inventory.scan import raise_for_diagnostics
    from xsync.workflow import compute_plan, read_remote, scan_spec_dicom

    progress = ScanProgressBar() if stderr_is_terminal() else None
    inventory = scan_spec_dicom(
        spec, use_cache=not no_cache, progress=progress, notify=lambda m: click.echo(shown(m), err=True)
    )
    if inventory is not None:
        click.echo(
            f"scanned {plural(len(spec.dicom.roots), 'DICOM root')}: "
            f"{plural(len(inventory.studies), 'study', 'studies')}, {plural(inventory.n_files, 'file')}",
            err=True,
        )
        for d in inventory.diagnostics:
            click.echo(str(d), err=True)
        raise_for_diagnostics(inventory, strict=strict, detail=False)
    started, before = time.monotonic(), client.request_count
    with spinner(f"reading {spec.project} from {client.base_url}"):
        remote = read_remote(client, spec)
    click.echo(
        f"read {spec.project} from {client.base_url} in {plural(client.request_count - before, 'request')} "
        f"({time.monotonic() - started:.2f} s)",
        err=True,
    )
    return compute_plan(spec, inventory, remote, show_unmanaged=show_unmanaged), inventory


@click.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--check", is_flag=True, help="Make the plan again (spec, DICOM, server); exit 5 if the saved one is stale."
)
@spec_option
@click.option("--no-cache", is_flag=True, help="With --check: read every DICOM header again.")
@_format_options
@connection_options
def show(
    plan_file: Path, check: bool, spec_path: Path, no_cache: bool, fmt: str, no_color: bool,
    connection: ConnectionOptions,
) -> int:  # fmt: skip
    """Render a plan saved with `xsync plan -o FILE`; with --check, first make sure it still holds."""
    from pydantic import ValidationError

    from xsync.plan.stale import staleness
    from xsync.render.jsonplan import load_plan_document

    try:
        saved = load_plan_document(_read_plan_file(plan_file))
    except (ValueError, ValidationError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise UsageError(f"{plan_file} is not an xsync plan file: {_why(e)}") from None
    if check:
        fresh = _make_plan(spec_path, connection, no_cache=no_cache, strict=False, show_unmanaged=False)
        reasons = staleness(saved, fresh)
        if reasons:
            raise StalePlanError(f"the saved plan {plan_file} is stale", "\n".join(f"  {r}" for r in reasons))
        click.echo(f"the saved plan {plan_file} still holds", err=True)
    color = use_color(sys.stdout, os.environ, disabled=no_color)
    sys.stdout.write(_render(saved, fmt, color=color))
    return EXIT_OK


def _read_plan_file(path: Path) -> str:
    """The text of a saved plan; a FIFO, device or folder, or a file larger than
    MAX_PLAN_FILE_BYTES, is refused before (or instead of) reading it all."""
    import stat

    from xsync.inventory.read import file_kind

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    except OSError as e:
        raise UsageError(f"cannot read the plan file {path}: {e.strerror}") from None
    with open(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"{path} is not an xsync plan file: {file_kind(mode)}, not a regular file")
        data = fh.read(MAX_PLAN_FILE_BYTES + 1)  # the file may grow after a stat: read what is allowed
    if len(data) > MAX_PLAN_FILE_BYTES:
        raise UsageError(f"{path} is not an xsync plan file: larger than {MAX_PLAN_FILE_BYTES >> 20} MiB")
    return data.decode("utf-8")


def _why(e: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(e, ValidationError):
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        version = "" if where != "format_version" else " (this xsync reads format version 1)"
        return f"{where or 'the document'}: {first['msg']}{version}"
    if isinstance(e, json.JSONDecodeError):
        return f"not JSON (line {e.lineno}, column {e.colno})"
    return "not a JSON object"
