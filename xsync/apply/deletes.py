"""Deletions of objects the spec marks `absent`: only with --allow-delete, scans before sessions
before subjects, each verified gone by reading the project again."""

from __future__ import annotations

import contextlib

from xsync.apply.context import ApplyContext
from xsync.apply.report import OpResult, Status
from xsync.apply.runner import OpRef
from xsync.apply.verify import send_and_verify
from xsync.errors import NotFoundError
from xsync.model.address import Address
from xsync.model.remote import RemoteState
from xsync.plan.ops import DeleteScan, DeleteSession, DeleteSubject
from xsync.xnat.write import scan_urls, session_urls, subject_urls

DeleteOp = DeleteScan | DeleteSession | DeleteSubject


def _path(op: DeleteOp) -> str:
    a = op.address
    if isinstance(op, DeleteSubject):
        return subject_urls(a.project, a.subject)[0].path
    if isinstance(op, DeleteSession):
        return session_urls(a.project, a.subject, a.session)[0].path
    return scan_urls(a.project, a.subject, a.session, a.scan)[0].path


def _still_there(a: Address, remote: RemoteState) -> bool:
    """An address names its session and scan with "" when it has none."""
    if not a.session:
        return a.subject in remote.subjects
    session = remote.session(a.session)
    if not a.scan:
        return session is not None
    return session is not None and a.scan in session.scans


def _gone(op: DeleteOp, remote: RemoteState) -> str:
    if _still_there(op.address, remote):
        return f"XNAT acknowledged the DELETE but the object is still there (DELETE {_path(op)})"
    return ""


def _delete(ctx: ApplyContext, op: DeleteOp) -> None:
    """A 404 is no failure: a retried DELETE whose first try landed meets it. The read-back
    decides whether the object is gone."""
    with contextlib.suppress(NotFoundError):
        ctx.writer.delete(_path(op))


def apply_deletes(ops: list[tuple[int, DeleteOp]], ctx: ApplyContext) -> list[OpResult]:
    refs = [OpRef(i, op.kind, str(op.address)) for i, op in ops]
    if not ctx.options.allow_delete:
        return [ctx.runner.emit(r.result(Status.SKIPPED, "deletions run only with --allow-delete")) for r in refs]
    results: list[OpResult] = []
    # scans, then sessions, then subjects: a level waits for the one below it
    for kind in (DeleteScan, DeleteSession, DeleteSubject):
        chosen = [(ref, op) for ref, (_, op) in zip(refs, ops, strict=True) if isinstance(op, kind)]
        if not chosen:
            continue
        results += send_and_verify(chosen, ctx, lambda op: _delete(ctx, op), _gone)
    order = {r.index: r for r in results}
    return [order[ref.index] for ref in refs]
