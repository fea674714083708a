"""What the server holds for one project, as read in one pass: a frozen snapshot.

Invariant: a RemoteState only exists when every listing that built it succeeded, so the
absence of an object here means XNAT said it is absent, never "could not tell".
Field values are the stored strings with XML entities undone; keys are shortcut names
(`gender`, `scanner`, `series_description`); custom variables are kept apart in `custom`.
Patient identifiers (dcmPatientName, dcmPatientId, dob) are never read into it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from xsync.model.frozen import FrozenMap

DICOM_RESOURCES = ("DICOM", "secondary")  # where XNAT files a scan's DICOM instances


def _empty() -> FrozenMap[str, str]:
    return FrozenMap()


@dataclass(frozen=True)
class RemoteResource:
    label: str
    file_count: int | None  # None: the server keeps no count for it
    file_size: int | None
    format: str = ""


@dataclass(frozen=True)
class RemoteScan:
    id: str
    xsi_type: str  # "" when the read did not establish it
    fields: FrozenMap[str, str] = field(default_factory=_empty)
    resources: FrozenMap[str, RemoteResource] = field(default_factory=FrozenMap)

    @property
    def dicom_file_count(self) -> int | None:
        """The scan's DICOM instances: XNAT keeps those of primary imaging SOP classes in `DICOM`
        and the others (secondary captures ...) in `secondary`. 0 without either; None when the
        server gave no count for one of them."""
        counts = [r.file_count for label, r in self.resources.items() if label in DICOM_RESOURCES]
        return None if None in counts else sum(c for c in counts if c is not None)


@dataclass(frozen=True)
class RemoteSession:
    id: str  # accession ID
    label: str
    xsi_type: str
    subject_id: str
    fields: FrozenMap[str, str] = field(default_factory=_empty)
    custom: FrozenMap[str, str] = field(default_factory=_empty)
    scans: FrozenMap[str, RemoteScan] = field(default_factory=FrozenMap)
    # Whether the scans' resources (file counts) were read: only for the sessions that need them.
    resources_read: bool = False


@dataclass(frozen=True)
class RemoteSubject:
    id: str  # accession ID
    label: str
    fields: FrozenMap[str, str] = field(default_factory=_empty)
    custom: FrozenMap[str, str] = field(default_factory=_empty)
    sessions: FrozenMap[str, RemoteSession] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class PrearchiveEntry:
    """A prearchive row of the project.

    `subject` and `name` are labels, but when XNAT derived them from the headers (no explicit
    labels at upload) they come from PatientName and PatientID: treat them as PHI when
    printing unless they are labels the spec itself uses.
    """

    timestamp: str
    folder: str
    name: str
    subject: str
    study_uid: str
    status: str
    url: str
    scan_date: str = ""
    uploaded: str = ""
    lastmod: str = ""


@dataclass(frozen=True)
class RemoteState:
    server: str  # base URL without credentials
    project: str
    subjects: FrozenMap[str, RemoteSubject] = field(default_factory=FrozenMap)
    prearchive: tuple[PrearchiveEntry, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, said in plans (e.g. file counts)

    def session(self, label: str) -> RemoteSession | None:
        """Session labels are unique within a project."""
        return self._sessions_by_label.get(label)

    def session_with_study(self, study_uid: str) -> RemoteSession | None:
        """The session holding a StudyInstanceUID, if any."""
        return self._sessions_by_study.get(study_uid)

    @cached_property
    def _sessions_by_study(self) -> dict[str, RemoteSession]:
        return {
            se.fields["UID"]: se for s in self.subjects.values() for se in s.sessions.values() if se.fields.get("UID")
        }

    @cached_property
    def _sessions_by_label(self) -> dict[str, RemoteSession]:
        return {label: se for s in self.subjects.values() for label, se in s.sessions.items()}

    def counts(self) -> dict[str, int]:
        sessions = [se for s in self.subjects.values() for se in s.sessions.values()]
        return {
            "subjects": len(self.subjects),
            "sessions": len(sessions),
            "scans": sum(len(se.scans) for se in sessions),
            "prearchive": len(self.prearchive),
        }

    def to_json(self) -> dict[str, Any]:
        """A canonical, JSON-ready form: sorted keys, no accession-ID-only noise removed."""

        def scan(sc: RemoteScan) -> dict[str, Any]:
            return {
                "id": sc.id,
                "xsi_type": sc.xsi_type,
                "fields": dict(sorted(sc.fields.items())),
                "resources": {
                    k: {"file_count": r.file_count, "file_size": r.file_size, "format": r.format}
                    for k, r in sorted(sc.resources.items())
                },
            }

        def session(se: RemoteSession) -> dict[str, Any]:
            return {
                "id": se.id,
                "label": se.label,
                "xsi_type": se.xsi_type,
                "fields": dict(sorted(se.fields.items())),
                "custom": dict(sorted(se.custom.items())),
                "scans": {k: scan(v) for k, v in se.scans.items()},
                "resources_read": se.resources_read,
            }

        return {
            "server": self.server,
            "project": self.project,
            "subjects": {
                label: {
                    "id": s.id,
                    "label": s.label,
                    "fields": dict(sorted(s.fields.items())),
                    "custom": dict(sorted(s.custom.items())),
                    "sessions": {k: session(v) for k, v in sorted(s.sessions.items())},
                }
                for label, s in sorted(self.subjects.items())
            },
            "prearchive": [vars(p) for p in self.prearchive],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteState:
        """The inverse of `to_json` (golden tests keep remote states as JSON)."""

        def scan(d: dict[str, Any]) -> RemoteScan:
            resources = {
                k: RemoteResource(k, r["file_count"], r["file_size"], r["format"]) for k, r in d["resources"].items()
            }
            return RemoteScan(d["id"], d["xsi_type"], FrozenMap(d["fields"]), FrozenMap(resources))

        def session(d: dict[str, Any], subject_id: str) -> RemoteSession:
            scans = {k: scan(v) for k, v in d["scans"].items()}
            return RemoteSession(
                d["id"], d["label"], d["xsi_type"], subject_id, FrozenMap(d["fields"]), FrozenMap(d["custom"]),
                FrozenMap(scans), d.get("resources_read", bool(scans)),
            )  # fmt: skip

        subjects = {
            label: RemoteSubject(
                s["id"],
                s["label"],
                FrozenMap(s["fields"]),
                FrozenMap(s["custom"]),
                FrozenMap({k: session(v, s["id"]) for k, v in s["sessions"].items()}),
            )  # fmt: skip
            for label, s in data["subjects"].items()
        }
        prearchive = tuple(PrearchiveEntry(**p) for p in data.get("prearchive", []))
        return cls(data["server"], data["project"], FrozenMap(subjects), prearchive, tuple(data.get("notes", ())))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON; equal states have equal fingerprints."""
        data = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(data.encode("utf-8")).hexdigest()
