"""`xsync apply [PLAN_FILE]`: make the project match the spec, terraform style.

Without a plan file: plan, show the plan, ask for `yes` on a terminal (`--auto-approve` skips the
question; with no terminal and no --auto-approve, refuse at once: exit 4). With a saved plan: make
the plan again from the same spec, DICOM and server and refuse (exit 5) unless it is the saved one
— same digests, same operations — then apply it without asking (it was reviewed). The project is
locked for the whole run. Exit 0 when every operation is done and read back, 1 otherwise.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import click

from xsync.cli.options import spec_option
from xsync.cli.output import no_color_option, use_color
from xsync.cli.progress import stderr_is_terminal
from xsync.cli.settings import ConnectionOptions, client_for, connection_options, resolve_connection
from xsync.errors import EXIT_ERROR, EXIT_OK, StalePlanError, UsageError, XsyncError
from xsync.render.safe import shown
from xsync.render.units import human_bytes, plural

if TYPE_CHECKING:
    from xsync.apply.lock import ProjectLock
    from xsync.apply.report import ApplyReport, OpResult
    from xsync.model.inventory import Inventory
    from xsync.plan.plan import Plan
    from xsync.spec.model import Spec
    from xsync.xnat.client import XnatClient
    from xsync.xnat.settings import ConnectionSettings
    from xsync.xnat.storescu import StoreTarget


@click.command()
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@spec_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--allow-delete", is_flag=True, help="Also delete the objects the spec marks absent.")
@click.option("--parallelism", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Operations run at once (one session's imports never overlap).")  # fmt: skip
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
              help="Wait this long for another run's lock on the project (default: refuse at once).")  # fmt: skip
@click.option("--archive-timeout", type=click.FloatRange(min=0), default=600.0, metavar="SECONDS", show_default=True,
              help="How long a session may stay in the prearchive while XNAT works on it.")  # fmt: skip
@click.option("--only", type=click.Choice(["imports", "fields"]), default=None,
              help="Apply only the DICOM imports, or only the field writes; the rest is skipped.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON event per operation on stdout, then a summary.")
@click.option("--no-cache", is_flag=True, help="Read every DICOM header again (ignore .xsync/inventory.sqlite).")
@click.option("--show-phi", is_flag=True, help="Show patient identifiers the spec manages (birth dates).")
@no_color_option
@connection_options
def apply(
    plan_file: Path | None,
    spec_path: Path,
    auto_approve: bool,
    allow_delete: bool,
    parallelism: int,
    lock_timeout: float,
    archive_timeout: float,
    only: str | None,
    as_json: bool,
    no_cache: bool,
    show_phi: bool,
    no_color: bool,
    connection: ConnectionOptions,
) -> int:
    """Make XNAT match the spec: imports, field PUTs and (with --allow-delete) deletions, each
    verified by reading the server again."""
    asks = plan_file is None and not auto_approve
    if asks and as_json:
        raise UsageError("--json needs --auto-approve (or a saved plan): there is no one to answer the question")
    if asks and not sys.stdin.isatty():
        raise UsageError(
            "no terminal to confirm on: review the plan, then run with --auto-approve (or apply a saved plan)"
        )
    from xsync.apply.lock import ProjectLock
    from xsync.spec import load_spec

    saved = _load_saved(plan_file) if plan_file is not None else None
    spec = load_spec(spec_path)
    settings = resolve_connection(connection, spec_server=spec.server, environ=os.environ)
    color = use_color(sys.stdout, os.environ, disabled=no_color)
    with client_for(settings) as client:
        lock = ProjectLock(client, spec.project, user=_local_user())
        lock.acquire(timeout=lock_timeout)
        if lock.took_over is not None:
            gone = lock.took_over
            click.echo(shown(f"took over the lock {gone.id} of a run that is gone (pid {gone.pid} on this machine, "
                             f"owner {gone.owner})"), err=True)  # fmt: skip
        try:
            outcome = _plan_and_apply(
                spec, client, saved, plan_file, asks=asks, no_cache=no_cache, show_phi=show_phi, color=color,
                as_json=as_json, parallelism=parallelism, allow_delete=allow_delete, archive_timeout=archive_timeout,
                guard=lock.ensure_held, cstore=_store_target(spec, settings), only=only,
            )  # fmt: skip
        finally:
            _release(lock)
    if isinstance(outcome, int):  # nothing to do (0), or not approved (1)
        return outcome
    _print_report(outcome, as_json=as_json)
    return EXIT_OK if outcome.ok else EXIT_ERROR


def _plan_and_apply(spec: Spec, client: XnatClient, saved: Plan | None, plan_file: Path | None, *, asks: bool,
                    no_cache: bool, show_phi: bool, color: bool, as_json: bool, parallelism: int, allow_delete: bool,
                    archive_timeout: float, guard: Callable[[], None],
                    cstore: StoreTarget | None, only: str | None) -> ApplyReport | int:  # fmt: skip
    """Under the lock: plan, check a saved plan, show and confirm, apply. An exit code when there
    is nothing to apply."""
    from xsync.cli.plan import plan_with

    plan, inventory = plan_with(spec, client, no_cache=no_cache, strict=False)
    if saved is not None:
        assert plan_file is not None
        _check_saved(plan_file, saved, plan)
    if not plan.has_changes:
        _say(as_json, "No changes. The project matches the spec.", {"event": "summary", "ok": True})
        return EXIT_OK
    if saved is None and not as_json:
        from xsync.render.text import render_text

        sys.stdout.write(render_text(plan, color=color, show_phi=show_phi))
    if asks and not _confirmed():
        click.echo("Apply cancelled.", err=True)
        return EXIT_ERROR
    return _run(plan, spec, client, inventory, parallelism=parallelism, allow_delete=allow_delete,
                archive_timeout=archive_timeout, as_json=as_json, color=color, guard=guard, cstore=cstore,
                only=only)  # fmt: skip


def _store_target(spec: Spec, settings: ConnectionSettings) -> StoreTarget | None:
    """Where `upload.method: cstore` sends: the spec's receiver, else XNAT's defaults on the
    server's host (port 8104, AE title XNAT); the calling AE title is XSYNC unless given."""
    from xsync.xnat.storescu import StoreTarget

    u = spec.upload
    if u.method != "cstore":
        return None
    return StoreTarget(
        host=u.host or settings.host,
        port=u.port or 8104,
        called_ae=u.ae_title or "XNAT",
        calling_ae=u.calling_ae_title or "XSYNC",
        connect_timeout=settings.connect_timeout,
        response_timeout=settings.read_timeout,
    )


def _local_user() -> str:
    """Who runs apply, as the lock records it: this machine's user, never the XNAT user (with an
    alias token that would be half of a credential, and the lock is readable by the project).
    A container's uid may have no name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _release(lock: ProjectLock) -> None:
    """Release the lock; a failure to (a lost connection) is said, not raised over the report:
    the lock then expires, or `xsync force-unlock` removes it."""
    held = lock.info
    try:
        lock.release()
    except XsyncError as e:
        ident = held.id if held else "?"
        click.echo(shown(f"warning: could not remove the project lock {ident} ({e.summary}); it expires, or remove "
                         f"it with `xsync force-unlock {ident}`"), err=True)  # fmt: skip


def _load_saved(path: Path) -> Plan:
    from pydantic import ValidationError

    from xsync.render.jsonplan import load_plan_document

    try:
        return load_plan_document(path.read_text(encoding="utf-8"))
    except (ValueError, ValidationError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not an xsync plan file ({type(e).__name__})") from None


def _check_saved(path: Path, saved: Plan, fresh: Plan) -> None:
    from xsync.plan.stale import staleness

    reasons = staleness(saved, fresh)
    if reasons:
        raise StalePlanError(
            f"the saved plan {path} is not what would be applied now; plan again and review it",
            "\n".join(f"  {r}" for r in reasons),
        )
    click.echo(f"the saved plan {path} still holds", err=True)


def _confirmed() -> bool:
    click.echo("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n", err=True)
    answer = click.prompt("  Enter a value", default="", show_default=False, err=True)
    return bool(answer.strip() == "yes")


def _run(plan: Plan, spec: Spec, client: XnatClient, inventory: Inventory | None, *, parallelism: int,
         allow_delete: bool, archive_timeout: float, as_json: bool, color: bool,
         guard: Callable[[], None], cstore: StoreTarget | None, only: str | None) -> ApplyReport:  # fmt: skip
    from xsync.apply.context import ApplyContext, ApplyOptions, NoProgress, UploadProgress
    from xsync.apply.engine import apply_plan
    from xsync.apply.runner import Runner
    from xsync.cli.apply_progress import ApplyProgress
    from xsync.spec.remap import header_changes
    from xsync.workflow import read_remote_fields
    from xsync.xnat.write import XnatWriter

    progress: ApplyProgress | None = None
    if not as_json and stderr_is_terminal():
        progress = ApplyProgress(len(plan.operations), color=color)

    def on_result(result: OpResult) -> None:
        if progress is not None:
            progress.on_result(result)
        if as_json:
            click.echo(json.dumps(result.to_json()))

    options = ApplyOptions(parallelism=parallelism, allow_delete=allow_delete, dest=spec.upload.dest,
                           archive_timeout=archive_timeout, cstore=cstore,
                           only=cast(Literal["imports", "fields"] | None, only))  # fmt: skip
    uploads: UploadProgress = progress if progress is not None else NoProgress()
    ctx = ApplyContext(
        project=spec.project,
        writer=XnatWriter(client),
        read=lambda: read_remote_fields(client, spec),
        runner=Runner(parallelism, on_result, guard, on_interrupt=_say_interrupted),
        inventory=inventory,
        options=options,
        progress=uploads,
        headers=lambda subject, session: header_changes(spec, subject, session),
    )
    if progress is None:
        return apply_plan(plan, ctx)
    with progress:
        return apply_plan(plan, ctx)


def _say(as_json: bool, text: str, event: dict[str, object]) -> None:
    if as_json:
        click.echo(json.dumps(event))
    else:
        click.echo(text)


_MARKS = {"done": "done    ", "failed": "FAILED  ", "skipped": "skipped ", "not run": "not run "}


def _print_report(report: ApplyReport, *, as_json: bool) -> None:
    from xsync.apply.report import Status

    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    for r in report.results:
        detail = f": {r.detail}" if r.detail and r.status is not Status.DONE else (f" ({r.detail})" if r.detail else "")
        # The address holds server labels, the detail XNAT's own message: one line each.
        click.echo(shown(f"{_MARKS[str(r.status)]}{r.kind.replace('_', ' ')} {r.address}{detail}"))
    done, failed = report.count(Status.DONE), report.count(Status.FAILED)
    skipped, not_run = report.count(Status.SKIPPED), report.count(Status.NOT_RUN)
    sent = f", {human_bytes(report.bytes_sent)} sent" if report.bytes_sent else ""
    line = (
        f"{plural(done, 'operation')} done and verified, {failed} failed, {not_run} not run, {skipped} skipped "
        f"in {report.seconds:.1f} s{sent}."
    )
    if report.ok:
        click.echo(f"Apply complete. {line}")
    else:
        click.echo(f"Apply failed. {line} Run `xsync apply` again to finish what is left.")
    reasons = {r.detail for r in report.results if r.status is Status.SKIPPED}
    if any("--allow-delete" in why for why in reasons):
        click.echo("Deletions were skipped: run with --allow-delete to apply them.")
    if any("--only" in why for why in reasons):
        click.echo("Operations outside --only were skipped: apply again without --only to finish.")


def _say_interrupted(running: int) -> None:
    click.echo(
        f"interrupted: nothing new starts; waiting for {plural(running, 'running operation')} to finish (a write "
        "cut off halfway would leave work behind), then the lock is released",
        err=True,
    )
