"""Writes judged by the server: a group of requests sent concurrently, the project read back once,
and each operation done only when the server holds what it asked for. Deletions and renames share
it; field writes have their own (a write dropped through one URL form is tried through another)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from xsync.apply.context import ApplyContext
from xsync.apply.report import OpResult, Status
from xsync.apply.runner import NotRun, OpRef
from xsync.errors import XsyncError
from xsync.model.remote import RemoteState

Op = TypeVar("Op")


def send_and_verify(
    chosen: Sequence[tuple[OpRef, Op]],
    ctx: ApplyContext,
    send: Callable[[Op], object],
    judge: Callable[[Op, RemoteState], str],
    done: Callable[[Op], str] = lambda op: "",
) -> list[OpResult]:
    """`judge(op, remote)` says why the server does not hold `op` ("" when it does); `done(op)`
    is the detail of a verified one. Results come in `chosen`'s order, each emitted (a failure
    stops new work)."""
    started = time.monotonic()

    def run(item: tuple[OpRef, Op]) -> None:
        send(item[1])  # what the server answers is not trusted: the read-back decides

    outcomes = ctx.runner.map(run, chosen)
    remote: RemoteState | str | None = None
    if any(o is None for o in outcomes):
        try:
            remote = ctx.read()
        except XsyncError as e:
            remote = f"sent, but not verified: reading the project back failed ({e.summary})"
    results: list[OpResult] = []
    for (ref, op), outcome in zip(chosen, outcomes, strict=True):
        elapsed = time.monotonic() - started
        if isinstance(outcome, NotRun):
            result = ref.result(Status.NOT_RUN, ctx.runner.why_stopped)
        elif outcome is not None:
            result = ref.result(Status.FAILED, getattr(outcome, "summary", str(outcome)), elapsed)
        elif isinstance(remote, str):
            result = ref.result(Status.FAILED, remote, elapsed)
        else:
            assert remote is not None
            why = judge(op, remote)
            result = ref.result(Status.FAILED if why else Status.DONE, why or done(op), elapsed)
        results.append(ctx.runner.emit(result))
    return results
