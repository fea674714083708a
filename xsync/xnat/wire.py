"""XNAT listing rows -> RemoteState, and the listing columns that produce them. Pure: the rows
come in as parsed JSON; every column and key derives from the field catalog.

Listing semantics relied on (REST-CONTRACT.md §2): every cell is a string, "" for null; a
selected xpath comes back under its lower-cased xpath unless it is a shortcut's path; join
columns (`.../fields/field/...`, `xnat:imagescandata/...`) give one row per joined child, with
empty cells when the parent has none. Only columns that public clients use and that XNAT's XFT
resolves against xnat.xsd are asked for: no resource columns in the bulk listings (the scan's
`file` is an xnat:abstractResource, which has no `format`); file counts come from each session's
resource listing (`/data/experiments/{id}/scans/ALL/resources`), only where they are needed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from xsync.dicom.scanids import maybe_numeric_key
from xsync.errors import ServerError
from xsync.model import xsitypes as t
from xsync.model.fields import FieldDef, Level, custom_columns, fields_of
from xsync.model.frozen import FrozenMap
from xsync.model.remote import (
    PrearchiveEntry,
    RemoteResource,
    RemoteScan,
    RemoteSession,
    RemoteState,
    RemoteSubject,
)
from xsync.model.values import unescape_xml

Row = Mapping[str, str]
Keys = Mapping[str, tuple[str, ...]]  # field name -> the keys its value may come back under

_SCAN_JOIN = "xnat:imagescandata"  # XNAT joins image scans under this (lower-cased) root


# -- columns ---------------------------------------------------------------------------------
def subject_columns(phi: bool) -> list[str]:
    fields = fields_of(Level.SUBJECT, t.SUBJECT, phi=phi)
    return ["ID", "label", *(f.listing_column(t.SUBJECT) for f in fields), *custom_columns(t.SUBJECT)]


def session_columns(xsi_type: str) -> list[str]:
    fields = fields_of(Level.SESSION, xsi_type)
    return ["ID", "label", "subject_ID", *(f.listing_column(xsi_type) for f in fields), *custom_columns(xsi_type)]


def _generic_scan_fields() -> list[FieldDef]:
    return list(fields_of(Level.SCAN, t.IMAGE_SCAN))


def scan_columns() -> list[str]:
    """Every scan of a session listing, joined with the fields all image scans have."""
    return ["ID", "label", f"{_SCAN_JOIN}/id", *(_generic_scan_key(f) for f in _generic_scan_fields())]


def _generic_scan_key(definition: FieldDef) -> str:
    return f"{_SCAN_JOIN}/{definition.path_in(t.IMAGE_SCAN)}".lower()


def _own_scan_fields(scan_type: str) -> list[FieldDef]:
    """Fields only scans of `scan_type` have (an MR scan's coil...): such columns join only
    scans of that type, so they are read in that type's own listing."""
    return [f for f in fields_of(Level.SCAN, scan_type) if any(p.owner == scan_type for p in f.placements)]


def typed_scan_columns(scan_type: str) -> list[str]:
    own = [f"{scan_type}/{f.path_in(scan_type)}" for f in _own_scan_fields(scan_type)]
    return ["ID", f"{scan_type}/ID", *own]


# -- rows ------------------------------------------------------------------------------------
def _duplicate(kind: str, label: str, first: str, second: str) -> ServerError:
    """Two objects under one label: every later step addresses objects by label, so keeping one
    would silently hide the other (XNAT itself refuses a second label in a project)."""
    shown = label if label.isprintable() else ascii(label)[1:-1]
    return ServerError(
        f"the server lists two {kind} labelled '{shown}' ({first} and {second}): xsync addresses them by "
        "label and cannot tell them apart; rename one in XNAT"
    )


def _keys(level: Level, xsi_type: str, *, phi: bool = False) -> dict[str, tuple[str, ...]]:
    return {f.name: f.listing_keys(xsi_type) for f in fields_of(level, xsi_type, phi=phi)}


def _fields(row: Row, keys: Keys) -> dict[str, str]:
    """Field name -> its non-empty cell, XML entities undone; an empty cell means unset."""
    out = {}
    for name, candidates in keys.items():
        for key in candidates:
            if row.get(key):
                out[name] = unescape_xml(row[key])
                break
    return out


def _custom(rows: Iterable[Row], xsi_type: str) -> dict[str, str]:
    name_key, value_key = (c.lower() for c in custom_columns(xsi_type))
    out = {}
    for row in rows:
        name = row.get(name_key, "")
        if name:
            out[name] = unescape_xml(row.get(value_key, ""))
    return out


def _group(rows: Iterable[Row], key: str = "ID") -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row.get(key, "")].append(row)
    return grouped


def _count(text: str) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def parse_resources(rows: Iterable[Row]) -> dict[str, dict[str, RemoteResource]]:
    """A session's `scans/ALL/resources` rows -> {scan ID: {resource label: resource}}."""
    out: dict[str, dict[str, RemoteResource]] = defaultdict(dict)
    for row in rows:
        scan_id, label = row.get("cat_id", ""), row.get("label", "")
        if scan_id and label:
            out[scan_id][label] = RemoteResource(
                label=label,
                file_count=_count(row.get("file_count", "")),
                file_size=_count(row.get("file_size", "")),
                format=row.get("format", ""),
            )
    return out


def parse_scans(
    rows: Iterable[Row],
    scan_types: Mapping[tuple[str, str], str],
    typed_fields: Mapping[tuple[str, str], dict[str, str]] | None = None,
) -> dict[str, dict[str, RemoteScan]]:
    """Scan join rows -> {session accession: {scan ID: scan}}, scans in XNAT's order."""
    keys = {f.name: (_generic_scan_key(f),) for f in _generic_scan_fields()}
    first_rows: dict[tuple[str, str], Row] = {}
    for row in rows:
        scan_id = row.get(f"{_SCAN_JOIN}/id", "")
        if scan_id:
            first_rows.setdefault((row.get("ID", ""), scan_id), row)
    out: dict[str, dict[str, RemoteScan]] = defaultdict(dict)
    for (session_id, scan_id), row in sorted(
        first_rows.items(), key=lambda kv: (kv[0][0], maybe_numeric_key(kv[0][1]))
    ):
        fields = _fields(row, keys)
        fields.update((typed_fields or {}).get((session_id, scan_id), {}))
        out[session_id][scan_id] = RemoteScan(
            id=scan_id, xsi_type=scan_types.get((session_id, scan_id), ""), fields=FrozenMap(fields)
        )
    return out


def parse_state(
    *,
    server: str,
    project: str,
    subject_rows: Sequence[Row],
    experiment_rows: Sequence[Row],
    session_rows: Mapping[str, Sequence[Row]],
    scan_rows: Mapping[str, Sequence[Row]],
    typed_scan_rows: Mapping[str, Mapping[str, Sequence[Row]]],
    prearchive_rows: Sequence[Row],
    resource_rows: Mapping[str, Sequence[Row]] | None = None,
    phi: bool = False,
    notes: Sequence[str] = (),
) -> RemoteState:
    """`resource_rows`: per session accession ID whose resources were read, its resource rows."""
    resource_rows = resource_rows or {}
    scan_types: dict[tuple[str, str], str] = {}
    typed_fields: dict[tuple[str, str], dict[str, str]] = {}
    for by_type in typed_scan_rows.values():
        for scan_type, rows in by_type.items():
            id_key = f"{scan_type.lower()}/id"
            own = {f.name: (f"{scan_type}/{f.path_in(scan_type)}".lower(),) for f in _own_scan_fields(scan_type)}
            for row in rows:
                if row.get(id_key):
                    scan = (row.get("ID", ""), row[id_key])
                    scan_types[scan] = scan_type
                    typed_fields.setdefault(scan, {}).update(_fields(row, own))

    sessions_fields: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for xsi_type, rows in session_rows.items():
        keys = _keys(Level.SESSION, xsi_type)
        for session_id, group in _group(rows).items():
            sessions_fields[session_id] = (_fields(group[0], keys), _custom(group, xsi_type))
    scans: dict[str, dict[str, RemoteScan]] = {}
    for rows in scan_rows.values():
        scans.update(parse_scans(rows, scan_types, typed_fields))

    sessions_by_subject: dict[str, dict[str, RemoteSession]] = defaultdict(dict)
    subject_label_by_id: dict[str, str] = {}
    for row in experiment_rows:
        session_id = row.get("ID", "")
        fields, custom = sessions_fields.get(session_id, ({}, {}))
        read = session_id in resource_rows
        resources = parse_resources(resource_rows.get(session_id, ()))
        session_scans = {
            scan_id: RemoteScan(s.id, s.xsi_type, s.fields, FrozenMap(resources.get(scan_id, {}))) if read else s
            for scan_id, s in scans.get(session_id, {}).items()
        }
        session = RemoteSession(
            id=session_id,
            label=row.get("label", ""),
            xsi_type=row.get("xsiType", ""),
            subject_id=row.get("subject_ID", ""),
            fields=FrozenMap(fields),
            custom=FrozenMap(custom),
            scans=FrozenMap(session_scans),
            resources_read=read,
        )
        same = sessions_by_subject[session.subject_id].get(session.label)
        if same is not None and same.id != session.id:
            raise _duplicate("sessions", session.label, same.id, session.id)
        sessions_by_subject[session.subject_id][session.label] = session
        subject_label_by_id.setdefault(session.subject_id, row.get("subject_label", ""))

    subject_keys = _keys(Level.SUBJECT, t.SUBJECT, phi=phi)
    subjects: dict[str, RemoteSubject] = {}
    for subject_id, group in _group(subject_rows).items():
        label = group[0].get("label", "")
        if label in subjects:
            raise _duplicate("subjects", label, subjects[label].id, subject_id)
        subjects[label] = RemoteSubject(
            id=subject_id,
            label=label,
            fields=FrozenMap(_fields(group[0], subject_keys)),
            custom=FrozenMap(_custom(group, t.SUBJECT)),
            sessions=FrozenMap(sorted(sessions_by_subject.pop(subject_id, {}).items())),
        )
    # Sessions whose subject lies outside the project (shared in): keep their labels visible.
    for subject_id, sessions in sessions_by_subject.items():
        label = subject_label_by_id.get(subject_id) or subject_id
        subjects.setdefault(
            label, RemoteSubject(id=subject_id, label=label, sessions=FrozenMap(sorted(sessions.items())))
        )

    prearchive = tuple(
        PrearchiveEntry(
            timestamp=r.get("timestamp", ""),
            folder=r.get("folderName", ""),
            name=r.get("name", ""),
            subject=r.get("subject", ""),
            study_uid=r.get("tag", ""),
            status=r.get("status", ""),
            url=r.get("url", ""),
            scan_date=r.get("scan_date", ""),
            uploaded=r.get("uploaded", ""),
            lastmod=r.get("lastmod", ""),
        )
        for r in prearchive_rows
    )
    return RemoteState(
        server=server,
        project=project,
        subjects=FrozenMap(sorted(subjects.items())),
        prearchive=prearchive,
        notes=tuple(notes),
    )
