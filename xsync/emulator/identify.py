"""Which project, subject and session a received DICOM object belongs to: XNAT's default
DicomObjectIdentifier (DICOM-IMPORT.md §1, REST-CONTRACT.md §7.1) behind the explicit request
parameters.

Project: `PROJECT_ID` (or the project part of `dest`) when it names a project the user may use,
else, in order, `Project:` in Patient Comments, Study Comments and Additional Patient History,
the whole Study Description, the whole Accession Number -- the first that names an existing
project by ID or alias; a value naming none passes to the next -- else none ("Unassigned").
Subject: `SUBJECT_ID` verbatim, else `Subject:` in the three comment fields, else Patient Name;
header values are label-cleaned. Session: `EXPT_LABEL` verbatim, else `Session:` in the comment
fields, else Patient ID, cleaned, else `dicom_upload`.
`AA:` in the comment fields: true/t -> auto-archive, false/f -> manual, else no opinion.

Site and per-receiver routing rules are not emulated (none are configured on a fresh XNAT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xsync.dicom.labels import clean_label, contained_assignment
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.headers import ReceivedObject
from xsync.emulator.store import Project, Store

COMMENT_FIELDS = ("PatientComments", "StudyComments", "AdditionalPatientHistory")
DEFAULT_SESSION_LABEL = "dicom_upload"


@dataclass(frozen=True)
class Identity:
    project: str | None  # project ID; None -> Unassigned
    subject: str  # label; "" when nothing names one
    session: str  # label
    auto_archive: bool | None  # from an `AA:` assignment; None when the headers say nothing


def may_use(config: EmulatorConfig, user: str, project: Project) -> bool:
    """Admins use every project; others the projects they are members of."""
    return user in config.admins or user in project.members


def _comment_assignment(obj: ReceivedObject, key: str) -> str | None:
    """The first comment field's `key:` value: subject, session and `AA:` chains stop at the
    first value found, whatever it names."""
    for keyword in COMMENT_FIELDS:
        value = contained_assignment(obj.text(keyword), key)
        if value:
            return value
    return None


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
    candidates = [contained_assignment(obj.text(keyword), "Project") for keyword in COMMENT_FIELDS]
    candidates += [obj.text("StudyDescription"), obj.text("AccessionNumber")]
    for value in candidates:
        if value:
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
        subject = clean_label(_comment_assignment(obj, "Subject") or obj.text("PatientName"))
    session = params.get("EXPT_LABEL")
    if session is None:
        session = clean_label(_comment_assignment(obj, "Session") or obj.text("PatientID"))
    aa = (_comment_assignment(obj, "AA") or "").lower()
    auto_archive = True if aa in ("t", "true") else False if aa in ("f", "false") else None
    return Identity(project, subject, session or DEFAULT_SESSION_LABEL, auto_archive)
