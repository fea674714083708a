"""XNAT listing rows -> RemoteState. Pure: the rows come in as parsed JSON.

Listing semantics relied on (REST-CONTRACT.md §2): every cell is a string, "" for null; a
selected xpath comes back under its lower-cased xpath unless it is a shortcut's path; join
columns (`.../fields/field/...`, `xnat:imagescandata/...`, `.../file/...`) give one row per
joined child, with empty cells when the parent has none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from xsync.dicom.scanids import maybe_numeric_key
from xsync.model.fields import FIELDS, FieldDef, Level
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

_SCAN = "xnat:imagescandata/"
# Scan fields read in bulk, by shortcut name -> listing key.
SCAN_FIELD_KEYS: dict[str, str] = {
    f.name: _SCAN + f.path.lower() for f in FIELDS[Level.SCAN].values() if f.owner == "imageScanData"
}


def typed_scan_fields(scan_type: str) -> dict[str, str]:
    """Fields only scans of `scan_type` have (an MR scan's coil...), by name -> listing key.
    Such columns join only scans of that type, so they are read in that type's own listing."""
    bare = scan_type.removeprefix("xnat:")
    return {f.name: f"{scan_type.lower()}/{f.path.lower()}" for f in FIELDS[Level.SCAN].values() if f.owner == bare}


def typed_scan_columns(scan_type: str) -> list[str]:
    bare = scan_type.removeprefix("xnat:")
    paths = [f.path for f in FIELDS[Level.SCAN].values() if f.owner == bare]
    return [f"{scan_type}/ID", *(f"{scan_type}/{p}" for p in paths)]


def session_column(definition: FieldDef) -> str:
    """The listing column of a session field: its shortcut, or its xpath when it has none."""
    return definition.name if definition.shortcut else f"xnat:{definition.owner}/{definition.path}"


def _session_key(definition: FieldDef) -> str:
    return session_column(definition).lower() if not definition.shortcut else definition.name


_RESOURCE_KEYS = ("file/label", "file/file_count", "file/file_size", "file/format")
SCAN_COLUMNS: tuple[str, ...] = (
    _SCAN + "id",
    *SCAN_FIELD_KEYS.values(),
    *(_SCAN + k for k in _RESOURCE_KEYS),
)


def custom_columns(xsi_type: str) -> tuple[str, str]:
    return (f"{xsi_type}/fields/field/name", f"{xsi_type}/fields/field/field")


def _custom_keys(xsi_type: str) -> tuple[str, str]:
    name, value = custom_columns(xsi_type)
    return name.lower(), value.lower()


def _fields(row: Row, keys: Mapping[str, str]) -> dict[str, str]:
    """Field name -> its non-empty cell (under `keys[name]`), XML entities undone; an empty cell
    means the field is unset."""
    return {name: unescape_xml(row[key]) for name, key in keys.items() if row.get(key, "")}


def _custom(rows: Iterable[Row], xsi_type: str) -> dict[str, str]:
    name_key, value_key = _custom_keys(xsi_type)
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


def _int(text: str) -> int:
    try:
        return int(float(text)) if text else 0
    except ValueError:
        return 0


def parse_scans(
    rows: Iterable[Row],
    scan_types: Mapping[tuple[str, str], str],
    typed_fields: Mapping[tuple[str, str], dict[str, str]] | None = None,
) -> dict[str, dict[str, RemoteScan]]:
    """Scan join rows -> {session accession: {scan ID: scan}}, scans in XNAT's order."""
    by_scan: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        scan_id = row.get(_SCAN + "id", "")
        if scan_id:
            by_scan[(row.get("ID", ""), scan_id)].append(row)
    out: dict[str, dict[str, RemoteScan]] = defaultdict(dict)
    for (session_id, scan_id), scan_rows in sorted(
        by_scan.items(), key=lambda kv: (kv[0][0], maybe_numeric_key(kv[0][1]))
    ):
        first = scan_rows[0]
        fields = _fields(first, SCAN_FIELD_KEYS)
        fields.update((typed_fields or {}).get((session_id, scan_id), {}))
        resources = {}
        for r in scan_rows:
            label = r.get(_SCAN + "file/label", "")
            if label:
                resources[label] = RemoteResource(
                    label=label,
                    file_count=_int(r.get(_SCAN + "file/file_count", "")),
                    file_size=_int(r.get(_SCAN + "file/file_size", "")),
                    format=r.get(_SCAN + "file/format", ""),
                )
        out[session_id][scan_id] = RemoteScan(
            id=scan_id,
            xsi_type=scan_types.get((session_id, scan_id), ""),
            fields=FrozenMap(fields),
            resources=FrozenMap(resources),
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
    phi_fields: Sequence[str] = (),
) -> RemoteState:
    subject_field_names = [f.name for f in FIELDS[Level.SUBJECT].values() if not f.phi or f.name in phi_fields]
    session_keys = {f.name: _session_key(f) for f in FIELDS[Level.SESSION].values() if not f.phi}

    scan_types: dict[tuple[str, str], str] = {}
    typed_fields: dict[tuple[str, str], dict[str, str]] = {}
    for by_type in typed_scan_rows.values():
        for scan_type, rows in by_type.items():
            key = f"{scan_type.lower()}/id"
            own = typed_scan_fields(scan_type)
            for row in rows:
                if row.get(key):
                    scan = (row.get("ID", ""), row[key])
                    scan_types[scan] = scan_type
                    typed_fields.setdefault(scan, {}).update(_fields(row, own))

    sessions_fields: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    scans: dict[str, dict[str, RemoteScan]] = {}
    for xsi_type, rows in session_rows.items():
        for session_id, group in _group(rows).items():
            first = group[0]
            fields = _fields(first, session_keys)
            sessions_fields[session_id] = (fields, _custom(group, xsi_type))
    for rows in scan_rows.values():
        scans.update(parse_scans(rows, scan_types, typed_fields))

    sessions_by_subject: dict[str, dict[str, RemoteSession]] = defaultdict(dict)
    subject_label_by_id: dict[str, str] = {}
    for row in experiment_rows:
        session_id = row.get("ID", "")
        fields, custom = sessions_fields.get(session_id, ({}, {}))
        session = RemoteSession(
            id=session_id,
            label=row.get("label", ""),
            xsi_type=row.get("xsiType", ""),
            subject_id=row.get("subject_ID", ""),
            fields=FrozenMap(fields),
            custom=FrozenMap(custom),
            scans=FrozenMap(scans.get(session_id, {})),
        )
        sessions_by_subject[session.subject_id][session.label] = session
        subject_label_by_id.setdefault(session.subject_id, row.get("subject_label", ""))

    subjects: dict[str, RemoteSubject] = {}
    for subject_id, group in _group(subject_rows).items():
        label = group[0].get("label", "")
        subjects[label] = RemoteSubject(
            id=subject_id,
            label=label,
            fields=FrozenMap(_fields(group[0], {n: n for n in subject_field_names})),
            custom=FrozenMap(_custom(group, "xnat:subjectData")),
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
    )
