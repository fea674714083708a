"""Waiting on the prearchive after an import (apply/imports.py `_settle_prearchive`): the policy
alone, against a scripted stand-in for the writer's two calls, with an injected clock."""

from __future__ import annotations

from typing import Any

import pytest

from xsync.apply.context import ApplyContext, ApplyOptions
from xsync.apply.imports import _settle_prearchive
from xsync.apply.runner import Runner
from xsync.errors import RemoteError, ServerError

UID = "1.2.3"


class ScriptedWriter:
    """Answers `prearchive_rows` from a script, one listing per call; records `archive` calls."""

    def __init__(self, listings: list[list[dict[str, str]]], refuse: str = "") -> None:
        self.listings = listings
        self.archived: list[tuple[str, list[tuple[str, str]]]] = []
        self.refuse = refuse

    def prearchive_rows(self, project: str) -> list[dict[str, str]]:
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]

    def archive(self, source: str, params: list[tuple[str, str]]) -> list[str]:
        if self.refuse:
            raise ServerError(self.refuse, method="POST", url="/data/services/archive", status=500)
        self.archived.append((source, params))
        self.listings = [[]]
        return ["/data/archive/projects/P/subjects/s/experiments/e"]


def context(writer: Any, timeout: float = 10.0) -> tuple[ApplyContext, list[float]]:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    ctx = ApplyContext(project="P", writer=writer, read=lambda: None, runner=Runner(1), inventory=None,  # type: ignore[arg-type]
                       options=ApplyOptions(archive_timeout=timeout, poll_interval=2.0), sleep=sleep,
                       clock=lambda: now[0])  # fmt: skip
    return ctx, slept


def row(status: str, name: str = "e") -> dict[str, str]:
    return {"tag": UID, "name": name, "status": status, "url": f"/prearchive/projects/P/20240101_000000/{name}"}


def test_waits_while_xnat_works_then_archives_under_the_planned_labels() -> None:
    writer = ScriptedWriter([[row("RECEIVING")], [row("BUILDING")], [row("READY")]])
    ctx, slept = context(writer)
    _settle_prearchive(UID, "s", "e", ctx)
    assert slept == [2.0, 2.0]
    [(source, params)] = writer.archived
    assert source == "/prearchive/projects/P/20240101_000000/e"
    assert ("subject", "s") in params and ("session", "e") in params
    assert "overwrite" not in dict(params)  # it would also override XNAT's UID and scan checks


def test_a_session_that_never_rests_times_out_naming_its_status() -> None:
    ctx, _ = context(ScriptedWriter([[row("QUEUED_BUILDING")]]), timeout=5.0)
    with pytest.raises(RemoteError, match=r"stayed in the prearchive \(QUEUED_BUILDING\) for 5 s"):
        _settle_prearchive(UID, "s", "e", ctx)


def test_a_conflict_is_reported_with_xnats_reason() -> None:
    writer = ScriptedWriter([[row("CONFLICT")]], refuse="FAILED: Session already exists, retry with overwrite enabled")
    ctx, _ = context(writer)
    with pytest.raises(RemoteError, match=r"could not archive the session \(CONFLICT\): FAILED: Session already"):
        _settle_prearchive(UID, "s", "e", ctx)


def test_rows_of_other_sessions_are_not_ours_to_move() -> None:
    writer = ScriptedWriter([[row("RECEIVING", name="someone_elses"), {"tag": "9.9", "name": "e", "status": "READY"}]])
    ctx, slept = context(writer)
    _settle_prearchive(UID, "s", "e", ctx)
    assert writer.archived == [] and slept == []


def test_after_a_failed_send_a_receiving_row_is_left_for_the_next_send() -> None:
    """What XNAT got before the connection broke stays RECEIVING until its idle timer moves it
    (minutes); the next send joins it instead of waiting."""
    writer = ScriptedWriter([[row("RECEIVING")]])
    ctx, slept = context(writer)
    _settle_prearchive(UID, "s", "e", ctx, leave_receiving=True)
    assert writer.archived == [] and slept == []


def test_after_a_failed_send_a_row_xnat_is_building_is_waited_for() -> None:
    """A send whose answer was lost (a read timeout) while XNAT builds: sending beside it would race."""
    writer = ScriptedWriter([[row("BUILDING")], [row("_BUILDING")], [row("READY")]])
    ctx, slept = context(writer)
    _settle_prearchive(UID, "s", "e", ctx, leave_receiving=True)
    assert slept == [2.0, 2.0] and len(writer.archived) == 1
