"""Field writes (creating and updating subjects, updating sessions and scans), each verified by
reading the project again.

A phase sends every PUT (concurrently), reads the project once, and calls an operation done when
every field it sets reads back as the wanted value after XNAT's normalisation. A PUT that XNAT
acknowledged but did not store is sent again through the object's other URL form where XNAT has
one (by accession ID instead of project and labels); what still does not read back is an error
naming the object, the fields and the URL forms used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from xsync.apply.context import ApplyContext
from xsync.apply.report import OpResult, Status
from xsync.apply.runner import NotRun, OpRef
from xsync.errors import XsyncError
from xsync.model import xsitypes as t
from xsync.model.fields import FIELDS, Level
from xsync.model.remote import RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.model.values import same_value
from xsync.plan.ops import CreateSubject, FieldChange, UpdateScan, UpdateSession, UpdateSubject
from xsync.xnat.write import UrlForm, field_parameters, scan_urls, session_urls, subject_urls

FieldOp = CreateSubject | UpdateSubject | UpdateSession | UpdateScan


@dataclass(frozen=True)
class FieldWrite:
    ref: OpRef
    op: FieldOp
    level: Level
    xsi_type: str  # "" for a scan whose type was not established

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return self.op.fields if isinstance(self.op, CreateSubject) else self.op.changes


def field_write(index: int, op: FieldOp) -> FieldWrite:
    ref = OpRef(index, op.kind, str(op.address))
    if isinstance(op, CreateSubject | UpdateSubject):
        return FieldWrite(ref, op, Level.SUBJECT, t.SUBJECT)
    if isinstance(op, UpdateSession):
        return FieldWrite(ref, op, Level.SESSION, op.xsi_type)
    return FieldWrite(ref, op, Level.SCAN, op.xsi_type)


def parameters(w: FieldWrite) -> list[tuple[str, str]]:
    """The PUT's parameters. A scan of unknown type is written with generic parameters and no
    xsiType (XNAT then parses them with the stored scan's own type, XNAT-7015)."""
    fields = {c.name: c.after or "" for c in w.changes if not c.custom}
    custom = {c.name: c.after or "" for c in w.changes if c.custom}
    params = field_parameters(w.level, w.xsi_type or t.IMAGE_SCAN, fields, custom)
    return params if w.xsi_type else params[1:]


def _scan_id(w: FieldWrite, ctx: ApplyContext) -> str:
    a = w.op.address
    assert a.session and a.scan
    return ctx.scan_ids.get((a.session, a.scan), a.scan)


def url_forms(w: FieldWrite, ctx: ApplyContext, remote: RemoteState | None = None) -> list[UrlForm]:
    """The object's URL forms, the project-scoped one first; forms by accession ID need the ID,
    taken from the operation or from a state read since."""
    a = w.op.address
    if w.level is Level.SUBJECT:
        subject_id = getattr(w.op, "subject_id", "") or (_subject(remote, a.subject).id if remote else "")
        return subject_urls(a.project, a.subject, subject_id)
    assert a.session
    session_id = getattr(w.op, "session_id", "") or (_session_id(remote, a.session) if remote else "")
    if w.level is Level.SESSION:
        return session_urls(a.project, a.subject, a.session, session_id)
    return scan_urls(a.project, a.subject, a.session, _scan_id(w, ctx), session_id)


def _subject(remote: RemoteState | None, label: str) -> RemoteSubject:
    found = remote.subjects.get(label) if remote else None
    return found if found is not None else RemoteSubject("", label)


def _session_id(remote: RemoteState, label: str) -> str:
    found = remote.session(label)
    return found.id if found else ""


def unstored(w: FieldWrite, ctx: ApplyContext, remote: RemoteState) -> list[str]:
    """The fields of `w` that do not read back as wanted (custom variables as `fields.NAME`);
    `["the object"]` when the object itself is missing."""
    a = w.op.address
    holder: RemoteSubject | RemoteSession | RemoteScan | None
    if w.level is Level.SUBJECT:
        holder = remote.subjects.get(a.subject)
    else:
        assert a.session
        holder = remote.session(a.session)
        if holder is not None and w.level is Level.SCAN:
            holder = holder.scans.get(_scan_id(w, ctx))
    if holder is None:
        return ["the object"]
    custom = getattr(holder, "custom", {})
    missing = []
    for c in w.changes:
        got = custom.get(c.name) if c.custom else holder.fields.get(c.name)
        definition = None if c.custom else FIELDS[w.level].get(c.name)
        wanted = c.after or ""
        if not ((got or "") == wanted or (got is not None and same_value(definition, got, wanted))):
            missing.append(f"fields.{c.name}" if c.custom else c.name)
    return missing


def apply_fields(ops: list[tuple[int, FieldOp]], ctx: ApplyContext) -> list[OpResult]:
    writes = [field_write(i, op) for i, op in ops]
    if not writes:
        return []
    started = {w.ref.index: time.monotonic() for w in writes}
    results: dict[int, OpResult] = {}

    def finish(w: FieldWrite, status: Status, detail: str = "") -> None:
        result = w.ref.result(status, detail, time.monotonic() - started[w.ref.index])
        results[w.ref.index] = ctx.runner.emit(result)

    def first_form(w: FieldWrite) -> None:
        ctx.writer.put(url_forms(w, ctx)[0].path, parameters(w))

    pending: list[FieldWrite] = []
    for w, outcome in zip(writes, ctx.runner.map(first_form, writes), strict=True):
        if outcome is None:
            pending.append(w)
        elif isinstance(outcome, NotRun):
            finish(w, Status.NOT_RUN, ctx.runner.why_stopped)
        else:
            finish(w, Status.FAILED, _why(outcome))
    if not pending:
        return [results[w.ref.index] for w in writes]

    remote = _read_back(ctx)
    if isinstance(remote, str):
        for w in pending:
            finish(w, Status.FAILED, remote)
        return [results[w.ref.index] for w in writes]
    retry: list[tuple[FieldWrite, list[str], UrlForm]] = []
    for w in pending:
        missing = unstored(w, ctx, remote)
        forms = url_forms(w, ctx, remote)
        if not missing:
            finish(w, Status.DONE)
        elif len(forms) > 1 and missing != ["the object"]:
            retry.append((w, missing, forms[1]))
        else:
            finish(w, Status.FAILED, _not_stored(missing, forms[:1]))

    if retry:

        def other_form(item: tuple[FieldWrite, list[str], UrlForm]) -> None:
            ctx.writer.put(item[2].path, parameters(item[0]))

        outcomes = ctx.runner.map(other_form, retry, continuing=True)
        remote = _read_back(ctx)
        for (w, first_missing, other), outcome in zip(retry, outcomes, strict=True):
            if isinstance(remote, str):
                finish(w, Status.FAILED, remote)
                continue
            forms = url_forms(w, ctx, remote)
            if isinstance(outcome, XsyncError):
                finish(
                    w, Status.FAILED, f"{_not_stored(first_missing, forms[:1])}; the {other.name} URL: {_why(outcome)}"
                )
                continue
            if isinstance(outcome, NotRun):
                why = ctx.runner.why_stopped
                finish(
                    w,
                    Status.FAILED,
                    f"{_not_stored(first_missing, forms[:1])}; the {other.name} URL was not tried: {why}",
                )
                continue
            missing = unstored(w, ctx, remote)
            if missing:
                finish(w, Status.FAILED, _not_stored(missing, [forms[0], other]))
            else:
                finish(w, Status.DONE, f"stored only through the {other.name} URL ({other.path})")
    return [results[w.ref.index] for w in writes]


def _read_back(ctx: ApplyContext) -> RemoteState | str:
    """The project read again, or why it could not be (then nothing sent counts as done)."""
    try:
        return ctx.read()
    except XsyncError as e:
        return f"sent, but not verified: reading the project back failed ({e.summary})"


def _not_stored(missing: list[str], forms: list[UrlForm]) -> str:
    if missing == ["the object"]:
        return f"XNAT acknowledged the PUT but the object does not read back (PUT {forms[0].name} URL {forms[0].path})"
    tried = "; ".join(f"{f.name} URL {f.path}" for f in forms)
    return f"XNAT acknowledged but did not store {', '.join(missing)} (PUT to the {tried})"


def _why(error: BaseException) -> str:
    return error.summary if isinstance(error, XsyncError) else str(error)
