"""The spec of what the server holds, as plain data (pure): subjects, sessions and scans with
the chosen fields, custom variables, each session bound to its study by StudyInstanceUID, in
the types the spec reads (whole numbers as numbers, text as text), so that `xsync plan` against
the same server is empty.

Which fields: `FieldSelection`, by default the HCP upload guide's set (a subject's gender and
age, a session's scanner, a scan's type and series description) and every custom variable.
Patient identifiers (`dob`) only when asked for.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from xsync.errors import UsageError
from xsync.model.fields import FIELDS, FieldDef, Level, ValueKind
from xsync.model.remote import RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.model.values import canonical
from xsync.model.xsitypes import SESSION_SHORT_NAMES

_SHORT_TYPE = {f"xnat:{s}SessionData": s.lower() for s in SESSION_SHORT_NAMES}


@dataclass(frozen=True)
class FieldSelection:
    names: dict[Level, frozenset[str]]
    custom: bool  # custom variables (`fields:`) of subjects and sessions

    def of(self, level: Level) -> list[FieldDef]:
        return [d for name, d in FIELDS[level].items() if name in self.names[level]]

    def of_scan_fields(self) -> list[FieldDef]:
        return self.of(Level.SCAN)


def parse_fields(text: str, *, phi: bool) -> FieldSelection:
    """`--fields`: comma-separated `name` (every level that has it), `level.name`, `custom`, or
    `all` (every field the spec may manage). Patient identifiers need `phi`."""
    names: dict[Level, set[str]] = {level: set() for level in Level}
    custom = False
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word == "custom":
            custom = True
            continue
        if word == "all":
            for level in Level:
                names[level].update(n for n, d in FIELDS[level].items() if d.settable)
            custom = True
            continue
        level_name, _, name = word.rpartition(".")
        levels = [Level(level_name)] if level_name in tuple(Level) else list(Level) if not level_name else []
        found = [level for level in levels if name in FIELDS[level] and FIELDS[level][name].settable]
        if not found:
            known = sorted({f"{level}.{n}" for level in Level for n, d in FIELDS[level].items() if d.settable})
            close = difflib.get_close_matches(word, [*known, *(k.split(".", 1)[1] for k in known)], n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise UsageError(f'--fields: "{word}" is no field the spec can manage{hint}')
        for level in found:
            names[level].add(name)
    for level in Level:
        blocked = {n for n in names[level] if FIELDS[level][n].phi} if not phi else set()
        if blocked and text.strip() != "all":
            raise UsageError(
                f"--fields: {', '.join(sorted(blocked))} identifies a patient: add --show-phi to export it"
            )
        names[level] -= blocked
    return FieldSelection({level: frozenset(v) for level, v in names.items()}, custom)


def spec_value(definition: FieldDef, text: str) -> Any:
    """A stored value as the spec writes it: a number where XNAT keeps a number and reading it
    back gives the same value, else the text as stored."""
    if definition.kind in (ValueKind.INT, ValueKind.FLOAT):
        try:
            number = float(text)
        except ValueError:
            return text
        value: Any = int(number) if definition.kind is ValueKind.INT and number.is_integer() else number
        if canonical(definition, str(value)) == canonical(definition, text):
            return value
    return text


def _values(defs: Iterable[FieldDef], stored: dict[str, str] | Any) -> dict[str, Any]:
    return {d.name: spec_value(d, stored[d.name]) for d in defs if stored.get(d.name, "") != ""}


def scan_document(scan: RemoteScan, selection: FieldSelection) -> dict[str, Any]:
    return _values(selection.of(Level.SCAN), scan.fields)


def session_document(session: RemoteSession, selection: FieldSelection) -> dict[str, Any]:
    out: dict[str, Any] = {"xsi_type": _SHORT_TYPE.get(session.xsi_type, session.xsi_type)}
    out |= _values(selection.of(Level.SESSION), session.fields)
    if selection.custom and session.custom:
        out["fields"] = {k: v for k, v in sorted(session.custom.items()) if v != ""}
    uid = session.fields.get("UID", "")
    if uid:
        out["dicom"] = {"study_uid": uid}
    if session.scans:
        out["scans"] = {sid: scan_document(s, selection) for sid, s in _ordered(session.scans)}
    return out


def subject_document(subject: RemoteSubject, selection: FieldSelection) -> dict[str, Any]:
    out: dict[str, Any] = _values(selection.of(Level.SUBJECT), subject.fields)
    if selection.custom and subject.custom:
        out["fields"] = {k: v for k, v in sorted(subject.custom.items()) if v != ""}
    if subject.sessions:
        out["sessions"] = {label: session_document(s, selection) for label, s in sorted(subject.sessions.items())}
    return out


def spec_document(remote: RemoteState, selection: FieldSelection) -> dict[str, Any]:
    """The whole spec: version, server, project, subjects (sorted by label)."""
    return {
        "version": 1,
        "server": remote.server,
        "project": remote.project,
        "subjects": {label: subject_document(s, selection) for label, s in sorted(remote.subjects.items())},
    }


def _ordered(scans: Any) -> list[tuple[str, RemoteScan]]:
    """Scans in XNAT's order of IDs: numbers by value, then the others by text."""
    return sorted(scans.items(), key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0,
                                                   item[0]))  # fmt: skip
