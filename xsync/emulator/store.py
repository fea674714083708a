"""The emulator's state: projects, subjects, experiments, scans, resources, files and the
prearchive, with XNAT's accession-ID generation. One lock guards every mutation.

Field values are stored the way XNAT stores them: strings, already XML-escaped where they came
from PUT parameters (XNAT escapes before storage, so they come back escaped), keyed by their
path relative to the element (`demographics/gender`, `scanner/manufacturer`,
`parameters/voxelRes/x`), exactly the keys of the item JSON's `data_fields`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xsync.emulator.builder import BuiltSession


def now_timestamp() -> str:
    """Java `Timestamp.toString()` style: `2023-09-27 17:31:21.352` (`.0` when ms are 0)."""
    t = datetime.now()
    ms = t.microsecond // 1000
    frac = f"{ms:03d}".rstrip("0") or "0"
    return t.strftime("%Y-%m-%d %H:%M:%S.") + frac


@dataclass
class FileEntry:
    name: str  # relative to the resource, e.g. `1.3.12...-4-1-1qs88hj.dcm`
    path: Path  # where the bytes live on disk
    size: int
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    instance_number: str = ""
    md5: str = ""


@dataclass
class Resource:
    id: int  # xnat_abstractresource_id
    label: str
    format: str = ""
    content: str = ""
    tags: str = ""
    files: dict[str, FileEntry] = field(default_factory=dict)


@dataclass
class Scan:
    id: str
    xsi_type: str  # e.g. xnat:mrScanData
    pk: int  # xnat_imagescandata_id
    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    insert_date: str = field(default_factory=now_timestamp)
    insert_user: str = "admin"
    # The change event that wrote the current version and when ("" = never changed since
    # insert): the item JSON's meta `create_event_id` and `start_date`. 0 = not recorded.
    event_id: int = 0
    last_modified: str = ""


@dataclass
class Experiment:
    id: str  # accession, XNAT_E00001
    project: str
    subject_id: str
    label: str
    xsi_type: str  # e.g. xnat:mrSessionData
    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    scans: dict[str, Scan] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    insert_date: str = field(default_factory=now_timestamp)
    insert_user: str = "admin"
    # The change event that wrote the current version and when ("" = never changed since
    # insert): the item JSON's meta `create_event_id` and `start_date`. 0 = not recorded.
    event_id: int = 0
    last_modified: str = ""


@dataclass
class Subject:
    id: str  # accession, XNAT_S00001
    project: str
    label: str
    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    insert_date: str = field(default_factory=now_timestamp)
    insert_user: str = "admin"
    # The change event that wrote the current version and when ("" = never changed since
    # insert): the item JSON's meta `create_event_id` and `start_date`. 0 = not recorded.
    event_id: int = 0
    last_modified: str = ""


@dataclass
class Project:
    id: str
    secondary_id: str = ""
    name: str = ""
    description: str = ""
    pi_firstname: str = ""
    pi_lastname: str = ""
    keywords: str = ""
    aliases: list[str] = field(default_factory=list)
    prearchive_code: int = 0  # 0 manual, 4 auto-archive, 5 auto-archive with overwrite
    custom: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)  # users with access (admins see everything)
    insert_date: str = field(default_factory=now_timestamp)


@dataclass
class PrearchiveFile:
    scan_dir: str  # SCANS/<scan_dir>/DICOM/
    name: str
    path: Path
    size: int
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str


@dataclass
class PrearchiveSession:
    project: str  # project ID or "Unassigned"
    timestamp: str  # yyyyMMdd_HHmmssSSS
    folder: str
    name: str  # session label
    subject: str
    tag: str  # StudyInstanceUID
    status: str = "RECEIVING"
    lastmod: str = field(default_factory=now_timestamp)
    uploaded: str = field(default_factory=now_timestamp)
    scan_date: str = ""
    scan_time: str = ""
    autoarchive: str = ""  # Manual / AutoArchive / AutoArchiveOverwrite / ""
    prevent_anon: str = "false"
    prevent_auto_commit: str = "false"
    source: str = ""
    visit: str = ""
    protocol: str = ""
    timezone: str = ""
    files: list[PrearchiveFile] = field(default_factory=list)
    last_file_monotonic: float = 0.0  # for the quiet period; not a column
    # The session document once built (READY); derived from the files, so not persisted: a
    # restarted emulator rebuilds it on demand.
    built: BuiltSession | None = field(default=None, compare=False, repr=False, metadata={"transient": True})

    @property
    def url(self) -> str:
        return f"/prearchive/projects/{self.project}/{self.timestamp}/{self.folder}"


@dataclass
class Counters:
    subject: int = 0
    experiment: int = 0
    scan_pk: int = 0
    resource_pk: int = 0
    event: int = 0  # change events (XNAT's workflow event IDs)


class Store:
    """All emulator state. Hold `lock` for any read that must be consistent and every write."""

    def __init__(self, root: Path, site_id: str = "XNAT") -> None:
        self.root = root  # archive/ and prearchive/ file trees live under it
        self.site_id = site_id
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.subjects: dict[str, Subject] = {}
        self.experiments: dict[str, Experiment] = {}
        self.prearchive: list[PrearchiveSession] = []
        self.counters = Counters()
        # (project, label) -> accession. Kept by the add/rename/remove methods below; a lookup
        # that finds the index out of step with the dicts (someone inserted directly) rebuilds it.
        self._subject_labels: dict[tuple[str, str], str] = {}
        self._experiment_labels: dict[tuple[str, str], str] = {}
        # Called after every change that should be persisted (set by the persistence layer).
        self.on_change: Callable[[], None] | None = None

    # -- accession IDs: `{siteId}_S00001`, `{siteId}_E00001`; never reused -------------------
    def _site_prefix(self) -> str:
        return self.site_id.replace(" ", "").replace("'", "").replace('"', "").replace("-", "_")

    def next_subject_id(self) -> str:
        with self.lock:
            self.counters.subject += 1
            return f"{self._site_prefix()}_S{self.counters.subject:05d}"

    def next_experiment_id(self) -> str:
        with self.lock:
            self.counters.experiment += 1
            return f"{self._site_prefix()}_E{self.counters.experiment:05d}"

    def next_scan_pk(self) -> int:
        with self.lock:
            self.counters.scan_pk += 1
            return self.counters.scan_pk

    def next_resource_pk(self) -> int:
        with self.lock:
            self.counters.resource_pk += 1
            return self.counters.resource_pk

    def next_event_id(self) -> int:
        with self.lock:
            self.counters.event += 1
            return self.counters.event

    # -- lookups (labels are matched exactly, as REST does) ----------------------------------
    def project(self, ref: str) -> Project | None:
        """By ID or alias."""
        if ref in self.projects:
            return self.projects[ref]
        for p in self.projects.values():
            if ref in p.aliases:
                return p
        return None

    def subject(self, project: str, ref: str) -> Subject | None:
        """By label within `project`, or by accession ID."""
        s = self.subjects.get(ref)
        if s is not None and s.project == project:
            return s
        by_label: Subject | None = self._by_label(self.subjects, self._subject_labels, project, ref)
        return by_label

    def experiment(self, project: str | None, ref: str) -> Experiment | None:
        """By label within `project`, or by accession ID (the only way without a project)."""
        e = self.experiments.get(ref)
        if e is not None and (project is None or e.project == project):
            return e
        if project is None:
            return None
        by_label: Experiment | None = self._by_label(self.experiments, self._experiment_labels, project, ref)
        return by_label

    def _by_label(self, items: dict[str, Any], index: dict[tuple[str, str], str], project: str, label: str) -> Any:
        found = items.get(index.get((project, label), ""))
        if found is not None and found.project == project and found.label == label:
            return found
        if found is None and len(index) == len(items):
            return None
        with self.lock:  # rebuild: someone changed the dicts without the methods below
            index.clear()
            index.update({(o.project, o.label): key for key, o in items.items()})
            found = items.get(index.get((project, label), ""))
        return found if found is not None and found.label == label else None

    def subjects_of(self, project: str) -> list[Subject]:
        return [s for s in self.subjects.values() if s.project == project]

    def experiments_of(self, project: str | None = None, subject_id: str | None = None) -> list[Experiment]:
        return [
            e
            for e in self.experiments.values()
            if (project is None or e.project == project) and (subject_id is None or e.subject_id == subject_id)
        ]

    # -- mutations: go through these so the label indices stay right -------------------------
    def add_subject(self, subject: Subject) -> Subject:
        with self.lock:
            subject.event_id = subject.event_id or self.next_event_id()
            self.subjects[subject.id] = subject
            self._subject_labels[(subject.project, subject.label)] = subject.id
            return subject

    def add_experiment(self, experiment: Experiment) -> Experiment:
        with self.lock:
            experiment.event_id = experiment.event_id or self.next_event_id()
            self.experiments[experiment.id] = experiment
            self._experiment_labels[(experiment.project, experiment.label)] = experiment.id
            return experiment

    def relabel_subject(self, subject: Subject, label: str) -> None:
        with self.lock:
            self._subject_labels.pop((subject.project, subject.label), None)
            subject.label = label
            self._subject_labels[(subject.project, label)] = subject.id

    def relabel_experiment(self, experiment: Experiment, label: str) -> None:
        with self.lock:
            self._experiment_labels.pop((experiment.project, experiment.label), None)
            experiment.label = label
            self._experiment_labels[(experiment.project, label)] = experiment.id

    def remove_experiment(self, experiment_id: str) -> Experiment | None:
        with self.lock:
            e = self.experiments.pop(experiment_id, None)
            if e is not None and self._experiment_labels.get((e.project, e.label)) == e.id:
                del self._experiment_labels[(e.project, e.label)]
            return e

    def remove_subject(self, subject_id: str) -> Subject | None:
        """Removes the subject and, as XNAT's delete does, its experiments."""
        with self.lock:
            s = self.subjects.pop(subject_id, None)
            if s is None:
                return None
            if self._subject_labels.get((s.project, s.label)) == s.id:
                del self._subject_labels[(s.project, s.label)]
            for e in self.experiments_of(subject_id=subject_id):
                self.remove_experiment(e.id)
            return s

    def changed(self) -> None:
        """Tell the persistence layer that state changed (a no-op when state lives in memory)."""
        if self.on_change is not None:
            self.on_change()
