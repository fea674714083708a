"""The prearchive: rows keyed by (project, StudyInstanceUID, session label), the files under
`<root>/prearchive/<project>/<timestamp>/<folder>/SCANS/<scanDir>/DICOM/`, receiving files,
building, moving and deleting sessions (DICOM-IMPORT.md §3-§5, REST-CONTRACT.md §6). The idle
rebuilder is `worker.py`, archiving `archiver.py`.

Every change happens under `store.lock`, so a build or an archive is atomic for HTTP clients:
the transient statuses (BUILDING, ARCHIVING, QUEUED_*) are never observed, rows go straight
from RECEIVING to READY (and on to archived, CONFLICT or ERROR).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from xsync.emulator.builder import BuildError, BuiltSession, SourceFile, build_session
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.fields import dicom_date
from xsync.emulator.filenames import FileNameTemplate, kept_name, scan_directory
from xsync.emulator.headers import ReceivedObject
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.identify import identify
from xsync.emulator.store import PrearchiveFile, PrearchiveSession, Project, Store, now_timestamp

UNASSIGNED = "Unassigned"
RECEIVING, RECEIVING_INTERRUPT, BUILDING, READY = "RECEIVING", "RECEIVING_INTERRUPT", "BUILDING", "READY"
ARCHIVING, CONFLICT, ERROR, DELETING, MOVING = "ARCHIVING", "CONFLICT", "ERROR", "DELETING", "MOVING"
SEPARATING = "SEPARATING"
QUEUED = ("QUEUED_BUILDING", "QUEUED_ARCHIVING", "QUEUED_DELETING", "QUEUED_MOVING", "QUEUED_SEPARATING")
STATUSES = (
    RECEIVING, RECEIVING_INTERRUPT, BUILDING, READY, ARCHIVING, CONFLICT, ERROR, DELETING, MOVING, SEPARATING, *QUEUED,
)  # fmt: skip
# A row in one of these takes more files (and goes back to RECEIVING); ARCHIVING, MOVING,
# DELETING and the queued states make the next file open a new row instead.
_REOPENS = (READY, ERROR, CONFLICT)

MANUAL, AUTO_ARCHIVE, AUTO_ARCHIVE_OVERWRITE = "Manual", "AutoArchive", "AutoArchiveOverwrite"
_CODE_NAMES = {0: MANUAL, 4: AUTO_ARCHIVE, 5: AUTO_ARCHIVE_OVERWRITE}

COLUMNS = (
    "project", "timestamp", "lastmod", "uploaded", "scan_date", "scan_time", "subject", "folderName",
    "name", "tag", "status", "url", "autoarchive", "prevent_anon", "prevent_auto_commit", "SOURCE",
    "VISIT", "PROTOCOL", "TIMEZONE",
)  # fmt: skip


def make_timestamp() -> str:
    """`yyyyMMdd_HHmmssSSS`, the prearchive's folder timestamp."""
    t = datetime.now()
    return t.strftime("%Y%m%d_%H%M%S") + f"{t.microsecond // 1000:03d}"


def code_name(code: int) -> str:
    return _CODE_NAMES.get(code, MANUAL)


def row_values(row: PrearchiveSession) -> dict[str, str]:
    """The row as the listing shows it: every column, all strings, in column order."""
    values = (
        row.project, row.timestamp, row.lastmod, row.uploaded, row.scan_date, row.scan_time,
        row.subject, row.folder, row.name, row.tag, row.status, row.url, row.autoarchive,
        row.prevent_anon, row.prevent_auto_commit, row.source, row.visit, row.protocol, row.timezone,
    )  # fmt: skip
    return dict(zip(COLUMNS, values, strict=True))


def session_dir(store: Store, row: PrearchiveSession) -> Path:
    """Unassigned sessions live directly under the prearchive root, as in XNAT."""
    base = store.root / "prearchive"
    if row.project != UNASSIGNED:
        base = base / row.project
    return base / row.timestamp / row.folder


def find(store: Store, project: str, timestamp: str, folder: str) -> PrearchiveSession | None:
    with store.lock:
        for row in store.prearchive:
            if (row.project, row.timestamp, row.folder) == (project, timestamp, folder):
                return row
    return None


def _scan_time(value: str) -> str:
    """StudyTime as the row shows it: `09:12:06.156` (milliseconds when the header has them)."""
    whole, _, frac = value.replace(":", "").strip().partition(".")
    if len(whole) < 4 or not whole.isdigit():
        return ""
    out = f"{whole[0:2]}:{whole[2:4]}:{whole[4:6] or '00'}"
    return out + (f".{frac[:3]}" if frac.isdigit() else "")


def new_row(store: Store, project: Project | None, obj: ReceivedObject, subject: str, label: str,
             auto_archive: bool | None, params: Mapping[str, str]) -> PrearchiveSession:  # fmt: skip
    timestamp = params.get("PREARC_TIMESTAMP") or make_timestamp()
    folder = params.get("PREARC_SESSION_FOLDER") or label
    name = label
    taken = {(r.project, r.timestamp, r.folder) for r in store.prearchive}
    pid = project.id if project else UNASSIGNED
    suffix = 0
    while (pid, timestamp, folder + (f"_{suffix}" if suffix else "")) in taken:
        suffix += 1
    if suffix:  # XNAT suffixes both folder and name on a clash within one timestamp
        folder, name = f"{folder}_{suffix}", f"{name}_{suffix}"
    if project is None:
        autoarchive = ""
    elif auto_archive is not None:  # `AA:` in the headers beats the project's setting
        autoarchive = AUTO_ARCHIVE if auto_archive else MANUAL
    else:
        autoarchive = code_name(project.prearchive_code)
    row = PrearchiveSession(
        project=pid,
        timestamp=timestamp,
        folder=folder,
        name=name,
        subject=subject,
        tag=obj.study_uid,
        scan_date=dicom_date(obj.text("StudyDate")) or "",
        scan_time=_scan_time(obj.text("StudyTime")),
        autoarchive=autoarchive,
        prevent_anon=_bool_text(params.get("prevent_anon")),
        prevent_auto_commit=_bool_text(params.get("prevent_auto_commit")),
        source=params.get("SOURCE", ""),
        visit=params.get("VISIT", ""),
        protocol=params.get("SUBTYPE", ""),
        timezone=params.get("TIMEZONE", ""),
    )
    return row


def _bool_text(value: str | None) -> str:
    return "true" if (value or "").lower() == "true" else "false"


def _find_row(store: Store, pid: str, study_uid: str, label: str) -> PrearchiveSession | None:
    """The row that takes this object: same (project, StudyInstanceUID, label), in a status that
    takes more files. None: a new row is needed (also while the match is archiving, moving or
    being deleted)."""
    for row in store.prearchive:
        takes_files = row.status in (RECEIVING, RECEIVING_INTERRUPT, BUILDING, *_REOPENS)
        if takes_files and (row.project, row.tag, row.name) == (pid, study_uid, label):
            return row
    return None


def _reopen(row: PrearchiveSession) -> None:
    """A file arrived: a building row is interrupted, a finished one receives again."""
    if row.status == BUILDING:
        row.status = RECEIVING_INTERRUPT
    elif row.status in _REOPENS:
        row.status, row.built = RECEIVING, None


# The site preference `dicomFileNameTemplate` at its default (it is not configurable here).
FILE_NAMES = FileNameTemplate()


def file_name(row: PrearchiveSession, scan_dir: str, obj: ReceivedObject, rename: bool) -> str:
    """GradualDicomImporter.getSafeFile: the template name with `rename=true` or when the object
    came without a name (C-STORE); else its own name, cleaned, when that is free or holds the
    same instance (then it is overwritten); else the template name."""
    template = FILE_NAMES.name(obj.first).lstrip(".")
    if rename or not obj.name:
        return template
    wanted = kept_name(obj.name)
    if wanted is None:
        return template
    for f in row.files:
        if f.scan_dir == scan_dir and f.name == wanted:
            same = (f.sop_instance_uid, f.sop_class_uid) == (obj.sop_instance_uid, obj.sop_class_uid)
            return wanted if same else template
    return wanted


def receive(
    store: Store, config: EmulatorConfig, user: str, obj: ReceivedObject, params: Mapping[str, str]
) -> PrearchiveSession:
    """Store one object in its prearchive session (the gradual-DICOM importer's work) and
    return the row. `params` are importer parameters with `PROJECT_ID`/`SUBJECT_ID`/
    `EXPT_LABEL` already resolved from `dest` and DICOM-zip's lower-case names."""
    ident = identify(store, config, user, obj, params)
    with store.lock:
        project = store.projects.get(ident.project) if ident.project else None
        row = _find_row(store, project.id if project else UNASSIGNED, obj.study_uid, ident.session)
        created = row is None
        if row is None:
            row = new_row(store, project, obj, ident.subject, ident.session, ident.auto_archive, params)
        scan_dir = scan_directory(obj.first("SeriesNumber"), obj.series_uid)
        name = file_name(row, scan_dir, obj, (params.get("rename") or "").lower() == "true")
        path = session_dir(store, row) / "SCANS" / scan_dir / "DICOM" / name
        write_atomically(path, obj.data)  # first: a failed write leaves the prearchive as it was
        if created:
            store.prearchive.append(row)
        else:
            _reopen(row)
        record = PrearchiveFile(
            scan_dir, name, path, len(obj.data), obj.sop_instance_uid, obj.sop_class_uid, obj.series_uid
        )
        row.files = [f for f in row.files if (f.scan_dir, f.name) != (scan_dir, name)] + [record]
        row.lastmod = now_timestamp()
        row.last_file_monotonic = time.monotonic()
        store.changed()
        return row


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build(store: Store, row: PrearchiveSession) -> BuiltSession:
    """Build the session document now: READY on success, ERROR (and BuildError) otherwise."""
    with store.lock:
        try:
            built = build_session((SourceFile(f.name, f.path) for f in row.files), str(session_dir(store, row)))
        except BuildError:
            row.status, row.built = ERROR, None
            store.changed()
            raise
        row.status, row.built = READY, built
        row.lastmod = now_timestamp()
        store.changed()
        return built


def try_build(store: Store, row: PrearchiveSession) -> bool:
    """`build`, with failure reported as False (the row shows ERROR)."""
    try:
        build(store, row)
    except BuildError:
        return False
    return True


def ensure_built(store: Store, row: PrearchiveSession) -> BuiltSession:
    """The row's document, building it when it has none (fresh files, or after a restart)."""
    with store.lock:
        return row.built if row.built is not None and row.status != RECEIVING else build(store, row)


def current_build(store: Store, row: PrearchiveSession) -> BuiltSession:
    """The row's document as `ensure_built` would give it, but a fresh build is not kept and
    the row's status does not change (for dry runs). Raises BuildError."""
    with store.lock:
        if row.built is not None and row.status != RECEIVING:
            return row.built
        return build_session((SourceFile(f.name, f.path) for f in row.files), str(session_dir(store, row)))


def delete(store: Store, row: PrearchiveSession) -> None:
    """Remove the row and its files (and the timestamp folder when it empties)."""
    with store.lock:
        folder = session_dir(store, row)
        shutil.rmtree(folder, ignore_errors=True)
        _remove_empty(folder.parent, store.root / "prearchive")
        if row in store.prearchive:
            store.prearchive.remove(row)
        store.changed()


def _remove_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def move(store: Store, row: PrearchiveSession, project: Project) -> None:
    """Move a row (files and all) to another project's prearchive, keeping its timestamp."""
    with store.lock:
        if find(store, project.id, row.timestamp, row.folder) is not None:
            raise XnatHTTPError(409, f"A session {row.folder} already exists in {project.id} at {row.timestamp}.")
        old = session_dir(store, row)
        row.project = project.id
        new = session_dir(store, row)
        new.parent.mkdir(parents=True, exist_ok=True)
        if old.exists():
            shutil.move(str(old), str(new))
            _remove_empty(old.parent, store.root / "prearchive")
        for f in row.files:
            f.path = new / f.path.relative_to(old)
        row.autoarchive = code_name(project.prearchive_code)
        row.built = None  # its prearchivePath changed; rebuilt on demand
        store.changed()


def set_status(store: Store, row: PrearchiveSession, status: str) -> None:
    with store.lock:
        row.status = status
        store.changed()
