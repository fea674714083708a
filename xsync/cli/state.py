"""`xsync state`: the project as xsync sees it — what plan will compare against."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from xsync.cli.options import project_from_spec, spec_option
from xsync.cli.progress import spinner
from xsync.cli.settings import ConnectionOptions, client_for, connection_options, resolve_connection
from xsync.errors import EXIT_OK
from xsync.render.safe import shown
from xsync.render.units import plural


@click.command()
@click.option("--project", metavar="ID", help="Project ID (default: `project:` in the spec).")
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.option(
    "--show-phi", is_flag=True, help="Also read birth dates and print prearchive folders/subjects (may hold names)."
)
@click.option("--files", is_flag=True, help="Also read each session's file counts (one request per session).")
@connection_options
def state(
    project: str | None, spec_path: Path, as_json: bool, show_phi: bool, files: bool, connection: ConnectionOptions
) -> int:
    """Print the project as xsync reads it from XNAT (tree or JSON)."""
    from xsync.render.state import render_state_text
    from xsync.xnat.read import SCAN_TYPE_PROBES, read_project

    server_given = connection.server is not None or "XNAT_HOST" in os.environ
    project, spec_server = project_from_spec(project, spec_path, server_given=server_given)
    settings = resolve_connection(connection, spec_server=spec_server, environ=os.environ)
    started = time.monotonic()
    with spinner(f"reading {project} from {settings.base_url}"), client_for(settings) as client:
        remote = read_project(
            client, project, probe_scan_types=SCAN_TYPE_PROBES, phi=show_phi, count_sessions="all" if files else ()
        )
        requests_made = client.request_count
    elapsed = time.monotonic() - started
    counts = remote.counts()
    click.echo(
        f"read {project} from {settings.base_url}: {plural(counts['subjects'], 'subject')}, "
        f"{plural(counts['sessions'], 'session')}, {plural(counts['scans'], 'scan')} in {requests_made} requests "
        f"({elapsed:.2f} s)",
        err=True,
    )
    if as_json:
        data = remote.to_json()
        if not show_phi:
            for entry in data["prearchive"]:
                # XNAT names prearchive folders after PatientID when an upload gave no labels.
                entry["folder"] = entry["name"] = entry["subject"] = entry["url"] = "(hidden; --show-phi)"
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_state_text(remote, show_phi=show_phi))
    for note in remote.notes:
        click.echo(f"warning: {shown(note)}", err=True)
    return EXIT_OK
