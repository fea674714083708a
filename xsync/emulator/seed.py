"""Fast in-process seeding for tests and benchmarks: build projects, subjects, sessions, scans
and resources directly in the store, without HTTP (a 1,000-subject x 2-session x 10-scan
project takes about a second).

    emu.seed.add_project("P")
    emu.seed.add_subject("P", "sub1", fields={"gender": "female", "age": "25"}, custom={"site": "A"})
    emu.seed.add_session("P", "sub1", "sess1", fields={"scanner": "MEDPC", "date": "2020-01-01"},
                         scans=[{"id": "1", "type": "T1w", "files": 3}, ScanSeed("2", fields={...})])

Field keys are shortcut names of the level (`gender`, `scanner`, `type`) or paths relative to
the element (`demographics/gender`, `parameters/tr`). Values are stored verbatim: they are what
XNAT would have stored, so pass them already XML-escaped if that is what you want to read back.
Scan `files=N` adds a `DICOM` resource (format DICOM, content RAW) of N entries that share one
small blob on disk (downloads work; deleting them never removes the blob); `resources=` takes
real contents per resource label and file name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xsync.emulator import shortcuts, xsd
from xsync.emulator.store import Experiment, FileEntry, Project, Resource, Scan, Store, Subject

BLOB_SIZE = 1024


@dataclass
class ScanSeed:
    id: str
    xsi_type: str = "xnat:mrScanData"
    fields: Mapping[str, str] = field(default_factory=dict)
    files: int = 0  # entries in a DICOM resource sharing one blob
    resources: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)  # label -> name -> bytes


def _paths(table: Mapping[str, shortcuts.Shortcut], xsi_type: str, given: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in given.items():
        sc = table.get(key)
        path = shortcuts.xpath_for(sc, xsi_type).split("/", 1)[1] if sc else key
        spec = xsd.field(xsi_type, path)
        out[spec.path if spec else xsd.strip_predicates(path)] = str(value)
    return out


class Seeder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._blob: Path | None = None

    def add_project(
        self, project_id: str, *, name: str = "", members: Iterable[str] = (), prearchive_code: int = 0
    ) -> Project:
        with self.store.lock:
            p = self.store.projects.get(project_id)
            if p is None:
                p = Project(id=project_id, secondary_id=project_id, name=name or project_id)
                self.store.projects[project_id] = p
            p.members.update(members)
            p.prearchive_code = prearchive_code
            return p

    def add_subject(
        self,
        project: str,
        label: str,
        *,
        fields: Mapping[str, str] | None = None,
        custom: Mapping[str, str] | None = None,
    ) -> Subject:
        with self.store.lock:
            if project not in self.store.projects:
                self.add_project(project)
            s = self.store.subject(project, label)
            if s is None:
                s = self.store.add_subject(Subject(id=self.store.next_subject_id(), project=project, label=label))
            s.fields.update(_paths(shortcuts.SUBJECT, "xnat:subjectData", fields or {}))
            s.custom.update(custom or {})
            return s

    def add_session(
        self,
        project: str,
        subject: str,
        label: str,
        *,
        xsi_type: str = "xnat:mrSessionData",
        fields: Mapping[str, str] | None = None,
        custom: Mapping[str, str] | None = None,
        scans: Iterable[ScanSeed | Mapping[str, object]] = (),
    ) -> Experiment:
        with self.store.lock:
            s = self.add_subject(project, subject)
            e = self.store.experiment(project, label)
            if e is None:
                e = self.store.add_experiment(
                    Experiment(
                        id=self.store.next_experiment_id(),
                        project=project,
                        subject_id=s.id,
                        label=label,
                        xsi_type=xsd.canonical(xsi_type) or xsi_type,
                    )
                )
            e.fields.update(_paths(shortcuts.EXPERIMENT, e.xsi_type, fields or {}))
            e.custom.update(custom or {})
            for spec in scans:
                self.add_scan(e, spec if isinstance(spec, ScanSeed) else ScanSeed(**spec))  # type: ignore[arg-type]
            return e

    def add_scan(self, session: Experiment, spec: ScanSeed) -> Scan:
        with self.store.lock:
            xsi_type = xsd.canonical(spec.xsi_type) or spec.xsi_type
            sc = session.scans.get(spec.id)
            if sc is None:
                sc = Scan(id=spec.id, xsi_type=xsi_type, pk=self.store.next_scan_pk())
                session.scans[spec.id] = sc
            sc.fields.update(_paths(shortcuts.SCAN, xsi_type, spec.fields))
            if spec.files:
                blob = self._shared_blob()
                r = self._resource(sc, "DICOM", "DICOM", "RAW")
                for i in range(1, spec.files + 1):
                    name = f"{session.label}-{spec.id}-{i}.dcm"
                    r.files[name] = FileEntry(name=name, path=blob, size=BLOB_SIZE)
            for label, files in spec.resources.items():
                r = self._resource(sc, label)
                directory = self.store.root / "archive" / session.project / "arc001" / session.label
                directory = directory / "SCANS" / sc.id / label
                directory.mkdir(parents=True, exist_ok=True)
                for name, content in files.items():
                    path = directory / name
                    path.write_bytes(content)
                    r.files[name] = FileEntry(name=name, path=path, size=len(content))
            return sc

    def _resource(self, scan: Scan, label: str, fmt: str = "", content: str = "") -> Resource:
        r = scan.resources.get(label)
        if r is None:
            r = Resource(id=self.store.next_resource_pk(), label=label, format=fmt, content=content)
            scan.resources[label] = r
        return r

    def _shared_blob(self) -> Path:
        if self._blob is None:
            self._blob = self.store.root / "seed" / "blob.dcm"
            self._blob.parent.mkdir(parents=True, exist_ok=True)
            self._blob.write_bytes(b"\0" * BLOB_SIZE)
        return self._blob
