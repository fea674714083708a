"""Declared relabels (`moved:`) against the server. Pure.

Each move is one of four cases: the old label is on the server and the new one is not (one
rename operation); the new one is and the old one is not (already done: nothing); both are
(the target is taken: a conflict); neither is (a conflict naming both). The rest of the diff
then compares the spec with the server *as it will be once the renames are done*: the renamed
object is the spec's object, so its fields, scans and files are compared, never imported again
or deleted. Subject labels are matched in any case, as XNAT's archiver matches them; session
labels exactly (they are unique within a project). Subjects are renamed before sessions, so a
session's move names its subject's new label.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xsync.model.address import Address
from xsync.model.desired import DesiredState, Relabel
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteState, RemoteSubject
from xsync.plan.ops import Operation, RenameSession, RenameSubject


@dataclass(frozen=True)
class Moves:
    operations: tuple[Operation, ...]
    conflicts: tuple[tuple[Address, str], ...]
    remote: RemoteState  # the server as it will be once `operations` are done


def find_subject(remote: RemoteState, label: str) -> RemoteSubject | None:
    """The subject of that label, else the one whose label differs only in case."""
    found: RemoteSubject | None = remote.subjects.get(label)
    if found is not None:
        return found
    folded = label.casefold()
    return next((s for key, s in remote.subjects.items() if key.casefold() == folded), None)


def plan_moves(desired: DesiredState, remote: RemoteState) -> Moves:
    operations: list[Operation] = []
    conflicts: list[tuple[Address, str]] = []
    view = remote
    for move in desired.moves:
        if move.subject:
            view = _session_move(desired.project, move, view, operations, conflicts)
        else:
            view = _subject_move(desired.project, move, view, operations, conflicts)
    return Moves(tuple(operations), tuple(conflicts), view)


def _subject_move(
    project: str, move: Relabel, view: RemoteState, ops: list[Operation], conflicts: list[tuple[Address, str]]
) -> RemoteState:
    addr = Address(project, move.target)
    source, target = find_subject(view, move.source), find_subject(view, move.target)
    if source is not None and target is not None and source.id != target.id:
        conflicts.append(
            (addr, f"cannot rename subject {source.label} ({source.id}) to {move.target}: the server already has "
                   f"subject {target.label} ({target.id}); the target label is taken")
        )  # fmt: skip
        return view
    if source is None and target is None:
        conflicts.append(
            (addr, f"neither subject {move.source} (moved from) nor subject {move.target} (moved to) is on the "
                   "server: there is nothing to rename")
        )  # fmt: skip
        return view
    found = source or target
    assert found is not None
    if found.label == move.target:
        return view  # done: the declaration is a no-op
    ops.append(RenameSubject(address=addr, subject_id=found.id, from_label=found.label, reason="declared in moved"))
    renamed = replace(found, label=move.target)
    subjects = {(move.target if key == found.label else key): (renamed if s is found else s)
                for key, s in view.subjects.items()}  # fmt: skip
    return replace(view, subjects=FrozenMap(subjects))


def _session_move(
    project: str, move: Relabel, view: RemoteState, ops: list[Operation], conflicts: list[tuple[Address, str]]
) -> RemoteState:
    addr = Address(project, move.subject, move.target)
    source, target = view.session(move.source), view.session(move.target)
    if source is not None and target is not None:
        conflicts.append(
            (addr, f"cannot rename session {move.source} ({source.id}) to {move.target}: the server already has "
                   f"session {move.target} ({target.id}); the target label is taken")
        )  # fmt: skip
        return view
    if source is None:
        if target is None:
            conflicts.append(
                (addr, f"neither session {move.source} (moved from) nor session {move.target} (moved to) is on the "
                       "server: there is nothing to rename")
            )  # fmt: skip
        return view  # the target alone: done, the declaration is a no-op
    owner = next((s for s in view.subjects.values() if s.id == source.subject_id), None)
    wanted = find_subject(view, move.subject)
    if owner is None or wanted is None or owner.id != wanted.id:
        where = f"subject {owner.label}" if owner is not None else f"subject {source.subject_id}"
        conflicts.append(
            (addr, f"session {move.source} ({source.id}) is under {where} on the server, not {move.subject}: "
                   "a move renames a session within its subject")
        )  # fmt: skip
        return view
    ops.append(RenameSession(address=addr, session_id=source.id, from_label=source.label, reason="declared in moved"))
    renamed = replace(source, label=move.target)
    sessions = {(move.target if key == source.label else key): (renamed if se is source else se)
                for key, se in owner.sessions.items()}  # fmt: skip
    subjects = {
        key: (replace(s, sessions=FrozenMap(sessions)) if s is owner else s) for key, s in view.subjects.items()
    }
    return replace(view, subjects=FrozenMap(subjects))
