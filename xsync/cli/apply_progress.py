"""Apply's progress on stderr, only on a terminal: a count of the plan's operations as they are
verified, and one bar per upload in bytes with its rate. Silent otherwise (CI logs get the
per-operation lines at the end instead)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from xsync.apply.report import OpResult
from xsync.render.safe import shown

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class ApplyProgress:
    def __init__(self, operations: int, *, color: bool, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True, no_color=not color, highlight=False),
            transient=True,
        )
        self._ops = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self._progress.console,
            transient=True,
        )
        self._lock = threading.Lock()
        self._uploads: dict[str, TaskID] = {}
        self._live = _Group(self._ops, self._progress)
        self._overall = self._ops.add_task("operations", total=operations)

    def __enter__(self) -> ApplyProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    # UploadProgress
    def start(self, name: str, total: int) -> None:
        from rich.markup import escape

        # The name is a session label from the spec or the server: neither escape sequences nor
        # rich markup (`[blink]`) in it may style the display.
        with self._lock:
            self._uploads[name] = self._progress.add_task(f"upload {escape(shown(name))}", total=total)

    def advance(self, name: str, n: int) -> None:
        task = self._uploads.get(name)
        if task is not None:
            self._progress.advance(task, n)

    def finish(self, name: str) -> None:
        with self._lock:
            task = self._uploads.pop(name, None)
        if task is not None:
            self._progress.remove_task(task)

    def on_result(self, result: OpResult) -> None:
        self._ops.advance(self._overall, 1)


class _Group:
    """Both progress displays in one live region."""

    def __init__(self, *parts: Progress) -> None:
        from rich.console import Group
        from rich.live import Live

        self._live = Live(Group(*parts), console=parts[0].console, transient=True, refresh_per_second=8)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()
