"""Desired state vs remote state -> operations, conflicts, pending prearchive entries and
unmanaged objects. Pure and keyed: objects are matched by label (subjects, sessions) and by
SeriesInstanceUID then scan ID (scans); fields are compared only where the spec manages them,
after XNAT's normalisation.

Declared relabels come first (`moves.py`): the rest of the diff compares the spec with the
server as it will be once they are done.

Order of the operations: renames (subjects, then sessions), subjects, imports, session fields,
scan fields, deletions (scans, then sessions, then subjects) — the order apply must follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsync.model.address import Address
from xsync.model.desired import (
    DesiredScan,
    DesiredSession,
    DesiredState,
    DesiredSubject,
    FieldValue,
    LocalSeries,
    LocalStudy,
)
from xsync.model.fields import Level, field_def
from xsync.model.remote import RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.model.values import same_value
from xsync.plan.moves import plan_moves
from xsync.plan.ops import (
    AppendSeries,
    CreateSubject,
    DeleteScan,
    DeleteSession,
    DeleteSubject,
    FieldChange,
    HeaderRemap,
    ImportSession,
    Operation,
    ResendInstances,
    SeriesImport,
    UpdateScan,
    UpdateSession,
    UpdateSubject,
)


@dataclass(frozen=True)
class Conflict:
    """Something the plan must refuse to paper over."""

    address: Address
    message: str

    def __str__(self) -> str:
        return f"{self.address}: {self.message}"


@dataclass(frozen=True)
class Pending:
    """A prearchive entry: `session` is the spec's label when the entry holds a study the spec
    binds, "" otherwise (its own labels may come from patient names and stay hidden)."""

    timestamp: str
    status: str
    study_uid: str
    session: str = ""


@dataclass(frozen=True)
class DiffResult:
    operations: tuple[Operation, ...]
    conflicts: tuple[Conflict, ...]
    pending: tuple[Pending, ...]
    unmanaged: tuple[Address, ...]


def field_changes(
    level: Level, desired: Mapping[str, FieldValue], current: Mapping[str, str], *, custom: bool = False
) -> tuple[FieldChange, ...]:
    """Managed fields whose stored value differs from the desired one, in the spec's order."""
    out = []
    for name, wanted in desired.items():
        definition = None if custom else field_def(level, name)
        before = current.get(name)
        if before is None:
            if wanted.value == "":
                continue  # XNAT lists an unset field as ""
        elif before == wanted.value or same_value(definition, before, wanted.value):
            continue
        out.append(FieldChange(name=name, before=before, after=wanted.value, custom=custom, source=wanted.source))
    return tuple(out)


def _sending(via: str, study: LocalStudy) -> dict[str, Any]:
    """How an import of `study` is sent, as the import operations record it."""
    return {"via": via, "headers": tuple(HeaderRemap(attribute=k, action=a) for k, a in study.headers)}  # type: ignore[arg-type]


def _series_import(s: LocalSeries) -> SeriesImport:
    return SeriesImport(
        uid=s.uid,
        scan_id=s.scan_id,
        xsi_type=s.xsi_type,
        description=s.description,
        instances=s.instances,
        bytes=s.bytes,
    )


@dataclass
class _Buckets:
    renames: list[Operation] = field(default_factory=list)
    subjects: list[Operation] = field(default_factory=list)
    imports: list[Operation] = field(default_factory=list)
    sessions: list[Operation] = field(default_factory=list)
    scans: list[Operation] = field(default_factory=list)
    delete_scans: list[Operation] = field(default_factory=list)
    delete_sessions: list[Operation] = field(default_factory=list)
    delete_subjects: list[Operation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unmanaged: list[Address] = field(default_factory=list)
    prearchived: dict[str, str] = field(default_factory=dict)  # study UID -> prearchive timestamp
    via: str = "rest"  # the spec's upload method

    def operations(self) -> tuple[Operation, ...]:
        return tuple(
            self.renames + self.subjects + self.imports + self.sessions + self.scans
            + self.delete_scans + self.delete_sessions + self.delete_subjects
        )  # fmt: skip


def diff(desired: DesiredState, remote: RemoteState) -> DiffResult:
    b = _Buckets(prearchived={p.study_uid: p.timestamp for p in remote.prearchive if p.study_uid}, via=desired.via)
    project = desired.project
    moves = plan_moves(desired, remote)
    b.renames.extend(moves.operations)
    b.conflicts.extend(Conflict(address, message) for address, message in moves.conflicts)
    remote = moves.remote
    folded = {label.casefold(): label for label in remote.subjects}
    for label, subject in desired.subjects.items():
        twin = folded.get(label.casefold())
        if label not in remote.subjects and twin is not None and not subject.absent:
            b.conflicts.append(
                Conflict(
                    Address(project, label),
                    f"the server has subject {twin}, which XNAT's archiver takes for the same subject "
                    "(labels that differ only in case); use the server's spelling",
                )
            )
            continue
        _diff_subject(b, Address(project, label), subject, remote.subjects.get(label), remote)
    for label in remote.subjects:
        if label not in desired.subjects:
            b.unmanaged.append(Address(project, label))
    return DiffResult(b.operations(), tuple(b.conflicts), _pending(desired, remote), tuple(b.unmanaged))


def _diff_subject(
    b: _Buckets, addr: Address, ds: DesiredSubject, rs: RemoteSubject | None, remote: RemoteState
) -> None:
    if ds.absent:
        if rs is not None:
            b.delete_subjects.append(DeleteSubject(address=addr, subject_id=rs.id, sessions=len(rs.sessions)))
        return
    if rs is None:
        changes = field_changes(Level.SUBJECT, ds.fields, {}) + field_changes(Level.SUBJECT, ds.custom, {}, custom=True)
        b.subjects.append(CreateSubject(address=addr, fields=changes, reason="not on the server"))
    else:
        changes = field_changes(Level.SUBJECT, ds.fields, rs.fields) + field_changes(
            Level.SUBJECT, ds.custom, rs.custom, custom=True
        )
        if changes:
            b.subjects.append(UpdateSubject(address=addr, subject_id=rs.id, changes=changes))
        for label in rs.sessions:
            if label not in ds.sessions:
                b.unmanaged.append(Address(addr.project, addr.subject, label))
    for label, session in ds.sessions.items():
        found = remote.session(label)
        s_addr = Address(addr.project, addr.subject, label)
        if found is not None and (rs is None or found.subject_id != rs.id):
            owner = _subject_label(remote, found.subject_id)
            b.conflicts.append(
                Conflict(
                    s_addr, f"the session ({found.id}) exists on the server under subject {owner}, not {addr.subject}"
                )
            )
            continue
        _diff_session(b, s_addr, session, found, remote)


def _subject_label(remote: RemoteState, subject_id: str) -> str:
    for s in remote.subjects.values():
        if s.id == subject_id:
            return s.label
    return subject_id


def _diff_session(
    b: _Buckets, addr: Address, ds: DesiredSession, rs: RemoteSession | None, remote: RemoteState
) -> None:
    if ds.absent:
        if rs is not None:
            b.delete_sessions.append(DeleteSession(address=addr, session_id=rs.id, scans=len(rs.scans)))
        return
    if rs is None:
        _new_session(b, addr, ds, remote)
        return
    if ds.xsi_type and rs.xsi_type and ds.xsi_type != rs.xsi_type:
        b.conflicts.append(Conflict(addr, f"the session is a {rs.xsi_type} on the server, the spec says {ds.xsi_type}"))
        return
    study = ds.study
    remote_uid = rs.fields.get("UID", "")
    if ds.remote_study and remote_uid != ds.remote_study:
        held = f"study {remote_uid}" if remote_uid else "no StudyInstanceUID"
        b.conflicts.append(Conflict(addr, f"the session on the server holds {held}; the spec binds study "
                                          f"{ds.remote_study}, which is not in the local DICOM either"))  # fmt: skip
        return
    if study is not None and remote_uid and remote_uid != study.uid:
        b.conflicts.append(
            Conflict(addr, f"the session on the server holds study {remote_uid}; the bound local study is {study.uid}")
        )
        return
    changes = field_changes(Level.SESSION, ds.fields, rs.fields) + field_changes(
        Level.SESSION, ds.custom, rs.custom, custom=True
    )
    if changes:
        b.sessions.append(UpdateSession(address=addr, session_id=rs.id, xsi_type=rs.xsi_type, changes=changes))
    scan_ids = _match_series(b, addr, ds, rs)
    local = {s.scan_id: s for s in ds.study.series} if ds.study else {}
    for scan_id, scan in ds.scans.items():
        series = scan.series or local.get(scan_id)
        if scan.absent and series is not None:
            found = _server_scan_of(b, Address(addr.project, addr.subject, addr.session, scan_id), series, rs)
            if found is None:
                continue  # never arrived, or refused as a conflict: nothing to delete
            scan_ids[scan_id] = found
        effective_id = scan_ids.get(scan_id, scan_id)
        _diff_scan(b, rs, Address(addr.project, addr.subject, addr.session, effective_id), scan, series)
    managed = {scan_ids.get(k, k) for k in ds.scans} | set(scan_ids.values())  # bound series are managed
    for scan_id in rs.scans:
        if scan_id not in managed:
            b.unmanaged.append(Address(addr.project, addr.subject, addr.session, scan_id))


def _new_session(b: _Buckets, addr: Address, ds: DesiredSession, remote: RemoteState) -> None:
    study = ds.study
    if study is None:
        why = (f"its study {ds.remote_study} is not in the local DICOM to import it from" if ds.remote_study
               else "has no DICOM binding to import it from")  # fmt: skip
        b.conflicts.append(Conflict(addr, f"the session is not on the server and {why}"))
        return
    elsewhere = remote.session_with_study(study.uid)
    if elsewhere is not None:
        b.conflicts.append(
            Conflict(
                addr,
                f"study {study.uid} is already on the server as session {elsewhere.label} ({elsewhere.id}); "
                "importing it again would make a second copy",
            )
        )
        return
    wanted = _wanted_series(ds)
    b.imports.append(
        ImportSession(
            address=addr,
            study_uid=study.uid,
            xsi_type=ds.xsi_type or study.xsi_type,
            series=tuple(_series_import(s) for s in wanted),
            instances=sum(s.instances for s in wanted),
            bytes=sum(s.bytes for s in wanted),
            prearchive=b.prearchived.get(study.uid, ""),
            reason="not on the server",
            **_sending(b.via, study),
        )
    )
    changes = field_changes(Level.SESSION, ds.fields, study.predicted) + field_changes(
        Level.SESSION, ds.custom, {}, custom=True
    )
    if changes:
        b.sessions.append(
            UpdateSession(
                address=addr, session_id="", xsi_type=ds.xsi_type or study.xsi_type, changes=changes, after_import=True
            )
        )
    local = {s.scan_id: s for s in study.series}
    for scan_id, scan in ds.scans.items():
        s_addr = Address(addr.project, addr.subject, addr.session, scan_id)
        if scan.absent:
            continue  # nothing to delete: the scan never existed
        series = scan.series or local.get(scan_id)
        if series is None:
            b.conflicts.append(Conflict(s_addr, "the scan is in the spec but not in the bound DICOM study"))
            continue
        changes = field_changes(Level.SCAN, scan.fields, series.predicted)
        if changes:
            b.scans.append(
                UpdateScan(address=s_addr, session_id="", xsi_type=series.xsi_type, changes=changes, after_import=True)
            )


def _wanted_series(ds: DesiredSession) -> list[LocalSeries]:
    """The bound study's series, except those whose scan the spec marks absent (never sent)."""
    if ds.study is None:
        return []
    absent = {scan_id for scan_id, scan in ds.scans.items() if scan.absent}
    return [s for s in ds.study.series if s.scan_id not in absent]


def _match_series(b: _Buckets, addr: Address, ds: DesiredSession, rs: RemoteSession) -> dict[str, str]:
    """Local series against the server's scans, by SeriesInstanceUID. Returns predicted scan ID
    -> the server's scan ID for series already there; plans appends and re-sends."""
    study = ds.study
    if study is None:
        return {}
    by_uid: dict[str, RemoteScan] = {s.fields.get("UID", ""): s for s in rs.scans.values() if s.fields.get("UID")}
    mapping: dict[str, str] = {}
    missing: list[LocalSeries] = []
    for series in _wanted_series(ds):
        scan = by_uid.get(series.uid)
        if scan is None:
            clash = rs.scans.get(series.scan_id)
            if clash is not None:
                s_addr = Address(addr.project, addr.subject, addr.session, series.scan_id)
                b.conflicts.append(
                    Conflict(
                        s_addr,
                        f"scan {series.scan_id} on the server is series {clash.fields.get('UID') or '(no UID)'}; "
                        f"the local series {series.uid} would take the same ID",
                    )
                )
                continue
            missing.append(series)
            continue
        mapping[series.scan_id] = scan.id
        files = scan.dicom_file_count if rs.resources_read else None  # None: not known, nothing planned
        if files is not None and files < series.instances:
            b.imports.append(
                ResendInstances(
                    address=Address(addr.project, addr.subject, addr.session, scan.id),
                    session_id=rs.id,
                    study_uid=study.uid,
                    series_uid=series.uid,
                    local_instances=series.instances,
                    remote_files=files,
                    bytes=series.bytes,
                    reason=f"{series.instances - files} instances missing on the server",
                    **_sending(b.via, study),
                )
            )
    if missing:
        b.imports.append(
            AppendSeries(
                address=addr,
                session_id=rs.id,
                study_uid=study.uid,
                series=tuple(_series_import(s) for s in missing),
                instances=sum(s.instances for s in missing),
                bytes=sum(s.bytes for s in missing),
                reason="series missing from the session on the server",
                **_sending(b.via, study),
            )
        )
        for s in missing:
            mapping[s.scan_id] = s.scan_id
    return mapping


def _server_scan_of(b: _Buckets, addr: Address, series: LocalSeries, rs: RemoteSession) -> str | None:
    """The server's scan ID of a local series the spec marks absent, found by its
    SeriesInstanceUID: the spec's key is the ID XNAT would give it, and the server may have given
    that ID to another series. None when the series is not on the server; a conflict when the
    key's scan there holds another series, or one whose UID is unknown."""
    for scan in rs.scans.values():
        if scan.fields.get("UID") == series.uid:
            return scan.id
    there = rs.scans.get(series.scan_id)
    if there is not None:
        held = there.fields.get("UID") or "(no UID)"
        b.conflicts.append(
            Conflict(
                addr,
                f"scan {there.id} on the server is series {held}, not the local series {series.uid} the spec "
                "marks absent; refusing to delete another series",
            )  # fmt: skip
        )
    return None


def _diff_scan(b: _Buckets, rs: RemoteSession, addr: Address, ds: DesiredScan, series: LocalSeries | None) -> None:
    remote_scan = rs.scans.get(addr.scan)
    if ds.absent:
        if remote_scan is not None:
            b.delete_scans.append(DeleteScan(address=addr, session_id=rs.id, files=remote_scan.dicom_file_count or 0))
        return
    if remote_scan is not None:
        if remote_scan.xsi_type:
            lacking = [
                n for n in ds.fields if (d := field_def(Level.SCAN, n)) and not d.applies_to(remote_scan.xsi_type)
            ]
            if lacking:
                b.conflicts.append(
                    Conflict(addr, f"the scan is a {remote_scan.xsi_type}, which has no {', '.join(lacking)}")
                )
                return
        changes = field_changes(Level.SCAN, ds.fields, remote_scan.fields)
        if changes:
            b.scans.append(UpdateScan(address=addr, session_id=rs.id, xsi_type=remote_scan.xsi_type, changes=changes))
        return
    if series is None:
        b.conflicts.append(
            Conflict(addr, "the scan is in the spec but neither on the server nor in the bound DICOM study")
        )
        return
    changes = field_changes(Level.SCAN, ds.fields, series.predicted)
    if changes:  # the scan arrives with this plan's append
        b.scans.append(
            UpdateScan(address=addr, session_id=rs.id, xsi_type=series.xsi_type, changes=changes, after_import=True)
        )


def _pending(desired: DesiredState, remote: RemoteState) -> tuple[Pending, ...]:
    wanted = {
        session.study.uid: label
        for subject in desired.subjects.values()
        for label, session in subject.sessions.items()
        if session.study is not None
    }
    return tuple(Pending(p.timestamp, p.status, p.study_uid, wanted.get(p.study_uid, "")) for p in remote.prearchive)
