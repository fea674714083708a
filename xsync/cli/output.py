"""Terminal and file output decisions shared by commands: colour only on a terminal (NO_COLOR
and FORCE_COLOR respected), files written atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
_NO_COLOR = "xsync.no_color"  # click context meta: --no-color was given


def no_color_option(fn: F) -> F:
    """`--no-color`, passed on as `no_color` and also remembered for the run, so that progress
    and spinners on stderr heed it as the data on stdout does."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        ctx.meta[_NO_COLOR] = value
        return value

    return click.option("--no-color", is_flag=True, callback=remember, help="No ANSI colour (also: NO_COLOR).")(fn)


def stderr_color(environ: Mapping[str, str]) -> bool:
    """Colour for progress on stderr: a terminal, no NO_COLOR, no --no-color."""
    ctx = click.get_current_context(silent=True)
    return use_color(sys.stderr, environ, disabled=bool(ctx and ctx.meta.get(_NO_COLOR)))


def use_color(stream: TextIO, environ: Mapping[str, str], *, disabled: bool = False) -> bool:
    if disabled or environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "").lower() not in ("", "0", "false", "no"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and environ.get("TERM") != "dumb"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
