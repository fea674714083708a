"""Apply a plan: its operations in the order the plan gives them — declared renames (subjects,
then sessions), subjects, imports (each waited
for until archived), session fields, scan fields, deletions — phase after phase, the operations
of a phase concurrently (`--parallelism`), every one verified by reading the server again.

A failure stops new work: the running operations finish, the rest are `not run`, and the report
says which is which. Running apply again (with a fresh plan) finishes the job; nothing done is
done twice, since the plan is made again from what the server holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from xsync.apply.context import ApplyContext
from xsync.apply.deletes import DeleteOp, apply_deletes
from xsync.apply.fields import FieldOp, apply_fields
from xsync.apply.imports import ImportOp, import_tasks
from xsync.apply.renames import RenameOp, apply_renames
from xsync.apply.report import ApplyReport, OpResult, Status
from xsync.apply.runner import OpRef
from xsync.plan.ops import (
    DELETE_KINDS,
    IMPORT_KINDS,
    RENAME_KINDS,
    CreateSubject,
    Operation,
    UpdateScan,
    UpdateSession,
    UpdateSubject,
)
from xsync.plan.plan import Plan


def apply_plan(plan: Plan, ctx: ApplyContext) -> ApplyReport:
    started = time.monotonic()
    only = ctx.options.only
    # With --only, one half of the plan: the other half, and what waits for an import that is
    # not run, is skipped, saying why; deletions belong to neither half.
    skipped = {i: why for i, op in enumerate(plan.operations) if (why := _skipped_because(op, only))}
    indexed = [(i, op) for i, op in enumerate(plan.operations) if i not in skipped]
    renames: list[tuple[int, RenameOp]] = [(i, op) for i, op in indexed if isinstance(op, RENAME_KINDS)]
    subjects: list[tuple[int, FieldOp]] = [
        (i, op) for i, op in indexed if isinstance(op, CreateSubject | UpdateSubject)
    ]
    imports: list[tuple[int, ImportOp]] = [(i, op) for i, op in indexed if isinstance(op, IMPORT_KINDS)]
    sessions: list[tuple[int, FieldOp]] = [(i, op) for i, op in indexed if isinstance(op, UpdateSession)]
    scans: list[tuple[int, FieldOp]] = [(i, op) for i, op in indexed if isinstance(op, UpdateScan)]
    deletes: list[tuple[int, DeleteOp]] = [(i, op) for i, op in indexed if isinstance(op, DELETE_KINDS)]
    known = len(renames) + len(subjects) + len(imports) + len(sessions) + len(scans) + len(deletes)
    assert known == len(indexed), "an operation kind apply does not know"

    results = [ctx.runner.emit(_ref(i, plan.operations[i]).result(Status.SKIPPED, why)) for i, why in skipped.items()]
    results += _phase(renames, ctx, lambda: apply_renames(renames, ctx))
    results += _phase(subjects, ctx, lambda: apply_fields(subjects, ctx))
    results += _phase(imports, ctx, lambda: ctx.runner.run(import_tasks(imports, ctx)))
    results += _phase(sessions, ctx, lambda: apply_fields(sessions, ctx))
    results += _phase(scans, ctx, lambda: apply_fields(scans, ctx))
    results += _phase(deletes, ctx, lambda: apply_deletes(deletes, ctx))
    results.sort(key=lambda r: r.index)
    return ApplyReport(tuple(results), time.monotonic() - started, ctx.bytes_sent)


def _ref(index: int, op: Operation) -> OpRef:
    return OpRef(index, op.kind, str(op.address))


def _skipped_because(op: Operation, only: str | None) -> str:
    """Why --only skips `op` ("" when it runs)."""
    if only is None or isinstance(op, RENAME_KINDS):
        return ""  # renames come first in either half: both address objects by their new labels
    if isinstance(op, DELETE_KINDS):
        return "deletions run only in a whole apply (without --only)"
    if only == "imports":
        return "" if isinstance(op, IMPORT_KINDS) else "not part of --only imports"
    if isinstance(op, IMPORT_KINDS):
        return "not part of --only fields"
    if getattr(op, "after_import", False):
        return "it waits for an import of this plan (apply with --only imports first)"
    return ""


def _phase(
    ops: Sequence[tuple[int, Operation]], ctx: ApplyContext, run: Callable[[], list[OpResult]]
) -> list[OpResult]:
    """A phase runs only while new work may start (nothing failed, the project still ours);
    otherwise its operations are `not run`, saying why."""
    if not ops:
        return []
    if ctx.runner.may_start():
        return run()
    why = ctx.runner.why_stopped
    return [ctx.runner.emit(_ref(i, op).result(Status.NOT_RUN, why)) for i, op in ops]
