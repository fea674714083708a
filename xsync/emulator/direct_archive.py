"""Direct-to-archive import (XNAT 1.8.3+; GradualDicomImporter with `Direct-Archive=true`,
DirectArchiveSessionServiceImpl, TriggerDirectArchiveRequests): files are written straight into
the project's archive folder, skipping the prearchive, and the session is archived once no file
has come for the quiet period.

What XNAT's source does, and the emulator with it:
- Only gradual-DICOM (also per entry of DICOM-zip) honours it, and only when a project is
  identified (parameters or headers, as for the prearchive); without one the object goes to
  the Unassigned prearchive as usual.
- A direct-archive session is keyed by (project, StudyInstanceUID, session label), like a
  prearchive row. A new one is refused -- and the object goes to the prearchive instead, with
  the prearchive's answer -- when its folder `archive/<project>/arc001/<folder>` already exists
  (an archived session of that label, or a study sent again after it was archived) or another
  direct-archive session holds that folder; an existing one takes more files only while
  RECEIVING.
- The importer answers `/xapi/direct-archive/<project>/<StudyInstanceUID>/<label>` (no `/data`).
  Nothing is archived by the request: the session is RECEIVING, invisible in the archive, and
  `GET /xapi/direct-archive/...` shows it.
- Once no file has come for `quiet_seconds` (XNAT: the session-rebuilder interval, as for the
  prearchive), or at `POST /xapi/direct-archive/<project>/<tag>/<label>`, it is built and
  archived: subject created if needed, a new session with its scans and files, no merge (the
  archive step gets no `overwrite`; `overwrite=append` has no effect on this path). The
  direct-archive session then disappears (`GET` answers 404) and the session is in the archive.
- A build or archive failure moves the files to the prearchive under the session's timestamp
  (`_DA` appended when that folder is taken), as a row marked ERROR when the session was built
  (an archive refusal), RECEIVING when the build failed (the idle rebuilder takes it up).
Choices where XNAT's source leaves room: the archive runs synchronously (XNAT queues it on JMS
right after the trigger, so a client must poll either way); an existing session with the label
but no folder (created by PUT) refuses the archive with the prearchive's 409 "Session already
exists, retry with overwrite enabled" (XNAT saves a second session under a new ID); the
failure log XNAT writes next to the moved files is not written; direct-archive sessions live in
memory only (with `--data-dir`, files received before a restart stay in the archive folder).
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xsync.emulator import prearchive
from xsync.emulator.archiver import ARCHIVE_FOLDER, ArchiveOptions, archive
from xsync.emulator.builder import BuildError
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.filenames import scan_directory
from xsync.emulator.headers import ReceivedObject
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.identify import identify
from xsync.emulator.prearchive import file_name, new_row, write_atomically
from xsync.emulator.store import PrearchiveFile, PrearchiveSession, Store, now_timestamp

PARAM = "Direct-Archive"
_IDS = itertools.count(1)


@dataclass
class DirectArchiveSession:
    id: int
    row: PrearchiveSession  # project, timestamp, folder, label, subject, tag, files ... (not in the prearchive)
    location: Path  # archive/<project>/arc001/<folder>
    status: str = prearchive.RECEIVING
    message: str = ""
    upload_date: float | None = None  # epoch seconds, set when built
    last_built: float = field(default_factory=time.time)  # epoch seconds of the last file

    @property
    def uri(self) -> str:
        return f"/xapi/direct-archive/{self.row.project}/{self.row.tag}/{self.row.name}"


class Sessions:
    """The direct-archive sessions of one store."""

    def __init__(self) -> None:
        self.items: list[DirectArchiveSession] = []

    def find(self, project: str, tag: str, name: str) -> DirectArchiveSession | None:
        return next((s for s in self.items if (s.row.project, s.row.tag, s.row.name) == (project, tag, name)), None)

    def by_id(self, id_: int) -> DirectArchiveSession | None:
        return next((s for s in self.items if s.id == id_), None)


_REGISTRY: weakref.WeakKeyDictionary[Store, Sessions] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def sessions(store: Store) -> Sessions:
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
        if found is None:
            found = _REGISTRY[store] = Sessions()
        return found


def requested(params: Mapping[str, str]) -> bool:
    return (params.get(PARAM) or "").strip().lower() == "true"


# -- receiving ----------------------------------------------------------------------------------
def receive(
    store: Store, config: EmulatorConfig, user: str, obj: ReceivedObject, params: Mapping[str, str]
) -> DirectArchiveSession | None:
    """Store one object in its direct-archive session; None when the object must go to the
    prearchive instead (no project, or the session cannot be created or take more files)."""
    ident = identify(store, config, user, obj, params)
    with store.lock:
        project = store.projects.get(ident.project) if ident.project else None
        if project is None:
            return None
        registry = sessions(store)
        session = registry.find(project.id, obj.study_uid, ident.session)
        if session is None:
            row = new_row(store, project, obj, ident.subject, ident.session, ident.auto_archive, params)
            location = store.root / "archive" / project.id / ARCHIVE_FOLDER / row.folder
            taken = any(s.location == location and s.status != prearchive.ERROR for s in registry.items)
            if location.exists() or taken:
                return None  # XNAT: "Cannot direct archive session ... data already exists"
            session = DirectArchiveSession(next(_IDS), row, location)
            registry.items.append(session)
        elif session.status != prearchive.RECEIVING:
            return None  # "... because it is no longer in receiving state"
        _write(store, session, obj, (params.get("rename") or "").lower() == "true")
        return session


def _write(store: Store, session: DirectArchiveSession, obj: ReceivedObject, rename: bool) -> None:
    row = session.row
    scan_dir = scan_directory(obj.first("SeriesNumber"), obj.series_uid)
    name = file_name(row, scan_dir, obj, rename)
    path = session.location / "SCANS" / scan_dir / "DICOM" / name
    write_atomically(path, obj.data)
    record = PrearchiveFile(
        scan_dir, name, path, len(obj.data), obj.sop_instance_uid, obj.sop_class_uid, obj.series_uid
    )
    row.files = [f for f in row.files if (f.scan_dir, f.name) != (scan_dir, name)] + [record]
    row.lastmod = now_timestamp()
    row.last_file_monotonic = time.monotonic()
    session.last_built = time.time()
    store.changed()


# -- archiving ----------------------------------------------------------------------------------
def archive_now(store: Store, session: DirectArchiveSession) -> str | None:
    """Build and archive the session; its archive URI, or None when it failed and its files
    went to the prearchive."""
    with store.lock:
        registry = sessions(store)
        if session not in registry.items:
            return None
        row = session.row
        if prearchive.session_dir(store, row).exists():
            row.timestamp += "_DA"  # the archiver clears the row's prearchive folder
        try:
            prearchive.build(store, row)
        except BuildError as e:
            _to_prearchive(store, session, prearchive.RECEIVING, str(e))
            return None
        session.upload_date = time.time()
        try:
            uri = archive(store, row, ArchiveOptions())
        except XnatHTTPError as e:
            _to_prearchive(store, session, prearchive.ERROR, e.message)
            return None
        experiment = store.experiment(row.project, row.name)
        if experiment is not None and "prearchivePath" in experiment.fields:
            experiment.fields["prearchivePath"] = str(session.location)
        _remove_empty_tree(session.location)
        registry.items.remove(session)
        store.changed()
        return uri


def _to_prearchive(store: Store, session: DirectArchiveSession, status: str, message: str) -> None:
    """DirectArchiveSessionServiceImpl.doPrearchiveMove: the folder moves to the prearchive under
    the session's timestamp (`_DA` appended when that folder exists), as a row of its own."""
    row = session.row
    target = prearchive.session_dir(store, row)
    if target.exists() or prearchive.find(store, row.project, row.timestamp, row.folder) is not None:
        row.timestamp += "_DA"
        target = prearchive.session_dir(store, row)
    target.parent.mkdir(parents=True, exist_ok=True)
    if session.location.exists():
        shutil.move(str(session.location), str(target))
    for f in row.files:
        f.path = target / f.path.relative_to(session.location)
    row.status = status
    row.autoarchive = prearchive.AUTO_ARCHIVE
    if status == prearchive.RECEIVING:
        row.built = None
    store.prearchive.append(row)
    sessions(store).items.remove(session)
    session.status, session.message = prearchive.ERROR, message
    store.changed()


def _remove_empty_tree(folder: Path) -> None:
    """The files went to their scans' folders; what stays of the upload's own folders goes."""
    if not folder.is_dir():
        return
    for directory in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def sweep(store: Store, quiet_seconds: float) -> None:
    """Archive every RECEIVING session idle for the quiet period (TriggerDirectArchiveRequests)."""

    def idle(s: DirectArchiveSession) -> bool:
        return s.status == prearchive.RECEIVING and time.monotonic() - s.row.last_file_monotonic >= quiet_seconds

    with store.lock:
        due = [s for s in sessions(store).items if idle(s)]
    for session in due:
        with store.lock:
            if idle(session):  # a file or a trigger may have come in between
                archive_now(store, session)


def delete(store: Store, session: DirectArchiveSession) -> None:
    """Forget the session (`DELETE /xapi/direct-archive/{id}`); its files stay where they are."""
    with store.lock:
        registry = sessions(store)
        if session in registry.items:
            registry.items.remove(session)
