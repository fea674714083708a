"""Run independent tasks concurrently, and stop starting new ones at the first failure.

A task covers one or more plan operations and returns their results. Once any result is a
failure, tasks that have not started yet report their operations as `not run`; tasks already
running finish (an upload cut in the middle would only leave more to clean up). An error of the
tool's own tree (a refused request, a lost connection) fails the task's operations with its
message; anything else is a bug and is raised once the running tasks have finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from xsync.apply.report import OpResult, Status
from xsync.errors import XsyncError

T = TypeVar("T")
R = TypeVar("R")


class NotRun(Enum):
    NOT_STARTED = "not started"


NOT_STARTED = NotRun.NOT_STARTED


@dataclass(frozen=True)
class OpRef:
    """An operation as results name it."""

    index: int
    kind: str
    address: str

    def result(self, status: Status, detail: str = "", seconds: float = 0.0) -> OpResult:
        return OpResult(self.index, self.kind, self.address, status, detail, seconds)


@dataclass(frozen=True)
class Task:
    ops: tuple[OpRef, ...]
    run: Callable[[], list[OpResult]]


class Runner:
    """`guard` is called before each task or item starts; when it raises the tool's error (the
    project lock was lost), new work stops as after a failure, saying why."""

    def __init__(
        self,
        parallelism: int,
        on_result: Callable[[OpResult], None] | None = None,
        guard: Callable[[], None] | None = None,
        on_interrupt: Callable[[int], None] | None = None,
    ) -> None:
        """`on_interrupt` hears, at a Ctrl-C, how many items are still running (to be waited for)."""
        self.parallelism = max(1, parallelism)
        self.stopped = threading.Event()
        self.interrupted = threading.Event()  # Ctrl-C: waits still under way may give up
        self.why_stopped = "an earlier operation failed"
        self._on_result = on_result or (lambda result: None)
        self._guard = guard or (lambda: None)
        self._on_interrupt = on_interrupt or (lambda running: None)
        self._stop_lock = threading.Lock()

    def may_start(self) -> bool:
        """Whether new work may start: nothing failed, and the guard holds."""
        if self.stopped.is_set():
            return False
        try:
            self._guard()
        except XsyncError as e:
            self.stop(e.summary)
            return False
        return True

    def stop(self, why: str) -> None:
        """Stop new work; the first reason given is the one reported."""
        with self._stop_lock:
            if not self.stopped.is_set():
                self.why_stopped = why
                self.stopped.set()

    def run(self, tasks: Sequence[Task]) -> list[OpResult]:
        """Every operation of every task gets exactly one result, in the tasks' order."""
        if not tasks:
            return []
        bugs: list[BaseException] = []

        def guarded(task: Task) -> list[OpResult]:
            if not self.may_start():
                return [op.result(Status.NOT_RUN, self.why_stopped) for op in task.ops]
            started = time.monotonic()
            try:
                results = task.run()
            except XsyncError as e:
                elapsed = time.monotonic() - started
                results = [op.result(Status.FAILED, e.summary, elapsed) for op in task.ops]
            except BaseException as e:  # a bug: stop, finish the others, raise it after
                bugs.append(e)
                results = [op.result(Status.FAILED, f"internal error: {type(e).__name__}") for op in task.ops]
            if any(r.status is Status.FAILED for r in results):
                self.stop("an earlier operation failed")
            for r in results:
                self._on_result(r)
            return results

        out = [r for results in self._concurrently(guarded, tasks) for r in results]
        if bugs:
            raise bugs[0]
        return out

    def map(
        self, fn: Callable[[T], None], items: Sequence[T], *, continuing: bool = False
    ) -> list[BaseException | None | NotRun]:
        """`fn` over `items` concurrently, for steps whose results are decided later (a PUT is
        done only once read back): per item None, the tool's error it raised, or NOT_STARTED
        when new work had stopped. An error stops new work too. Bugs are raised.

        `continuing`: the items carry on operations already started (a write sent again
        through its other URL), so a failure elsewhere does not hold them back; a Ctrl-C or a
        lost lock does."""

        def guarded(item: T) -> BaseException | None | NotRun:
            if continuing and not self.interrupted.is_set():
                try:
                    self._guard()
                except XsyncError as e:
                    self.stop(e.summary)
                    return NOT_STARTED
            elif not self.may_start():
                return NOT_STARTED
            try:
                fn(item)
            except XsyncError as e:
                self.stop("an earlier operation failed")
                return e
            return None

        return self._concurrently(guarded, items) if items else []

    def _concurrently(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`fn` over `items` on the pool, results in order. An interrupt (Ctrl-C) stops new work
        at once and waits for the running items, whatever more interrupts come: a caller that
        unwinds (and releases the project lock) while writes are under way would let a second
        run in beside them."""
        pool = ThreadPoolExecutor(max_workers=min(self.parallelism, len(items)), thread_name_prefix="xsync-apply")
        futures = []
        try:
            futures = [pool.submit(fn, item) for item in items]
            return [f.result() for f in futures]
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                self.interrupted.set()
                self.stop("interrupted")
                self._on_interrupt(sum(1 for f in futures if f.running()))
            else:
                self.stop(f"internal error: {type(e).__name__}")
            while True:
                try:
                    pool.shutdown(wait=True, cancel_futures=True)
                    break
                except KeyboardInterrupt:
                    continue
            raise
        finally:
            pool.shutdown(wait=True)

    def emit(self, result: OpResult) -> OpResult:
        """Report a result produced outside `run` (a verification after the tasks)."""
        if result.status is Status.FAILED:
            self.stop("an earlier operation failed")
        self._on_result(result)
        return result
