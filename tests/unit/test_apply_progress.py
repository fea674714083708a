"""Apply's progress display: the operations count and one bar per upload with bytes and rate."""

from __future__ import annotations

import io

from rich.console import Console

from xsync.apply.report import OpResult, Status
from xsync.cli.apply_progress import ApplyProgress


def test_operations_and_uploads_are_shown_while_they_run() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with ApplyProgress(3, color=False, console=console) as progress:
        progress.on_result(OpResult(0, "create_subject", "P/s", Status.DONE))
        progress.start("s/e1", 2_000_000)
        progress.advance("s/e1", 1_000_000)
        progress._live._live.refresh()  # render now rather than at the next tick
        shown = out.getvalue()
        progress.finish("s/e1")
    assert "operations" in shown and "1/3" in shown
    assert "upload s/e1" in shown and "1.0/2.0 MB" in shown
