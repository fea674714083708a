"""`xsync force-unlock LOCK_ID`: break the project lock a dead `xsync apply` left behind."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
from click.core import ParameterSource

from xsync.apply.lock import force_unlock
from xsync.apply.lockrecord import describe
from xsync.cli.options import spec_option
from xsync.cli.settings import ConnectionOptions, connection_options, resolve_connection, warn_if_insecure
from xsync.errors import EXIT_OK, UsageError
from xsync.xnat.client import XnatClient


def _spec_defaults(spec_path: Path, explicit: bool) -> tuple[str | None, str | None]:
    """(project, server) from the spec, when there is one."""
    if not spec_path.exists():
        if explicit:
            raise UsageError(f"spec not found: {spec_path}")
        return None, None
    from xsync.spec import load_spec

    spec = load_spec(spec_path)
    return spec.project, spec.server


@click.command("force-unlock")
@click.argument("lock_id")
@click.option("--project", metavar="ID", help="Project ID (default: `project:` in the spec).")
@spec_option
@connection_options
def force_unlock_command(lock_id: str, project: str | None, spec_path: Path, connection: ConnectionOptions) -> int:
    """Remove the project's lock if its id is LOCK_ID (as printed when apply refuses to start).

    Only for a lock whose run is dead: a running apply whose lock is broken is no longer
    protected from a second one. A lock with another id is left alone (exit 1).
    """
    spec_project, spec_server = None, None
    if project is None or (connection.server is None and "XNAT_HOST" not in os.environ):
        explicit = click.get_current_context().get_parameter_source("spec_path") is not ParameterSource.DEFAULT
        spec_project, spec_server = _spec_defaults(spec_path, explicit)
    project = project or spec_project
    if not project:
        raise UsageError("no project given: use --project or `project:` in the spec")
    settings = resolve_connection(connection, spec_server=spec_server, environ=os.environ)
    warn_if_insecure(settings)
    with XnatClient(settings) as client:
        info = force_unlock(client, project, lock_id)
    click.echo(f"unlocked {project}: removed lock {info.id} ({describe(info, datetime.now(UTC))})", err=True)
    return EXIT_OK
