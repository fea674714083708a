"""Options shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

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
