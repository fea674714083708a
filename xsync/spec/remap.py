"""What a session's DICOM headers become on the way to XNAT: the spec's remaps (site, then
subject, then session; for one attribute the innermost wins), placeholders filled in, and for
`upload.method: cstore` the routing comment XNAT's receiver reads. The plan shows these edits by
name and apply makes them: both ask here. Pure: no pydicom (keywords were checked on load)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xsync.spec.model import Remap, Session, Spec, Subject

Action = Literal["set", "blank", "remove", "route"]
ROUTING_ATTRIBUTE = "PatientComments"  # read first by XNAT's default DICOM object identifier


@dataclass(frozen=True)
class HeaderChange:
    keyword: str
    action: Action  # "route": set by xsync, for XNAT's receiver to place the session
    value: str = ""  # the text written by set or route
    loc: tuple[str, ...] = ()  # where the spec says so (empty for routing)


def routing_comment(project: str, subject: str, session: str) -> str:
    """`Project:P Subject:S Session:E`, which XNAT's receiver reads from Patient Comments ahead
    of every other header (labels hold no spaces or colons, so it parses back exactly)."""
    return f"Project:{project} Subject:{subject} Session:{session}"


def _level(remap: Remap | None, loc: tuple[str, ...], names: dict[str, str]) -> dict[str, HeaderChange]:
    if remap is None:
        return {}
    out = {k: HeaderChange(k, "set", v.format(**names), (*loc, "remap", "set", k)) for k, v in remap.set_.items()}
    out |= {k: HeaderChange(k, "blank", "", (*loc, "remap", "blank")) for k in remap.blank}
    out |= {k: HeaderChange(k, "remove", "", (*loc, "remap", "remove")) for k in remap.remove}
    return out


def header_changes(spec: Spec, subject: str, session: str) -> tuple[HeaderChange, ...]:
    """The edits made to every file of this session as it is sent, by keyword."""
    s = spec.subjects.get(subject)
    e = s.sessions.get(session) if s is not None else None
    return changes(spec.project, spec.upload.method, spec.remap, subject, s, session, e)


def changes(
    project: str,
    method: str,
    site: Remap | None,
    subject: str,
    subject_spec: Subject | None,
    session: str,
    session_spec: Session | None,
) -> tuple[HeaderChange, ...]:
    """`header_changes` from the parts of a spec (the loader checks them before a Spec exists)."""
    names = {"project": project, "subject": subject, "session": session}
    subject_loc = ("subjects", subject)
    merged = _level(site, (), names)
    merged |= _level(subject_spec.remap if subject_spec is not None else None, subject_loc, names)
    merged |= _level(
        session_spec.remap if session_spec is not None else None, (*subject_loc, "sessions", session), names
    )
    if method == "cstore":
        merged[ROUTING_ATTRIBUTE] = HeaderChange(ROUTING_ATTRIBUTE, "route", routing_comment(project, subject, session))
    return tuple(merged[k] for k in sorted(merged))
