"""A RemoteState as an indented text tree (the debugging window into what plan compares)."""

from __future__ import annotations

from collections.abc import Mapping

from xsync.model.remote import RemoteResource, RemoteState
from xsync.render.safe import shown
from xsync.render.units import human_bytes, plural


def _value(v: str) -> str:
    """Plain when that is unambiguous; quoted, with control characters escaped, otherwise (values
    come from the server and must not drive the terminal)."""
    return v if v and v.isprintable() and " " not in v and "'" not in v else repr(v)


def _fields(fields: Mapping[str, str], custom: Mapping[str, str] | None = None) -> str:
    parts = [f"{k}={_value(v)}" for k, v in sorted(fields.items())]
    parts += [f"fields.{k}={_value(v)}" for k, v in sorted((custom or {}).items())]
    return "  ".join(parts)


def _resource(r: RemoteResource) -> str:
    count = "? files" if r.file_count is None else plural(r.file_count, "file")
    size = "" if r.file_size is None else f", {human_bytes(r.file_size)}"
    return f"{r.label}: {count}{size}"


def render_state_text(state: RemoteState, *, show_phi: bool = False) -> str:
    """`show_phi` prints prearchive folders and subjects, which XNAT may have derived from
    PatientID/PatientName."""
    c = state.counts()
    lines = [
        f"project {state.project} at {state.server}: {plural(c['subjects'], 'subject')}, "
        f"{plural(c['sessions'], 'session')}, {plural(c['scans'], 'scan')}, {c['prearchive']} in the prearchive"
    ]
    for subject in state.subjects.values():
        lines.append(f"subject {subject.label} ({subject.id})  {_fields(subject.fields, subject.custom)}".rstrip())
        for session in subject.sessions.values():
            head = f"  session {session.label} ({session.id}, {session.xsi_type})"
            lines.append(f"{head}  {_fields(session.fields, session.custom)}".rstrip())
            for scan in session.scans.values():
                kind = f", {scan.xsi_type}" if scan.xsi_type else ""
                files = "  ".join(_resource(r) for r in scan.resources.values())
                lines.append(f"    scan {scan.id}{kind}  {_fields(scan.fields)}  {files}".rstrip())
    if state.prearchive:
        lines.append("prearchive:")
        for p in state.prearchive:
            where = f"{p.timestamp}/{p.folder} (subject {p.subject})" if show_phi else p.timestamp
            lines.append(f"  {where}  {p.status}  study {p.study_uid}")
    # Labels and IDs come from the server: each line stays one line of plain characters.
    return "\n".join(shown(line) for line in lines) + "\n"
