"""`xsync force-unlock LOCK_ID`: break the project lock a dead `xsync apply` left behind."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from xsync.cli.options import project_from_spec, spec_option
from xsync.cli.settings import ConnectionOptions, client_for, connection_options, resolve_connection
from xsync.errors import EXIT_OK
from xsync.render.safe import shown


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
    server_given = connection.server is not None or "XNAT_HOST" in os.environ
    project, spec_server = project_from_spec(project, spec_path, server_given=server_given)
    from xsync.apply.lock import force_unlock
    from xsync.apply.lockrecord import describe

    settings = resolve_connection(connection, spec_server=spec_server, environ=os.environ)
    with client_for(settings) as client:
        info = force_unlock(client, project, lock_id)
    # The record's owner and host were written by whoever held the lock.
    click.echo(shown(f"unlocked {project}: removed lock {info.id} ({describe(info, datetime.now(UTC))})"), err=True)
    return EXIT_OK
