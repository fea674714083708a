"""Finding objects the way XNAT's resources do, with its permission answers: a project the user
cannot read is as absent as a missing one (404) on reads, and a write to it is refused with 403
(REST-CONTRACT.md §1.3). Admins see everything; other users see the projects whose
`members` they are in."""

from __future__ import annotations

from xsync.emulator.http import Ctx, XnatHTTPError
from xsync.emulator.store import Experiment, Project, Scan, Subject


def can_read(ctx: Ctx, project: Project) -> bool:
    return ctx.is_admin or ctx.user in project.members


def project(ctx: Ctx, ref: str, *, write: bool = False) -> Project:
    """The project by ID or alias: 404 if absent or invisible; 403 for a write by a non-member."""
    p = ctx.store.project(ref)
    if p is None:
        raise XnatHTTPError(404, f"Unable to find project {ref}.")
    if not can_read(ctx, p):
        if write:
            raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
        raise XnatHTTPError(404, f"Unable to find project {ref}.")
    return p


def subject(ctx: Ctx, p: Project, ref: str) -> Subject:
    s = ctx.store.subject(p.id, ref)
    if s is None:
        raise XnatHTTPError(
            404,
            "Unable to find the specified subject. "
            f"The project {p.id} does not contain a subject identifiable by the ID or label {ref}.",
        )
    return s


def subject_by_id(ctx: Ctx, ref: str) -> Subject:
    """Without a project in the URL only the accession ID identifies a subject."""
    s = ctx.store.subjects.get(ref)
    p = ctx.store.projects.get(s.project) if s else None
    if s is None or p is None or not can_read(ctx, p):
        raise XnatHTTPError(404, f"Unable to find the specified subject. {ref} is not the accession ID of a subject.")
    return s


def experiment(ctx: Ctx, p: Project | None, ref: str, subject: Subject | None = None) -> Experiment:
    e = ctx.store.experiment(p.id if p else None, ref)
    if e is not None and p is None:
        owner = ctx.store.projects.get(e.project)
        if owner is None or not can_read(ctx, owner):
            e = None
    if e is None or (subject is not None and e.subject_id != subject.id):
        raise XnatHTTPError(404, f"Unable to find the specified experiment {ref}.")
    return e


def session_for_get(ctx: Ctx, p: Project, ref: str) -> Experiment:
    """A session under `/projects/P/...`, as SubjAssessmentResource and ExperimentResource
    represent it: by accession ID in any project the user can read, else by label in P. A
    subject in the path is not read, so any subject's path finds it."""
    e = ctx.store.experiment(None, ref)
    owner = ctx.store.projects.get(e.project) if e is not None else None
    if e is None or owner is None or not can_read(ctx, owner):
        e = ctx.store.experiment(p.id, ref)
    if e is None:
        raise XnatHTTPError(404, "Unable to find the specified experiment.")
    return e


def scan_session(ctx: Ctx, p: Project | None, ref: str) -> Experiment | None:
    """A scan's session as ScanResource finds it: by accession ID (within P when the path has a
    project), else by label in P; a subject in the path is not read."""
    e = ctx.store.experiment(p.id if p else None, ref)
    owner = ctx.store.projects.get(e.project) if e is not None else None
    return e if owner is not None and can_read(ctx, owner) else None


def scan(e: Experiment | None, scan_id: str) -> Scan:
    s = e.scans.get(scan_id) if e is not None else None
    if s is None:
        raise XnatHTTPError(404, "Unable to find the specified scan.")
    return s


def scan_uri(e: Experiment, s: Scan) -> str:
    return f"/data/experiments/{e.id}/scans/{s.id}"
