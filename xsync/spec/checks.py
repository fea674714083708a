"""Checks across fields and objects that single-field validation cannot make. Pure.

Each problem is (loc, message, at_key): the path of the key it concerns, the text, and whether
to point at the key (True) or at its value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from xsync.model.fields import FIELDS, Level
from xsync.spec.model import DicomBinding, Move, Remap, Session, SpecModel, Subject
from xsync.spec.xsitypes import (
    owners_text,
    scan_field_may_apply,
    session_types_holding,
    session_types_with,
)

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, bool]

# xs:choice in xnat:demographicData: an XML document may carry only one of them.
AGE_CHOICE = ("dob", "yob", "age")


def _given(obj: SpecModel) -> list[str]:
    """Fields written in the spec (or its defaults), in model order."""
    given = obj.model_fields_set
    return [name for name in type(obj).model_fields if name in given] if given else []


def _absent(obj: SpecModel, loc: Loc, what: str) -> Iterator[Problem]:
    if getattr(obj, "absent", False) and len(obj.model_fields_set) > 1:
        others = [n for n in _given(obj) if n != "absent"]
        if others:
            yield (*loc, "absent"), f"an absent {what} takes no other keys (found: {', '.join(others)})", True


def _investigator(obj: Subject | Session, loc: Loc) -> Iterator[Problem]:
    # investigatorData requires firstname and lastname [uncertain whether XNAT's PUT refuses
    # one alone; refusing here keeps a half-written investigator off the server].
    first, last = getattr(obj, "pi_firstname", None), getattr(obj, "pi_lastname", None)
    if (first is None) != (last is None):
        given, needed = ("pi_firstname", "pi_lastname") if last is None else ("pi_lastname", "pi_firstname")
        yield (*loc, given), f"{given} needs {needed} too: XNAT's investigator record requires both", True


def _subject(subject: Subject, loc: Loc) -> Iterator[Problem]:
    yield from _absent(subject, loc, "subject")
    chosen = [n for n in AGE_CHOICE if getattr(subject, n) is not None]
    if len(chosen) > 1:
        message = f"dob, yob and age are alternatives in XNAT: give only one (found: {', '.join(chosen)})"
        yield (*loc, chosen[1]), message, True
    yield from _investigator(subject, loc)


def _session(session: Session, loc: Loc) -> Iterator[Problem]:
    yield from _absent(session, loc, "session")
    yield from _investigator(session, loc)
    for name in _given(session):
        definition = FIELDS[Level.SESSION].get(name)
        if definition is not None and not definition.applies_to(session.xsi_type):
            types = ", ".join(session_types_with(definition))
            yield (*loc, name), f'"{name}" applies only to {types} sessions, not to {session.xsi_type}', True
    for scan_id, scan in session.scans.items():
        scan_loc = (*loc, "scans", scan_id)
        yield from _absent(scan, scan_loc, "scan")
        for name in _given(scan):
            definition = FIELDS[Level.SCAN].get(name)
            if definition is not None and not scan_field_may_apply(definition, session.xsi_type):
                sessions = ", ".join(session_types_holding(definition))
                yield (
                    (*scan_loc, name),
                    f'"{name}" applies only to {owners_text(definition)} scans (in {sessions} sessions), '
                    f"not to scans of {session.xsi_type}",
                    True,
                )


def check_subjects(subjects: Mapping[str, Subject]) -> list[Problem]:
    problems: list[Problem] = []
    for label, subject in subjects.items():
        loc: Loc = ("subjects", label)
        problems.extend(_subject(subject, loc))
        for session_label, session in subject.sessions.items():
            problems.extend(_session(session, (*loc, "sessions", session_label)))
    return problems


def check_session_labels(subjects: Mapping[str, Subject], where: Callable[[Loc], str]) -> list[Problem]:
    """Session labels are unique within the project, not only within a subject (XNAT's
    experiment labels are), and differ in more than case. `where(loc)` names a place."""
    problems: list[Problem] = []
    first: dict[str, tuple[str, str]] = {}  # lower-cased label -> (subject, label)
    for subject_label, subject in subjects.items():
        for label in subject.sessions:
            earlier = first.setdefault(label.lower(), (subject_label, label))
            if earlier == (subject_label, label):
                continue
            other_subject, other_label = earlier
            place = f'under subject "{other_subject}" at {where(("subjects", other_subject, "sessions", other_label))}'
            if other_label == label:
                message = f'session "{label}" is already defined {place}: session labels are unique within a project'
            else:
                # XNAT looks experiment labels up exactly, but matches subject labels in any
                # case; labels one letter-case apart are refused for sessions as well, so that
                # no two objects of a spec are told apart by case alone [choice].
                message = (
                    f'session "{label}" differs only in case from session "{other_label}" {place}: '
                    "session labels must differ in more than case"
                )
            problems.append((("subjects", subject_label, "sessions", label), message, True))
    return problems


def _binding_key(binding: DicomBinding) -> tuple[str, ...]:
    if binding.study_uid is not None:
        return ("study_uid", binding.study_uid)
    if binding.path is not None:
        return ("path", str(binding.path))
    return ("patient_id", binding.patient_id or "", binding.study_date or "")


def _under(path: Path, root: Path) -> bool:
    return os.path.commonpath([path, root]) == str(root)


def check_bindings(
    subjects: Mapping[str, Subject],
    roots: tuple[Path, ...],
    where: Callable[[Loc], str],
    show: Callable[[Path], str] = Path.as_posix,
) -> list[Problem]:
    """Every binding names DICOM the inventory can find, and no DICOM is bound twice.
    `where(loc)` and `show(path)` name places and paths for messages."""
    problems: list[Problem] = []
    first: dict[tuple[str, ...], Loc] = {}
    for label, subject in subjects.items():
        for session_label, session in subject.sessions.items():
            binding = session.dicom
            if binding is None:
                continue
            loc: Loc = ("subjects", label, "sessions", session_label, "dicom")
            if not roots and binding.study_uid is None:
                # A StudyInstanceUID names a study the server may already hold (an exported spec):
                # the local DICOM is needed only to import it, which the plan says when it must.
                problems.append((loc, "a session bound to DICOM needs dicom.roots to look in", True))
            elif binding.path is not None and not any(_under(binding.path, r) for r in roots):
                shown = ", ".join(show(r) for r in roots)
                problems.append(((*loc, "path"), f"this folder is not under any dicom root ({shown})", False))
            key = _binding_key(binding)
            if key in first:
                other = first[key]
                name = ".".join(str(p) for p in other[:-1])
                problems.append((loc, f"the same DICOM is already bound to {name} ({where(other)})", True))
            else:
                first[key] = loc
    return problems


def check_remaps(project: str, method: str, site: Remap | None, subjects: Mapping[str, Subject]) -> list[Problem]:
    """Every value a remap sets fits its attribute once the placeholders are filled in, for
    every session it reaches; with C-STORE, Patient Comments carries XNAT's routing and is not
    the spec's to remap."""
    if site is None and not any(
        s.remap is not None or any(e.remap is not None for e in s.sessions.values()) for s in subjects.values()
    ):
        return []  # most specs: nothing to check, and no DICOM dictionary to load
    from xsync.dicom.dictionary import attribute, value_problem
    from xsync.spec.remap import ROUTING_ATTRIBUTE, changes

    problems: dict[Loc, Problem] = {}
    for label, subject in subjects.items():
        for session_label, session in subject.sessions.items():
            if session.absent:
                continue
            for change in changes(project, "rest", site, label, subject, session_label, session):
                if method == "cstore" and change.keyword == ROUTING_ATTRIBUTE:
                    message = (f"with upload.method: cstore, xsync writes {ROUTING_ATTRIBUTE} to route the session "
                               "(Project:/Subject:/Session:); remap another attribute")  # fmt: skip
                    problems.setdefault(change.loc, (change.loc, message, True))
                attr = attribute(change.keyword)
                why = value_problem(attr, change.value) if attr is not None and change.action == "set" else ""
                if why:
                    problems.setdefault(change.loc, (change.loc, f"for session {session_label}: {why}", False))
    return list(problems.values())


def check_moves(moves: Sequence[Move], subjects: Mapping[str, Subject], where: Callable[[Loc], str]) -> list[Problem]:
    """A move names a target the spec declares and a source it no longer declares; no label is
    moved twice, no two moves share a target, and moves do not chain (each `from` straight to
    its final `to`). Subject labels are compared as written, sessions within the project."""
    problems: list[Problem] = []
    sessions = {label: owner for owner, subject in subjects.items() for label in subject.sessions}
    sources: dict[tuple[str, str], int] = {}
    targets: dict[tuple[str, str], int] = {}
    for i, move in enumerate(moves):
        kind = "session" if move.subject else "subject"
        here: Loc = ("moved", i)
        source, target = (kind, move.source), (kind, move.target)
        if source in sources:
            problems.append(_twice(here, "from", move.from_, "moved by", sources[source], where))
            continue
        if target in targets:
            problems.append(_twice(here, "to", move.to, "the target of", targets[target], where))
            continue
        chained = targets.get(source, sources.get(target))
        if chained is not None:
            message = (f'"{move.from_}" -> "{move.to}" chains with moved[{chained}] ({where(("moved", chained))}): '
                       "move each old label straight to its final label")  # fmt: skip
            problems.append((here, message, True))
            continue
        sources[source], targets[target] = i, i
        declared: Subject | Session | None
        if kind == "subject":
            declared, old_declared = subjects.get(move.target), move.source in subjects
        else:
            owner = subjects.get(move.subject)
            declared = owner.sessions.get(move.target) if owner is not None else None
            old_declared = move.source in sessions
        if declared is None:
            message = f'{kind} "{move.to}" is not declared under subjects: a move\'s target must be in the spec'
            problems.append(((*here, "to"), message, False))
        elif declared.absent:
            problems.append(
                ((*here, "to"), f'{kind} "{move.to}" is marked absent: a move\'s target must be kept', False)
            )
        if old_declared:
            path: Loc = ("subjects", move.source)
            if kind == "session":
                path = ("subjects", sessions[move.source], "sessions", move.source)
            message = (f'{kind} "{move.source}" is still declared at {where(path)}: '
                       "once moved, the old label must leave the spec")  # fmt: skip
            problems.append(((*here, "from"), message, False))
    return problems


def _twice(here: Loc, side: str, label: str, what: str, first: int, where: Callable[[Loc], str]) -> Problem:
    return (*here, side), f'"{label}" is already {what} moved[{first}] ({where(("moved", first))})', False
