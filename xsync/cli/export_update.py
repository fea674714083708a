"""`xsync export --update [--adopt] [--check]`: refresh the spec from the server, in place."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from xsync.cli.progress import spinner
from xsync.cli.settings import ConnectionOptions, client_for, resolve_connection
from xsync.errors import EXIT_CHANGES, EXIT_OK
from xsync.render.units import plural


def update_spec(spec_path: Path, *, adopt: bool, check: bool, fields: str, show_phi: bool,
                connection: ConnectionOptions) -> int:  # fmt: skip
    from xsync.export.document import parse_fields
    from xsync.export.files import write_text_atomically
    from xsync.export.refresh import refresh
    from xsync.spec.load import load_spec
    from xsync.workflow import compute_plan, read_remote, scan_spec_dicom

    selection = parse_fields(fields, phi=show_phi)
    spec = load_spec(spec_path)
    settings = resolve_connection(connection, spec_server=spec.server, environ=os.environ)
    inventory = scan_spec_dicom(spec)
    started = time.monotonic()
    with spinner(f"reading {spec.project} from {settings.base_url}"), client_for(settings) as client:
        remote = read_remote(client, spec)
        requests_made = client.request_count
    click.echo(f"read {spec.project} from {settings.base_url} in {plural(requests_made, 'request')} "
               f"({time.monotonic() - started:.2f} s)", err=True)  # fmt: skip
    plan = compute_plan(spec, inventory, remote, show_unmanaged=adopt)
    edits = refresh(spec, spec_path.resolve(), plan, remote, adopt=adopt, selection=selection)
    texts = edits.results()
    base = spec_path.resolve().parent
    for change in edits.changes:
        click.echo(change.describe(base), err=True)
    if not texts:
        click.echo("The spec already holds the server's values.", err=True)
        return EXIT_OK
    values = plural(len(edits.changes), "change")
    if check:
        click.echo(f"{values} to make in {plural(len(texts), 'file')} (--check: nothing written).", err=True)
        return EXIT_CHANGES
    for path, text in texts.items():
        write_text_atomically(path, text)
    click.echo(f"Updated the spec: {values} in {plural(len(texts), 'file')}.", err=True)
    return EXIT_OK
