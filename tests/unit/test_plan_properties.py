"""Property test of the diff (hypothesis): for generated desired states and servers, applying the
plan's operations to a model of the server yields a server the next plan leaves alone (an empty
plan), and the model then holds every value the spec asks for.

The model applies each operation as XNAT would store it: field values set or cleared, subjects
created with their fields, objects deleted with what they hold. Imports are left out (they need
DICOM); everything else the diff plans is covered: subject, session and scan fields, custom
variables, creations and deletions at every level."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from xsync.model.desired import DesiredScan, DesiredSession, DesiredState, DesiredSubject, FieldValue
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.plan.diff import diff
from xsync.plan.ops import (
    CreateSubject,
    DeleteScan,
    DeleteSession,
    DeleteSubject,
    FieldChange,
    Operation,
    UpdateScan,
    UpdateSession,
    UpdateSubject,
)

MR, MR_SCAN = "xnat:mrSessionData", "xnat:mrScanData"
SUBJECTS, SESSIONS, SCANS = ["s1", "s2", "s3"], ["e1", "e2"], ["1", "2", "3"]
values = st.sampled_from(["a", "b", "T1w", "Tech&Co", "x y"])
genders = st.sampled_from(["male", "female", "other"])
ages = st.integers(min_value=1, max_value=99).map(str)


def _fields(draw: st.DrawFn, spec: dict[str, st.SearchStrategy[str]]) -> dict[str, str]:
    return {k: draw(s) for k, s in spec.items() if draw(st.booleans())}


@st.composite
def remote_states(draw: st.DrawFn) -> RemoteState:
    subjects = {}
    for n, label in enumerate(draw(st.lists(st.sampled_from(SUBJECTS), unique=True))):
        sessions = {}
        for m, e in enumerate(draw(st.lists(st.sampled_from(SESSIONS), unique=True))):
            scans = {sid: RemoteScan(sid, MR_SCAN, FrozenMap(_fields(draw, {"type": values, "quality": values})))
                     for sid in draw(st.lists(st.sampled_from(SCANS), unique=True))}  # fmt: skip
            ident = f"E{n}{m}"
            sessions[f"{label}_{e}"] = RemoteSession(ident, f"{label}_{e}", MR, f"S{n}",
                                                     FrozenMap(_fields(draw, {"scanner": values, "note": values})),
                                                     FrozenMap(_fields(draw, {"visit": values})), FrozenMap(scans),
                                                     resources_read=True)  # fmt: skip
        subjects[label] = RemoteSubject(f"S{n}", label, FrozenMap(_fields(draw, {"gender": genders, "age": ages})),
                                        FrozenMap(_fields(draw, {"site": values})), FrozenMap(sessions))  # fmt: skip
    return RemoteState("https://x", "P", FrozenMap(subjects))


@st.composite
def desired_states(draw: st.DrawFn, remote: RemoteState) -> DesiredState:
    """Objects the server holds (no imports needed) or new subjects; some marked absent."""
    subjects = {}
    for label in draw(st.lists(st.sampled_from(SUBJECTS), unique=True)):
        rs = remote.subjects.get(label)
        if rs is not None and draw(st.integers(0, 5)) == 0:
            subjects[label] = DesiredSubject(label, absent=True)
            continue
        sessions = {}
        for e_label, se in rs.sessions.items() if rs is not None else []:
            if draw(st.integers(0, 4)) == 0:
                sessions[e_label] = DesiredSession(e_label, MR, absent=True)
                continue
            scans = {}
            for sid in se.scans:
                if draw(st.integers(0, 4)) == 0:
                    scans[sid] = DesiredScan(sid, absent=True)
                else:
                    scans[sid] = DesiredScan(sid, _fv(_fields(draw, {"type": values, "quality": values})))
            fields = _fv(_fields(draw, {"scanner": values, "note": values}))
            custom = _fv(_fields(draw, {"visit": values}))
            sessions[e_label] = DesiredSession(e_label, MR, fields, custom, scans=FrozenMap(scans))
        fields = _fv(_fields(draw, {"gender": genders, "age": ages}))
        custom = _fv(_fields(draw, {"site": values}))
        subjects[label] = DesiredSubject(label, fields, custom, sessions=FrozenMap(sessions))
    return DesiredState("P", FrozenMap(subjects))


def _fv(values: dict[str, str]) -> FrozenMap[str, FieldValue]:
    return FrozenMap({k: FieldValue(v) for k, v in values.items()})


def _changed(fields: FrozenMap[str, str], changes: tuple[FieldChange, ...], custom: bool) -> FrozenMap[str, str]:
    out = dict(fields)
    for c in changes:
        if c.custom != custom:
            continue
        if c.after is None:
            out.pop(c.name, None)
        else:
            out[c.name] = c.after
    return FrozenMap(out)


def apply_to_model(remote: RemoteState, operations: tuple[Operation, ...]) -> RemoteState:
    """The server after the operations, as XNAT stores them."""
    subjects = dict(remote.subjects)
    for op in operations:
        a = op.address
        if isinstance(op, CreateSubject):
            subjects[a.subject] = RemoteSubject(f"new-{a.subject}", a.subject, _changed(FrozenMap(), op.fields, False),
                                                _changed(FrozenMap(), op.fields, True))  # fmt: skip
        elif isinstance(op, UpdateSubject):
            s = subjects[a.subject]
            subjects[a.subject] = replace(s, fields=_changed(s.fields, op.changes, False),
                                          custom=_changed(s.custom, op.changes, True))  # fmt: skip
        elif isinstance(op, DeleteSubject):
            subjects.pop(a.subject)
        else:
            s = subjects[a.subject]
            sessions = dict(s.sessions)
            se = sessions[a.session]
            if isinstance(op, UpdateSession):
                sessions[a.session] = replace(se, fields=_changed(se.fields, op.changes, False),
                                              custom=_changed(se.custom, op.changes, True))  # fmt: skip
            elif isinstance(op, DeleteSession):
                sessions.pop(a.session)
            else:
                scans = dict(se.scans)
                if isinstance(op, UpdateScan):
                    scans[a.scan] = replace(scans[a.scan], fields=_changed(scans[a.scan].fields, op.changes, False))
                elif isinstance(op, DeleteScan):
                    scans.pop(a.scan)
                else:
                    raise AssertionError(f"an operation the model does not know: {op.kind}")
                sessions[a.session] = replace(se, scans=FrozenMap(scans))
            subjects[a.subject] = replace(s, sessions=FrozenMap(sessions))
    return replace(remote, subjects=FrozenMap(subjects))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_applying_a_plan_leaves_nothing_to_plan(data: st.DataObject) -> None:
    remote = data.draw(remote_states())
    want = data.draw(desired_states(remote))
    first = diff(want, remote)
    assert first.conflicts == ()
    after = apply_to_model(remote, first.operations)
    second = diff(want, after)
    assert second.operations == (), second.operations
    for label, subject in want.subjects.items():
        held = after.subjects.get(label)
        assert (held is None) == subject.absent
        if held is None:
            continue
        assert all(held.fields.get(k) == v.value for k, v in subject.fields.items())
        assert all(held.custom.get(k) == v.value for k, v in subject.custom.items())
