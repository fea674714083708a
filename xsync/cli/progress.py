"""Progress on stderr, only on a terminal: the header scan's bar and a spinner for server reads.
Everything else a command prints stays on stdout (data) or stderr (messages)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from xsync.cli.output import stderr_color

if TYPE_CHECKING:  # rich is imported only when something is shown: every command starts faster
    from rich.progress import Progress, TaskID

# Below this many files to read, a progress bar would only flicker.
PROGRESS_THRESHOLD = 500


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


class ScanProgressBar:
    """A rich progress bar on stderr while headers are read (ScanProgress)."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if total < PROGRESS_THRESHOLD:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("reading DICOM headers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True, no_color=not stderr_color(os.environ)),
            transient=True,
        )
        progress.start()
        self._task = progress.add_task("read", total=total)
        self._progress = progress

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """A transient spinner on stderr while a slow step runs (nothing when not a terminal)."""
    if not stderr_is_terminal():
        yield
        return
    from rich.console import Console

    with Console(stderr=True, no_color=not stderr_color(os.environ)).status(message):
        yield
