"""Renaming a subject or an experiment: `PUT ...?label=NEW` on an existing one, which XNAT's
SubjectResource, SubjAssessmentResource and ExperimentResource hand to `org.nrg.xnat.archive.Rename`.

What XNAT does, and so what is done here:
- a `label` query parameter on an existing item is a rename request and nothing else: the
  resource returns right after it, so fields sent along are not saved, and the answer is 200
  with an empty body, also when the label is already the item's own (nothing changes then);
- a label another item of the project holds (looked up exactly) -> 409 "Specified label is
  already in use.";
- the item's folder moves to the new label's folder and every file of the item's resources
  (the session's own and its scans') that lay inside the old folder is re-pointed there
  (Rename.generateURISQL / modifyResource); files kept elsewhere stay where they are. A
  destination folder that already holds files -> 409 "File system destination contains
  pre-existing files", nothing changed. Scans, their IDs and UIDs and the file names are
  untouched; so is the accession ID.
Folders are the emulator's layout: `archive/<project>/arc001/<session>` for a session (as
XNAT's), `archive/<project>/subjects/<subject>` for a subject's resources.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from xsync.emulator.http import XnatHTTPError
from xsync.emulator.store import Experiment, FileEntry, Store, Subject

FOLDER_TAKEN = "File system destination contains pre-existing files"


def folder(store: Store, item: Subject | Experiment, label: str) -> Path:
    if isinstance(item, Subject):
        return store.root / "archive" / item.project / "subjects" / label
    return store.root / "archive" / item.project / "arc001" / label


def check(store: Store, item: Subject | Experiment, label: str) -> None:
    """Raise what XNAT answers when the folder of `label` cannot take the item's files."""
    target = folder(store, item, label)
    if target.is_dir() and any(target.iterdir()):
        raise XnatHTTPError(409, FOLDER_TAKEN)


def _files(item: Subject | Experiment) -> Iterator[FileEntry]:
    for resource in item.resources.values():
        yield from resource.files.values()
    if isinstance(item, Experiment):
        for scan in item.scans.values():
            for resource in scan.resources.values():
                yield from resource.files.values()


def move_files(store: Store, item: Subject | Experiment, label: str) -> None:
    """Move the item's folder to that of `label` and re-point its files; call under the store's
    lock, after `check`, before the item is relabelled."""
    old, new = folder(store, item, item.label), folder(store, item, label)
    if old.is_dir():
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.is_dir():
            new.rmdir()  # empty, as `check` made sure
        shutil.move(str(old), str(new))
    for entry in _files(item):
        if entry.path.is_relative_to(old):
            entry.path = new / entry.path.relative_to(old)
