"""`xsync export`: write a spec of what the server holds (`--project P [-o FILE | --split DIR]`),
or refresh an existing spec's managed values from it (`--update [--adopt] [--check]`).

A new spec goes to stdout, or to a file (refused when it exists: `--update` refreshes one, and
`--force` replaces it). Files are written whole or not at all."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from xsync.cli.options import project_from_spec, spec_option
from xsync.cli.progress import spinner
from xsync.cli.settings import ConnectionOptions, client_for, connection_options, resolve_connection
from xsync.errors import EXIT_OK, UsageError
from xsync.export import DEFAULT_FIELDS
from xsync.render.units import plural


@click.command()
@click.option("--project", metavar="ID", help="Project ID (default: `project:` in the spec).")
@spec_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the spec to this file.")
@click.option("--split", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write DIR/xsync.yaml including one file per subject (DIR/subjects/LABEL.yaml).")  # fmt: skip
@click.option("--fields", default=DEFAULT_FIELDS, show_default=True, metavar="LIST",
              help="Fields to manage: names, level.name, `custom` (custom variables) or `all`.")  # fmt: skip
@click.option("--show-phi", is_flag=True, help="Allow patient identifiers (birth dates) among --fields.")
@click.option("--force", is_flag=True, help="Replace an existing output file or folder.")
@click.option("--update", is_flag=True, help="Refresh the spec's managed values from the server, in place.")
@click.option("--adopt", is_flag=True, help="With --update: also add what the server holds and the spec omits.")
@click.option("--check", is_flag=True, help="With --update: change nothing; exit 2 when something would change.")
@connection_options
def export(project: str | None, spec_path: Path, output: Path | None, split: Path | None, fields: str,
           show_phi: bool, force: bool, update: bool, adopt: bool, check: bool,
           connection: ConnectionOptions) -> int:  # fmt: skip
    """Write a spec of what XNAT holds, or refresh an existing spec from it."""
    if update:
        if output is not None or split is not None:
            raise UsageError("--update rewrites the spec in place: it takes no -o or --split")
        from xsync.cli.export_update import update_spec

        return update_spec(spec_path, adopt=adopt, check=check, fields=fields, show_phi=show_phi,
                           connection=connection)  # fmt: skip
    if adopt or check:
        raise UsageError("--adopt and --check go with --update")
    if output is not None and split is not None:
        raise UsageError("give -o or --split, not both")
    from xsync.export.document import parse_fields, spec_document
    from xsync.export.files import write_split, write_whole
    from xsync.xnat.read import SCAN_TYPE_PROBES, read_project

    selection = parse_fields(fields, phi=show_phi)
    server_given = connection.server is not None or "XNAT_HOST" in os.environ
    project, spec_server = project_from_spec(project, spec_path, server_given=server_given)
    settings = resolve_connection(connection, spec_server=spec_server, environ=os.environ)
    started = time.monotonic()
    generic = all(d.generic for d in selection.of_scan_fields())
    with spinner(f"reading {project} from {settings.base_url}"), client_for(settings) as client:
        remote = read_project(client, project, probe_scan_types=() if generic else SCAN_TYPE_PROBES, phi=show_phi)
        requests_made = client.request_count
    document = spec_document(remote, selection)
    header = (f"Exported by `xsync export` from {settings.base_url}, project {project}, on "
              f"{datetime.now(UTC):%Y-%m-%d}.\nFields managed: {fields}. Sessions are bound to their studies by "
              "StudyInstanceUID;\nadd dicom.roots to import new DICOM.")  # fmt: skip
    if split is not None:
        written = write_split(split, document, header, force=force)
    elif output is not None:
        written = [write_whole(output, document, header, force=force)]
    else:
        from xsync.export.yamltext import render

        sys.stdout.write(render(document, header))
        written = []
    counts = remote.counts()
    where = f" to {written[0]}" + (f" and {len(written) - 1} more files" if len(written) > 1 else "") if written else ""
    click.echo(
        f"exported {project}: {plural(counts['subjects'], 'subject')}, {plural(counts['sessions'], 'session')}, "
        f"{plural(counts['scans'], 'scan')}{where} ({requests_made} requests, {time.monotonic() - started:.2f} s)",
        err=True,
    )
    return EXIT_OK
