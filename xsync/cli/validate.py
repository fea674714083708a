"""`xsync validate`: check the spec and its includes; no network, no DICOM."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xsync.cli.options import spec_option
from xsync.errors import EXIT_INVALID, EXIT_OK, Diagnostic, SpecError
from xsync.render.units import plural

if TYPE_CHECKING:
    from xsync.spec import Spec


def summary(spec_path: Path, spec: Spec) -> str:
    counts = spec.counts()
    parts = [plural(counts[k], k[:-1]) for k in ("subjects", "sessions", "scans")]
    rules = len(spec.rules.scans)
    return f"{spec_path}: valid: project {spec.project}, {', '.join(parts)}, {plural(rules, 'scan rule')}"


def _report(spec_path: Path, spec: Spec | None, diagnostics: Iterable[Diagnostic]) -> dict[str, Any]:
    return {
        "valid": spec is not None,
        "spec": str(spec_path),
        "project": spec.project if spec else None,
        "digest": f"sha256:{spec.digest}" if spec else None,
        "counts": spec.counts() if spec else None,
        "diagnostics": [
            {"file": d.file, "line": d.line, "col": d.col, "path": d.path, "message": d.message, "severity": d.severity}
            for d in diagnostics
        ],
    }


@click.command()
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Also print the result as JSON on stdout.")
def validate(spec_path: Path, as_json: bool) -> int:
    """Check the spec without touching the server: keys, values, labels, includes and rules.

    Every problem of every file is reported as FILE:LINE:COL: PATH: MESSAGE. Exit 0 when the
    spec is valid, 4 when it is not.
    """
    from xsync.spec.load import load_spec

    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        if not as_json:
            raise
        click.echo(json.dumps(_report(spec_path, None, exc.diagnostics), indent=2))
        click.echo(f"error: {exc.summary}", err=True)
        click.echo(exc.detail, err=True)
        return EXIT_INVALID
    if as_json:
        click.echo(json.dumps(_report(spec_path, spec, ()), indent=2))
    click.echo(summary(spec_path, spec), err=True)
    return EXIT_OK
