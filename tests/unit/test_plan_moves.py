"""Declared relabels in the diff: the four cases of a move against the server, and the rest of
the diff made against the server as it will be once the renames are done."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.test_plan_diff import R, desired, kinds
from xsync.model.desired import DesiredState, Relabel
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteState
from xsync.plan.diff import diff
from xsync.plan.fingerprint import part_digests, remote_dependencies
from xsync.plan.ops import RenameSession, RenameSubject


def relabelled(subject: str = "sub1", session: str = "session1", *moves: Relabel, **kw: object) -> DesiredState:
    """The diff tests' desired state with its subject and session under other labels."""
    want = desired(**kw)  # type: ignore[arg-type]
    s = want.subjects["sub1"]
    se = replace(s.sessions["session1"], label=session)
    s = replace(s, label=subject, sessions=FrozenMap({session: se}))
    return replace(want, subjects=FrozenMap({subject: s}), moves=moves)


def server(subject: str = "sub1", session: str = "session1", **kw: object) -> RemoteState:
    state = R(**kw).build()  # type: ignore[arg-type]
    subjects = {}
    for rs in state.subjects.values():
        sessions = {(session if k == "session1" else k): replace(v, label=session) for k, v in rs.sessions.items()}
        subjects[subject] = replace(rs, label=subject, sessions=FrozenMap(sessions))
    return replace(state, subjects=FrozenMap(subjects))


SESSION_MOVE = Relabel("session1", "mr1", "sub1")
SUBJECT_MOVE = Relabel("sub1", "hcp001")


def test_a_session_move_is_one_rename_and_its_scans_are_the_servers() -> None:
    result = diff(relabelled("sub1", "mr1", SESSION_MOVE), server())
    assert result.conflicts == ()
    assert result.operations == (
        RenameSession(
            address="P/sub1/mr1", session_id="XNAT_E00001", from_label="session1", reason="declared in moved"
        ),  # type: ignore[arg-type]
    )
    assert result.unmanaged == ()  # the old label is not an unmanaged session


def test_a_move_already_done_is_a_no_op() -> None:
    assert diff(relabelled("sub1", "mr1", SESSION_MOVE), server(session="mr1")).operations == ()
    assert diff(relabelled("hcp001", "session1", SUBJECT_MOVE), server("hcp001")).operations == ()


def test_field_changes_are_planned_against_the_renamed_objects_values() -> None:
    want = relabelled(
        "hcp001", "mr1", SUBJECT_MOVE, Relabel("session1", "mr1", "hcp001"), session_fields={"scanner": "Prisma"}
    )
    result = diff(want, server())
    assert kinds(result) == [
        "rename_subject P/hcp001",
        "rename_session P/hcp001/mr1",
        "update_session P/hcp001/mr1",
    ]
    update = result.operations[2]
    assert [(c.name, c.before, c.after) for c in update.changes] == [("scanner", "SIEMENS", "Prisma")]  # type: ignore[union-attr]
    assert isinstance(result.operations[0], RenameSubject) and result.operations[0].from_label == "sub1"


def test_a_subject_relabel_that_changes_only_case_is_a_rename() -> None:
    result = diff(relabelled("SUB1", "session1", Relabel("sub1", "SUB1")), server())
    assert kinds(result) == ["rename_subject P/SUB1"] and result.conflicts == ()
    assert diff(relabelled("SUB1", "session1", Relabel("sub1", "SUB1")), server("SUB1")).operations == ()


@pytest.mark.parametrize(
    ("want", "remote", "message"),
    [
        (relabelled("hcp001", "session1", SUBJECT_MOVE), "taken",
         "P/hcp001: cannot rename subject sub1 (XNAT_S00001) to hcp001: the server already has subject HCP001 "
         "(XNAT_S00009); the target label is taken"),
        (relabelled("hcp001", "session1", SUBJECT_MOVE), "neither",
         "P/hcp001: neither subject sub1 (moved from) nor subject hcp001 (moved to) is on the server: there is "
         "nothing to rename"),
        (relabelled("sub1", "mr1", SESSION_MOVE), "session taken",
         "P/sub1/mr1: cannot rename session session1 (XNAT_E00001) to mr1: the server already has session mr1 "
         "(XNAT_E00009); the target label is taken"),
        (relabelled("sub1", "mr1", SESSION_MOVE), "session neither",
         "P/sub1/mr1: neither session session1 (moved from) nor session mr1 (moved to) is on the server: there "
         "is nothing to rename"),
        (relabelled("sub1", "mr1", SESSION_MOVE), "elsewhere",
         "P/sub1/mr1: session session1 (XNAT_E00001) is under subject other on the server, not sub1: a move "
         "renames a session within its subject"),
    ],
)  # fmt: skip
def test_move_conflicts(want: DesiredState, remote: str, message: str) -> None:
    state = server()
    sub1 = state.subjects["sub1"]
    if remote == "taken":
        taken = replace(sub1, id="XNAT_S00009", label="HCP001", sessions=FrozenMap())
        state = replace(state, subjects=FrozenMap({**state.subjects, "HCP001": taken}))
    elif remote == "neither":
        state = replace(state, subjects=FrozenMap())
    elif remote == "session taken":
        other = replace(sub1.sessions["session1"], id="XNAT_E00009", label="mr1", fields=FrozenMap())
        both = replace(sub1, sessions=FrozenMap({**sub1.sessions, "mr1": other}))
        state = replace(state, subjects=FrozenMap({"sub1": both}))
    elif remote == "session neither":
        state = replace(state, subjects=FrozenMap({"sub1": replace(sub1, sessions=FrozenMap())}))
    else:
        moved = {k: replace(v, subject_id="XNAT_S00002") for k, v in sub1.sessions.items()}
        other = replace(sub1, id="XNAT_S00002", label="other", sessions=FrozenMap(moved))
        state = replace(state, subjects=FrozenMap({"sub1": replace(sub1, sessions=FrozenMap()), "other": other}))
    assert [str(c) for c in diff(want, state).conflicts][:1] == [message]


def test_the_fingerprint_says_which_labels_of_a_move_the_server_holds() -> None:
    want = relabelled("sub1", "mr1", SESSION_MOVE)
    before, after = (part_digests(remote_dependencies(want, s)) for s in (server(), server(session="mr1")))
    # the renamed session counts under its new label, as the diff compares it; only the move differs
    assert {k for k in before if before[k] != after.get(k)} == {"moved"}
