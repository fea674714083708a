"""Which project, subject and session a received DICOM object belongs to: XNAT's default
DicomObjectIdentifier behind the explicit request parameters (DICOM-IMPORT.md §1,
REST-CONTRACT.md §7.1). Source: XNAT's `web/.../org/nrg/dcm/id/Xnat15DicomProjectIdentifier.java`
and `DbBackedProjectIdentifier.java` (project), dicom-xnat-mx
`org/nrg/dcm/id/XnatDefaultDicomObjectIdentifier.java` and `CompositeDicomObjectIdentifier.java`
(subject, session, `AA:`), `GradualDicomImporter.call` (parameters and `dicom_upload`).

Project: `PROJECT_ID` (or the project part of `dest`) when it names a project the user may use,
else, in order, `Project:` in Patient Comments, Study Comments and Additional Patient History,
the whole Study Description, the whole Accession Number -- the first that names an existing
project by ID or alias; a value naming none passes to the next -- else none ("Unassigned").
Subject: `SUBJECT_ID` verbatim, else the first non-empty of `Subject:` in the three comment
fields and Patient Name, in label characters. Session: `EXPT_LABEL` verbatim, else the same
chain with `Session:` and Patient ID, in label characters, else `dicom_upload`.
`AA:` in the comment fields: t/true -> auto-archive, f/false -> manual (any case), else no
opinion. Assignments are read as `xsync.emulator.assignments` describes (the last one wins).

Site and per-receiver routing rules are not emulated (none are configured on a fresh XNAT).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from xsync.emulator.assignments import assignment, first_of
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.headers import ReceivedObject
from xsync.emulator.labels import label_chars
from xsync.emulator.store import Project, Store

COMMENT_FIELDS = ("PatientComments", "StudyComments", "AdditionalPatientHistory")
DEFAULT_SESSION_LABEL = "dicom_upload"
_TRUE = re.compile(r"t(?:rue)?", re.IGNORECASE | re.ASCII)
_FALSE = re.compile(r"f(?:alse)?", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Identity:
    project: str | None  # project ID; None -> Unassigned
    subject: str  # label; "" when nothing names one
    session: str  # label
    auto_archive: bool | None  # from an `AA:` assignment; None when the headers say nothing


def may_use(config: EmulatorConfig, user: str, project: Project) -> bool:
    """Admins use every project; others the projects they are members of."""
    return user in config.admins or user in project.members


def _assignments(obj: ReceivedObject, key: str) -> list[str | None]:
    """`key:` in each comment field, in the identifier's order."""
    return [assignment(obj.text(keyword), key) for keyword in COMMENT_FIELDS]


def _chained_label(obj: ReceivedObject, key: str, fallback: str) -> str:
    """A subject or session label from the headers ("" when nothing names one)."""
    return label_chars(first_of([*_assignments(obj, key), obj.first(fallback)]) or "")


def requests_auto_archive(obj: ReceivedObject) -> bool | None:
    """CompositeDicomObjectIdentifier.requestsAutoarchive."""
    aa = first_of(_assignments(obj, "AA"))
    if aa is None:
        return None
    return True if _TRUE.fullmatch(aa) else False if _FALSE.fullmatch(aa) else None


def identify_project(
    store: Store, config: EmulatorConfig, user: str, obj: ReceivedObject, explicit: str | None
) -> str | None:
    """The project ID, or None. An explicit value that names no usable project is ignored and
    the headers decide, as GradualDicomImporter.getProject does."""
    if explicit:
        p = store.project(explicit)
        if p is not None and may_use(config, user, p):
            return p.id
    # Header lookups run as the received-file user (admin by default): any existing project.
    # Every candidate is tried in turn until one names a project (DbBackedProjectIdentifier):
    # a `Project:` in Patient Comments that names none does not stop the Study Comments one.
    candidates = [*_assignments(obj, "Project"), obj.first("StudyDescription"), obj.first("AccessionNumber")]
    for value in candidates:
        if value and value.strip():
            p = store.project(value)
            if p is not None:
                return p.id
    return None


def identify(
    store: Store, config: EmulatorConfig, user: str, obj: ReceivedObject, params: Mapping[str, str]
) -> Identity:
    """`params` are the importer parameters after mapping (`PROJECT_ID`, `SUBJECT_ID`,
    `EXPT_LABEL`; the caller folds `dest` and DICOM-zip's lower-case names into them)."""
    project = identify_project(store, config, user, obj, params.get("PROJECT_ID"))
    subject = params.get("SUBJECT_ID")
    if subject is None:
        subject = _chained_label(obj, "Subject", "PatientName")
    session = params.get("EXPT_LABEL")
    if session is None:
        session = _chained_label(obj, "Session", "PatientID")
    return Identity(project, subject, session or DEFAULT_SESSION_LABEL, requests_auto_archive(obj))
