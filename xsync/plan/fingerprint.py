"""A fingerprint of every remote value a plan depends on.

What counts: the subjects the spec names (matched case-insensitively, as XNAT's archiver
matches them) with the stored values of their managed fields and everything under them — every
session with its type, study UID and managed fields, every scan with its type, series UID, file
count and managed fields — so that a reviewed deletion cannot silently grow; the sessions
the spec names wherever they are; the sessions anywhere in the project that hold a study the
spec binds; and the prearchive entries holding bound studies. A change elsewhere (an unmanaged
subject, a field the spec does not set) does not make a saved plan stale.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from xsync.model.desired import DesiredScan, DesiredSession, DesiredState
from xsync.model.fields import Level, phi_names
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteSession, RemoteState, RemoteSubject
from xsync.plan.moves import find_subject, plan_moves

_NO_SCANS: FrozenMap[str, DesiredScan] = FrozenMap()
_PHI = phi_names(Level.SUBJECT)


def _session(rs: RemoteSession, ds: DesiredSession | None) -> dict[str, Any]:
    scans = ds.scans if ds is not None else _NO_SCANS
    return {
        "id": rs.id,
        "subject_id": rs.subject_id,
        "xsi_type": rs.xsi_type,
        "uid": rs.fields.get("UID", ""),
        "fields": {k: rs.fields.get(k) for k in ds.fields} if ds is not None else {},
        "custom": {k: rs.custom.get(k) for k in ds.custom} if ds is not None else {},
        "scans": {
            scan_id: {
                "uid": scan.fields.get("UID", ""),
                "xsi_type": scan.xsi_type,
                "files": scan.dicom_file_count,
                "fields": {k: scan.fields.get(k) for k in scans[scan_id].fields} if scan_id in scans else {},
            }
            for scan_id, scan in rs.scans.items()
        },
    }


def _subject(rs: RemoteSubject, desired: DesiredState) -> dict[str, Any]:
    ds = desired.subjects.get(rs.label)
    wanted = ds.sessions if ds is not None else FrozenMap()
    return {
        "id": rs.id,
        "fields": {k: rs.fields.get(k) for k in ds.fields if k not in _PHI} if ds is not None else {},
        "custom": {k: rs.custom.get(k) for k in ds.custom} if ds is not None else {},
        "sessions": {label: _session(se, wanted.get(label)) for label, se in rs.sessions.items()},
    }


def remote_dependencies(desired: DesiredState, remote: RemoteState) -> dict[str, Any]:
    """Objects renamed by a declared move count under their new labels (as the diff compares
    them); which of each move's labels the server holds is a part of its own."""
    moved = _moves(desired, remote)
    remote = plan_moves(desired, remote).remote
    folded = {label.casefold() for label in desired.subjects}
    subjects = {label: _subject(rs, desired) for label, rs in remote.subjects.items() if label.casefold() in folded}
    wanted_sessions: dict[str, DesiredSession] = {
        label: se for subject in desired.subjects.values() for label, se in subject.sessions.items()
    }
    studies = {se.study.uid for se in wanted_sessions.values() if se.study is not None}
    sessions: dict[str, Any] = {}
    held: dict[str, Any] = {}
    for subject in remote.subjects.values():
        for label, se in subject.sessions.items():
            if label in wanted_sessions:
                sessions[label] = _session(se, wanted_sessions[label])
            elif se.fields.get("UID", "") in studies:
                held[se.fields["UID"]] = _session(se, None)
    prearchive = sorted([p.timestamp, p.status, p.study_uid] for p in remote.prearchive if p.study_uid in studies)
    return {
        "project": desired.project,
        "moved": moved,
        "subjects": subjects,
        "sessions": sessions,
        "studies": held,
        "prearchive": prearchive,
    }


def _moves(desired: DesiredState, remote: RemoteState) -> dict[str, Any]:
    """Per move, the accession IDs and labels the server holds under its old and new labels."""
    out: dict[str, Any] = {}
    for move in desired.moves:
        if move.subject:
            found = [remote.session(label) for label in (move.source, move.target)]
            out[f"{move.subject}/{move.source} -> {move.target}"] = [
                [se.id, se.label, se.subject_id] if se is not None else None for se in found
            ]
        else:
            subjects = [find_subject(remote, label) for label in (move.source, move.target)]
            out[f"{move.source} -> {move.target}"] = [[s.id, s.label] if s is not None else None for s in subjects]
    return out


def fingerprint(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_digests(dependencies: dict[str, Any]) -> dict[str, str]:
    """A digest per subject, per session and for the prearchive entries (and the project)."""
    parts = {f"subject {k}": v for k, v in dependencies["subjects"].items()}
    parts |= {f"session {k}": v for k, v in dependencies["sessions"].items()}
    parts |= {f"study {k}": v for k, v in dependencies["studies"].items()}
    if dependencies["moved"]:
        parts["moved"] = dependencies["moved"]
    parts["prearchive"] = dependencies["prearchive"]
    parts["project"] = dependencies["project"]
    return {k: fingerprint(v)[len("sha256:") :] for k, v in parts.items()}


def remote_fingerprint(parts: dict[str, str]) -> str:
    """The whole remote dependency, from its parts' digests (each part is serialised once)."""
    text = "".join(f"{k}\t{v}\n" for k, v in sorted(parts.items()))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def short_parts(parts: dict[str, str]) -> dict[str, str]:
    """What saved plans keep of the parts (no values): enough to name which objects moved."""
    return {k: v[:16] for k, v in parts.items() if k != "project"}


def local_dependencies(desired: DesiredState, files_digest: str) -> dict[str, Any]:
    """What the plan took from the local DICOM: the files (by the inventory's own digest) and
    the header values it predicted XNAT would store — a retyped SeriesDescription keeps the
    files' sizes but changes the plan, so it must change the digest too."""
    studies = {}
    for subject in desired.subjects.values():
        for session in subject.sessions.values():
            study = session.study
            if study is None:
                continue
            studies[study.uid] = {
                "xsi_type": study.xsi_type,
                "predicted": dict(study.predicted),
                "series": [
                    [s.uid, s.scan_id, s.xsi_type, s.description, s.instances, s.bytes, dict(s.predicted)]
                    for s in study.series
                ],
            }
    return {"files": files_digest, "studies": studies}
