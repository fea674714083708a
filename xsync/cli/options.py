"""Options shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from xsync.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SPEC = Path("xsync.yaml")


def spec_option(fn: F) -> F:
    """`--spec PATH`, passed to the command as `spec_path`; `xsync.yaml` in the current
    directory unless given. The file need not exist here: loading reports that (exit 4).
    A pipe or device (`/dev/stdin`) is read too; see `load_spec` for its relative paths."""
    decorator = click.option(
        "--spec",
        "spec_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_SPEC,
        show_default=True,
        help=(
            "The spec file; the files it includes are found relative to it. /dev/stdin reads the "
            "spec from standard input, with relative paths taken from the current directory."
        ),
    )
    return decorator(fn)


def project_from_spec(project: str | None, spec_path: Path, *, server_given: bool) -> tuple[str, str | None]:
    """(project, the spec's `server:`) for commands that take `--project` and work without a
    spec: the spec is read only when it has something to give, and must exist when `--spec` was
    given explicitly."""
    spec_project, spec_server = None, None
    if project is None or not server_given:
        explicit = click.get_current_context().get_parameter_source("spec_path") is not ParameterSource.DEFAULT
        if spec_path.exists():
            from xsync.spec.load import load_spec

            spec = load_spec(spec_path)
            spec_project, spec_server = spec.project, spec.server
        elif explicit:
            raise UsageError(f"spec not found: {spec_path}")
    project = project or spec_project
    if not project:
        raise UsageError("no project given: use --project or `project:` in the spec")
    return project, spec_server
