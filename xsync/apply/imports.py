"""Imports: a session's DICOM sent through the import service (DICOM-zip, the HCP guide's
route) under explicit project, subject and session labels, then read back.

An import is not idempotent, so it is never sent again blindly: after every send, failed or not,
the session is read again (its labels, StudyInstanceUID, scans and their files), and what is still
missing — and only that — is sent once more. What is missing after that is an error naming the
scans and counts. The imports of one session run one after the other.

`upload.dest: archive` sends with `dest=/archive/projects/P` (XNAT 1.8.10+ builds and archives in
the request); `prearchive` sends to the prearchive and archives explicitly. Either way a session
still in the prearchive afterwards (an older server, an interrupted run) is waited for while
XNAT works on it and archived under the planned labels once it is ready; CONFLICT and ERROR rows
are reported with XNAT's own message. A failed archive step fails the import: the data is on the
server, and sending it again would not move it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from xsync.apply.context import ApplyContext
from xsync.apply.cstore import send_cstore
from xsync.apply.files import Instance, instances, zip_entries
from xsync.apply.report import OpResult, Status
from xsync.apply.runner import OpRef, Task
from xsync.apply.sent import element_edits, remapped_entries
from xsync.apply.zipstream import ZipStream
from xsync.errors import ConflictError, InventoryError, RemoteError, XsyncError
from xsync.model.inventory import DicomFile, Study
from xsync.model.remote import DICOM_RESOURCES
from xsync.plan.ops import AppendSeries, ImportSession, ResendInstances
from xsync.render.units import human_bytes, plural

ImportOp = ImportSession | AppendSeries | ResendInstances
_SENDS = 2  # the first send, and one more for what did not arrive
_BUSY = frozenset({"RECEIVING", "RECEIVING_INTERRUPT", "BUILDING", "ARCHIVING", "MOVING", "DELETING", "SEPARATING"})


def _busy(status: str) -> bool:
    """XNAT is still working on the row: a working status, a queued one, or one of its internal
    `_`-prefixed locks (DICOM-IMPORT.md §5.1)."""
    return status in _BUSY or status.startswith(("QUEUED", "_"))


@dataclass(frozen=True)
class Observed:
    """A session as the server holds it."""

    id: str
    subject: str
    xsi_type: str
    study_uid: str
    scan_by_series: dict[str, str]  # SeriesInstanceUID -> scan ID
    names: dict[str, set[str]]  # scan ID -> names of its DICOM files (DICOM and secondary resources)


def import_tasks(ops: list[tuple[int, ImportOp]], ctx: ApplyContext) -> list[Task]:
    """One task per session: its imports in plan order."""
    by_session: dict[str, list[tuple[int, ImportOp]]] = {}
    for index, op in ops:
        assert op.address.session
        by_session.setdefault(op.address.session, []).append((index, op))
    return [Task(tuple(_ref(i, op) for i, op in group), _session_runner(group, ctx)) for group in by_session.values()]


def _session_runner(group: list[tuple[int, ImportOp]], ctx: ApplyContext) -> Callable[[], list[OpResult]]:
    return lambda: _run_session(group, ctx)


def _ref(index: int, op: ImportOp) -> OpRef:
    return OpRef(index, op.kind, str(op.address))


def _run_session(group: list[tuple[int, ImportOp]], ctx: ApplyContext) -> list[OpResult]:
    out: list[OpResult] = []
    for index, op in group:
        ref = _ref(index, op)
        if out and out[-1].status is not Status.DONE:
            out.append(ref.result(Status.NOT_RUN, "an earlier import of this session failed"))
            continue
        if out and not ctx.runner.may_start():
            out.append(ref.result(Status.NOT_RUN, ctx.runner.why_stopped))
            continue
        started = time.monotonic()
        try:
            status, detail = _import(op, ctx)
        except XsyncError as e:
            status, detail = Status.FAILED, e.summary
        out.append(ref.result(status, detail, time.monotonic() - started))
    return out


def _planned_series(op: ImportOp) -> dict[str, str]:
    """SeriesInstanceUID -> the scan ID the plan expects."""
    if isinstance(op, ResendInstances):
        assert op.address.scan
        return {op.series_uid: op.address.scan}
    return {s.uid: s.scan_id for s in op.series}


def _import(op: ImportOp, ctx: ApplyContext) -> tuple[Status, str]:
    study = ctx.inventory.study(op.study_uid) if ctx.inventory is not None else None
    if study is None:
        return Status.FAILED, f"study {op.study_uid} is no longer in the local DICOM"
    planned = _planned_series(op)
    expected: dict[str, list[Instance]] = {}
    for uid in planned:
        series = study.series_by_uid(uid)
        if series is None:
            return Status.FAILED, f"series {uid} is no longer in the local DICOM"
        expected[uid] = instances(study, series)
    a = op.address
    assert a.session
    # What an earlier run left in the prearchive for this session is archived first, so that only
    # what it lacks is sent.
    leftover = _settle_prearchive(study.uid, a.subject, a.session, ctx, leave_receiving=True)
    observed, missing = _held(ctx, a.subject, a.session, study, expected)
    sent, last_error = _Sent(), ""
    for _ in range(_SENDS):
        if not any(missing.values()):
            break
        chosen = [i for todo in missing.values() for i in todo]
        try:
            uris = _send(op, chosen, observed is not None, ctx, sent)
        except RemoteError as e:  # read the server before deciding anything: it may have taken it all
            last_error, uris = e.summary, []
        # Errors from here on are XNAT's answer about what it holds: they fail the import,
        # and nothing is sent again on their account.
        for uri in uris:
            source = uri.removeprefix("/data")
            if source.startswith("/prearchive/"):
                _archive(ctx, source, a.subject, a.session, "")
        if ctx.options.cstore is not None:  # what the receiver stored waits, RECEIVING, for a build
            leftover = _settle_prearchive(study.uid, a.subject, a.session, ctx, build_receiving=True)
        else:
            # A REST send leaves no RECEIVING row of its own (its session is built in the request):
            # one there now is an earlier broken upload's, which XNAT moves only after minutes of
            # quiet. It is not waited for; what the archive still lacks is sent again.
            leftover = _settle_prearchive(study.uid, a.subject, a.session, ctx, leave_receiving=True)
        observed, missing = _held(ctx, a.subject, a.session, study, expected)
    if any(missing.values()):
        assert observed is not None or all(missing.values())
        shortfall = "; ".join(
            f"scan {planned[uid]}: {len(todo)} of {len(expected[uid])} instances"
            for uid, todo in missing.items()
            if todo
        )
        cause = f" (last error: {last_error})" if last_error else ""
        return Status.FAILED, f"still missing on the server after {_SENDS} sends: {shortfall}{cause}"
    assert observed is not None
    notes = []
    for uid, predicted in planned.items():
        actual = observed.scan_by_series.get(uid, predicted)
        ctx.scan_ids[(a.session, predicted)] = actual
        if actual != predicted:
            notes.append(f"XNAT gave series {uid} scan ID {actual}, not {predicted}")
    if leftover:
        notes.append(f"a partial upload waits in the prearchive ({', '.join(leftover)}); every instance is archived, "
                     "so it may be deleted")  # fmt: skip
    n = sum(len(v) for v in expected.values())
    summary = f"{plural(len(planned), 'series', 'series')}, {plural(n, 'instance')} on the server"
    if sent.bytes:
        summary += f", {human_bytes(sent.bytes)} sent"
    return Status.DONE, "; ".join([summary, *notes])


def _held(
    ctx: ApplyContext, subject: str, session: str, study: Study, expected: dict[str, list[Instance]]
) -> tuple[Observed | None, dict[str, list[Instance]]]:
    """The session as the server holds it, and per series what it still lacks; ConflictError when
    it is not this study's session under this subject."""
    observed = observe(ctx, session)
    problem = _conflict(observed, subject, study)
    if problem:
        raise ConflictError(problem)
    return observed, _missing(expected, observed)


def observe(ctx: ApplyContext, label: str) -> Observed | None:
    rows = ctx.writer.session_rows(ctx.project, label)
    if not rows:
        return None
    first = rows[0]
    scans = {r.get("xnat:imagescandata/uid", ""): r.get("xnat:imagescandata/id", "") for r in rows}
    files = ctx.writer.scan_files(first.get("ID", ""))
    names = {
        scan: {n for label, names in resources.items() if label in DICOM_RESOURCES for n in names}
        for scan, resources in files.items()
    }
    return Observed(
        id=first.get("ID", ""),
        subject=first.get("subject_label", ""),
        xsi_type=first.get("xsiType", ""),
        study_uid=first.get("UID", ""),
        scan_by_series={uid: scan for uid, scan in scans.items() if uid and scan},
        names=names,
    )


def _conflict(observed: Observed | None, subject: str, study: Study) -> str:
    if observed is None:
        return ""
    if observed.subject and observed.subject.casefold() != subject.casefold():
        return f"the session is on the server under subject {observed.subject}, not {subject}"
    if observed.study_uid and observed.study_uid != study.uid:
        return f"the session on the server holds study {observed.study_uid}, not {study.uid}"
    return ""


def _missing(expected: dict[str, list[Instance]], observed: Observed | None) -> dict[str, list[Instance]]:
    """Per series, the instances the server does not hold, known by XNAT's template names (the
    names xsync's own uploads get). A scan holding files under other names (sent by another tool
    without renaming) cannot tell which of them it holds: with at least as many files as the
    local series has instances it is taken as complete; with fewer, sending "the missing ones"
    could send some twice, so it is an error to settle by hand."""
    out: dict[str, list[Instance]] = {}
    for uid, wanted in expected.items():
        scan = observed.scan_by_series.get(uid) if observed else None
        names = observed.names.get(scan, set()) if observed and scan else set()
        todo = [i for i in wanted if i.server_name not in names]
        foreign = names - {i.server_name for i in wanted}
        if foreign and todo:
            if len(names) >= len(wanted):
                todo = []
            else:
                raise ConflictError(
                    f"scan {scan} holds {len(names)} of the {len(wanted)} instances of series {uid}, some under "
                    "names XNAT's template did not give, so which ones are missing cannot be told; complete it by "
                    "hand or delete the scan and apply again"
                )
        out[uid] = todo
    return out


class _Sent:
    """Bytes of one import on the wire, every send counted, answered or not."""

    def __init__(self) -> None:
        self.bytes = 0


def _send(op: ImportOp, chosen: list[Instance], existing: bool, ctx: ApplyContext, counter: _Sent) -> list[str]:
    """Send `chosen`: over C-STORE, or POSTed as one streamed DICOM-zip; the URIs XNAT answers
    (none for C-STORE)."""
    a = op.address
    assert a.session
    name = f"{a.subject}/{a.session}"
    changes = ctx.headers(a.subject, a.session)
    check_unchanged(chosen)
    if ctx.options.cstore is not None:
        counter.bytes += send_cstore(chosen, changes, ctx.options.cstore, ctx, name)
        return []

    def sent(n: int) -> None:
        counter.bytes += n
        ctx.count_bytes(n)
        ctx.progress.advance(name, n)

    entries = zip_entries(chosen) if not changes else remapped_entries(chosen, element_edits(changes))
    stream = ZipStream(entries, on_bytes=sent)
    dest = f"/{ctx.options.dest}/projects/{a.project}"
    params = [
        ("import-handler", "DICOM-zip"),
        ("PROJECT_ID", a.project),
        ("SUBJECT_ID", a.subject),
        ("EXPT_LABEL", a.session),
        ("rename", "true"),
        ("dest", dest),
    ]
    if existing:
        params.append(("overwrite", "append"))  # merge into the session, never replace files
    ctx.progress.start(name, len(stream))
    try:
        uris = ctx.writer.import_archive(stream, params)
    except RemoteError as e:
        if stream.failure is not None:  # the body broke on our side: say so, and send no more
            raise InventoryError(
                f"a local DICOM file changed while it was sent ({stream.failure}); plan again"
            ) from None
        raise e
    finally:
        ctx.progress.finish(name)
    return uris


def check_unchanged(chosen: list[Instance]) -> None:
    """Every file (a zip or a `.gz` for what they hold) still has the modification time the
    inventory recorded, and a plain file its size: what changed since the scan (rewritten,
    de-identified in place) fails the import before its first byte, not halfway through it, and
    is never sent in place of what the plan showed."""
    by_path: dict[str, DicomFile] = {}
    for i in chosen:
        by_path.setdefault(i.file.path, i.file)  # the members of one zip share its stat
    for path, f in by_path.items():
        try:
            st = os.stat(path)
        except OSError as e:
            raise InventoryError(f"{path}: cannot read it any more ({e.strerror}); plan again") from None
        plain = f.member is None and not f.gzipped
        if st.st_mtime_ns != f.mtime_ns or (plain and st.st_size != f.size):
            raise InventoryError(f"{path} changed since the DICOM was scanned; plan again")


def _session_rows(ctx: ApplyContext, study_uid: str, session: str) -> list[dict[str, str]]:
    """The prearchive rows of this study under this label (others are not ours to move)."""
    rows = ctx.writer.prearchive_rows(ctx.project)
    return [r for r in rows if r.get("tag") == study_uid and r.get("name") == session]


def _receiving(row: dict[str, str]) -> bool:
    return row.get("status", "").startswith("RECEIVING")


def _archive_params(project: str, subject: str, session: str) -> list[tuple[str, str]]:
    """The archive service always merges into an existing session; no `overwrite`, which would
    also override XNAT's checks (a different StudyInstanceUID, a taken scan ID, duplicates)."""
    return [("project", project), ("subject", subject), ("session", session), ("auto-archive", "false")]


def _archive(ctx: ApplyContext, source: str, subject: str, session: str, status: str) -> None:
    """Archive a prearchive session under the planned labels; a refusal carries XNAT's reason."""
    try:
        ctx.writer.archive(source, _archive_params(ctx.project, subject, session))
    except RemoteError as e:
        was = f" ({status})" if status else ""
        raise RemoteError(f"XNAT could not archive the session{was}: {e.message}",
                          method=e.method, url=e.url, status=e.status) from e  # fmt: skip


def _settle_prearchive(
    study_uid: str,
    subject: str,
    session: str,
    ctx: ApplyContext,
    *,
    leave_receiving: bool = False,
    build_receiving: bool = False,
) -> list[str]:
    """Wait while XNAT works on this session's prearchive row (this study under this label: others
    are not ours to move); archive it under the planned labels once it rests (READY, or
    CONFLICT/ERROR, whose archiving answers XNAT's reason).

    `leave_receiving` (before and after a REST send): a row still RECEIVING is what XNAT got
    before a connection broke; it is left for the next send, which XNAT adds to it (waiting would
    last until XNAT's idle timer moves it, minutes). A row XNAT is building or
    archiving (a send whose answer was lost to a timeout) is waited for all the same: sending
    again beside it would race it.

    `build_receiving` (after a C-STORE send, every object answered): a RECEIVING row is ours, and
    is built at once, as XNAT's idle timer would minutes later, then waited for.

    Returns the RECEIVING rows it left (`timestamp/folder`), as the last listing showed them."""
    deadline = ctx.clock() + ctx.options.archive_timeout
    built: set[str] = set()
    while True:
        rows = _session_rows(ctx, study_uid, session)
        left: list[str] = []  # the RECEIVING rows left alone
        if leave_receiving:
            left = [f"{r.get('timestamp', '')}/{r.get('folder', r.get('name', ''))}" for r in rows if _receiving(r)]
            rows = [r for r in rows if not _receiving(r)]
        elif build_receiving:
            unbuilt = [r for r in rows if _receiving(r) and r.get("url") not in built]
            for row in unbuilt:
                ctx.writer.build(row.get("url", ""))
                built.add(row.get("url", ""))
            if unbuilt:
                continue
        if not rows:
            return left
        busy = [r for r in rows if _busy(r.get("status", ""))]
        if not busy:
            for row in rows:
                _archive(ctx, row.get("url", ""), subject, session, row.get("status", ""))
            return left
        statuses = ", ".join(sorted({r.get("status", "") for r in busy}))
        if ctx.runner.interrupted.is_set():
            raise XsyncError(f"interrupted while XNAT worked on the session ({statuses}); the next run archives it")
        if ctx.clock() >= deadline:
            raise RemoteError(
                f"the session stayed in the prearchive ({statuses}) for {ctx.options.archive_timeout:g} s"
            )
        ctx.sleep(ctx.options.poll_interval)
