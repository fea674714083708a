"""Declared relabels: XNAT's label change (`PUT <object>?label=NEW`), subjects before sessions
(a session's URL names its subject's new label), each verified by reading the project again.

A rename is done only when the object's accession ID reads back under the new label and the old
label is gone. XNAT saves nothing else sent with `?label=` (the resource returns right after the
rename), so a rename carries no field: field changes follow as their own operations. A PUT the
transport repeats after the first landed is harmless: XNAT finds the object by the new label and
changes nothing.
"""

from __future__ import annotations

from xsync.apply.context import ApplyContext
from xsync.apply.report import OpResult, Status
from xsync.apply.runner import OpRef
from xsync.apply.verify import send_and_verify
from xsync.model.remote import RemoteState
from xsync.plan.ops import RenameSession, RenameSubject
from xsync.xnat.write import session_urls, subject_urls

RenameOp = RenameSubject | RenameSession


def rename_path(op: RenameOp) -> str:
    a = op.address
    if isinstance(op, RenameSubject):
        return subject_urls(a.project, op.from_label)[0].path
    return session_urls(a.project, a.subject, op.from_label)[0].path


def _new_label(op: RenameOp) -> str:
    return op.address.subject if isinstance(op, RenameSubject) else op.address.session


def unrenamed(op: RenameOp, remote: RemoteState) -> str:
    """Why the server does not hold the rename ("" when it does)."""
    new = _new_label(op)
    if isinstance(op, RenameSubject):
        found, old = remote.subjects.get(new), remote.subjects.get(op.from_label)
        ident = op.subject_id
    else:
        found, old = remote.session(new), remote.session(op.from_label)
        ident = op.session_id
    if found is None or found.id != ident:
        held = f"{found.id} is" if found is not None else "nothing is"
        return f"XNAT acknowledged the PUT but {held} labelled {new}, not {ident} (PUT {rename_path(op)}?label={new})"
    if old is not None:
        return f"XNAT acknowledged the PUT but {op.from_label} is still on the server ({old.id})"
    return ""


def apply_renames(ops: list[tuple[int, RenameOp]], ctx: ApplyContext) -> list[OpResult]:
    results: dict[int, OpResult] = {}
    for kind in (RenameSubject, RenameSession):
        chosen = [(OpRef(i, op.kind, str(op.address)), op) for i, op in ops if isinstance(op, kind)]
        if not chosen:
            continue
        if not ctx.runner.may_start():
            for ref, _ in chosen:
                results[ref.index] = ctx.runner.emit(ref.result(Status.NOT_RUN, ctx.runner.why_stopped))
            continue
        sent = send_and_verify(
            chosen,
            ctx,
            lambda op: ctx.writer.put(rename_path(op), [("label", _new_label(op))]),
            unrenamed,
            lambda op: f"renamed from {op.from_label}",
        )
        results.update((r.index, r) for r in sent)
    return [results[i] for i, _ in ops]
