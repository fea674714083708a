"""The apply runner on its own: one stop for the run (first reason kept), a failure holding back
new work but not the continuation of started work, and Ctrl-C stopping everything new while the
running items finish."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from xsync.apply.report import Status
from xsync.apply.runner import NOT_STARTED, OpRef, Runner, Task
from xsync.errors import LockError, RemoteError


def test_the_first_reason_to_stop_is_the_one_reported() -> None:
    runner = Runner(2)
    runner.stop("the lock was lost")
    runner.stop("an earlier operation failed")
    assert runner.why_stopped == "the lock was lost" and not runner.may_start()


def test_a_failed_task_leaves_the_later_ones_not_run() -> None:
    runner = Runner(1)
    ran: list[int] = []

    def task(i: int, fail: bool) -> Task:
        ref = OpRef(i, "update_subject", f"P/s{i}")

        def run() -> list:  # type: ignore[type-arg]
            ran.append(i)
            if fail:
                raise RemoteError("refused", method="PUT", url="/data/x", status=400)
            return [ref.result(Status.DONE)]

        return Task((ref,), run)

    results = runner.run([task(1, False), task(2, True), task(3, False)])
    assert ran == [1, 2]
    assert [r.status for r in results] == [Status.DONE, Status.FAILED, Status.NOT_RUN]
    assert results[2].detail == "an earlier operation failed"


def test_a_lost_lock_stops_new_work_naming_it() -> None:
    def guard() -> None:
        raise LockError("the project lock was lost: another run holds it now")

    runner = Runner(1, guard=guard)
    assert runner.map(lambda item: None, [1, 2]) == [NOT_STARTED, NOT_STARTED]
    assert runner.why_stopped.startswith("the project lock was lost")


def test_continuing_work_runs_after_a_failure_but_not_after_an_interrupt() -> None:
    runner = Runner(2)
    runner.stop("an earlier operation failed")
    done: list[int] = []
    assert runner.map(done.append, [1, 2], continuing=True) == [None, None] and sorted(done) == [1, 2]
    assert runner.map(done.append, [3]) == [NOT_STARTED]
    runner.interrupted.set()
    assert runner.map(done.append, [4], continuing=True) == [NOT_STARTED] and 4 not in done


def test_ctrl_c_stops_new_items_and_waits_for_the_running_ones() -> None:
    heard: list[int] = []
    runner = Runner(2, on_interrupt=heard.append)
    release = threading.Event()
    finished: list[str] = []

    def item(name: str) -> None:
        if name.startswith("running"):
            release.wait(5)
        finished.append(name)

    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C
    threading.Timer(0.4, release.set).start()
    with pytest.raises(KeyboardInterrupt):
        runner.map(item, ["running-1", "running-2", "queued-1", "queued-2"])
    assert sorted(finished) == ["running-1", "running-2"]  # finished, not cut off; nothing new started
    assert runner.interrupted.is_set() and runner.why_stopped == "interrupted"
    assert heard == [2]
