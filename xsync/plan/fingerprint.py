"""A fingerprint of every remote value a plan depends on.

Only what the spec manages counts: the existence and IDs of the objects the spec names, the
stored values of managed fields, the scans (IDs, series UIDs, file counts) of bound sessions
and the prearchive entries holding bound studies. A change elsewhere on the server (an
unmanaged subject, a field the spec does not set) does not make a saved plan stale.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from xsync.model.desired import DesiredSession, DesiredState
from xsync.model.remote import RemoteSession, RemoteState


def _session(ds: DesiredSession, rs: RemoteSession | None) -> Any:
    if rs is None:
        return None
    return {
        "id": rs.id,
        "subject_id": rs.subject_id,
        "xsi_type": rs.xsi_type,
        "uid": rs.fields.get("UID", ""),
        "fields": {k: rs.fields.get(k) for k in ds.fields},
        "custom": {k: rs.custom.get(k) for k in ds.custom},
        "scans": {
            scan_id: {
                "uid": scan.fields.get("UID", ""),
                "files": scan.dicom_file_count,
                "fields": {k: scan.fields.get(k) for k in ds.scans[scan_id].fields} if scan_id in ds.scans else {},
            }
            for scan_id, scan in rs.scans.items()
        },
    }


def remote_dependencies(desired: DesiredState, remote: RemoteState) -> dict[str, Any]:
    subjects: dict[str, Any] = {}
    for label, ds in desired.subjects.items():
        rs = remote.subjects.get(label)
        subjects[label] = None
        if rs is not None:
            subjects[label] = {
                "id": rs.id,
                "fields": {k: rs.fields.get(k) for k in ds.fields},
                "custom": {k: rs.custom.get(k) for k in ds.custom},
            }
        for session_label, dss in ds.sessions.items():
            subjects[f"{label}/{session_label}"] = _session(dss, remote.session(session_label))
    studies = {
        s.study.uid for subject in desired.subjects.values() for s in subject.sessions.values() if s.study is not None
    }
    prearchive = sorted(
        [p.timestamp, p.folder, p.status, p.study_uid] for p in remote.prearchive if p.study_uid in studies
    )
    return {"project": desired.project, "objects": subjects, "prearchive": prearchive}


def fingerprint(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
