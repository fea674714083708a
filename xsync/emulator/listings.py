"""Listing routes (REST-CONTRACT.md §2.3-2.6): project and site-wide subjects and experiments,
and the scans of a session, all through the query engine.

Meta data: `totalRecords` (a string) unless paging applies; `/experiments` adds
`title: "Matching experiments"`.

The scan listing is XNAT's ScanList (web/.../restlet/resources/ScanList.java): `columns=` with
the scan shortcuts or xpaths, `xsiType=` or a more specific scan type's column narrowing the
rows to that type, `xnat_imagescandata_id` always selected (the root's key), `ID` only when
asked for, filters ignored (ScanList replaces the query's criteria with the session's). Under
`/projects/P/subjects/S/...` the subject must exist in P but need not own the session (ScanList's
constructor looks S up, then finds the session by accession ID or label in P alone).

Strict mode (`EmulatorConfig.strict`): a column XFT cannot resolve fails the query the way each
XNAT resource handles the exception: ProjSubExptList (`/projects/P/experiments`,
`/projects/P/subjects/S/experiments`) catches it, logs it and represents a null table, an empty
200 body in the requested format (SecureResource.representTable); ProjectSubjectList,
SubjectListResource, ExperimentListResource and ScanList answer 500 with Restlet's default text.
A scan listing whose columns leave out `ID` is a 500 too once the session has a scan:
QueryOrganizerResource.formatHeaders reads each row's ID column for the URI, and finds none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Response

from xsync.emulator import access, query, xsd
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError
from xsync.emulator.store import Experiment, Scan, Subject
from xsync.emulator.table import Table, empty_table, paginate, render, sort

routes = RouteTable()
# Restlet's description of a 500 set without one (org.restlet.data.Status).
INTERNAL_ERROR = "The server encountered an unexpected condition which prevented it from fulfilling the request"


def respond(
    ctx: Ctx,
    listing: query.Listing,
    objects: Iterable[Subject | Experiment | Scan],
    meta: dict[str, str] | None = None,
    *,
    swallows_errors: bool = False,
    uri: Callable[[Any], str] | None = None,
) -> Response:
    """The listing's table. `swallows_errors`: the XNAT resource catches a failed query and
    answers an empty body (ProjSubExptList) instead of a 500."""
    if "fields" in ctx.params:
        columns, rows = query.shortcut_table(listing)
        return render(ctx, Table(columns, rows, {"totalRecords": str(len(rows))}))
    is_scans = listing.family == query.SCAN_ROOT
    params = {} if is_scans else {k: v for k, v in ctx.params.items()}  # ScanList ignores filters
    try:
        q = query.Query(listing, params, ctx.param("columns"), ctx.param("xsiType"), strict=ctx.config.strict)
    except query.UnresolvedColumn:
        if swallows_errors:
            return empty_table(ctx)
        raise XnatHTTPError(500, INTERNAL_ERROR) from None
    with ctx.store.lock:
        rows = q.rows(objects, ctx.store, uri)
    if is_scans and ctx.config.strict and rows and "ID" not in q.header():
        raise XnatHTTPError(500, INTERNAL_ERROR)  # formatHeaders: no ID column to build the URI from
    rows, paged = paginate(ctx, sort(ctx, rows))
    out_meta = {} if paged else {"totalRecords": str(len(rows))}
    out_meta.update(meta or {})
    return render(ctx, Table(q.header(), rows, out_meta))


@routes.route("/projects/<project>/subjects", archive=True)
def project_subjects(ctx: Ctx, project: str) -> Response:
    p = access.project(ctx, project)
    return respond(ctx, query.SUBJECTS, ctx.store.subjects_of(p.id))


@routes.route("/subjects", archive=True)
def all_subjects(ctx: Ctx) -> Response:
    visible = {p.id for p in ctx.store.projects.values() if access.can_read(ctx, p)}
    return respond(ctx, query.SUBJECTS, [s for s in list(ctx.store.subjects.values()) if s.project in visible])


@routes.route("/projects/<project>/experiments", archive=True)
def project_experiments(ctx: Ctx, project: str) -> Response:
    p = access.project(ctx, project)
    return respond(ctx, query.PROJECT_EXPERIMENTS, ctx.store.experiments_of(p.id), swallows_errors=True)


@routes.route("/projects/<project>/subjects/<subject>/experiments", archive=True)
def subject_experiments(ctx: Ctx, project: str, subject: str) -> Response:
    p = access.project(ctx, project)
    s = ctx.store.subject(p.id, subject)
    if s is None:
        raise XnatHTTPError(404, f"Unable to identify subject {subject}")
    return respond(ctx, query.PROJECT_EXPERIMENTS, ctx.store.experiments_of(p.id, s.id), swallows_errors=True)


@routes.route("/experiments", archive=True)
def all_experiments(ctx: Ctx) -> Response:
    visible = {p.id for p in ctx.store.projects.values() if access.can_read(ctx, p)}
    objects = [e for e in list(ctx.store.experiments.values()) if e.project in visible]
    listing = query.EXPERIMENTS
    xsi_type = ctx.param("xsiType")
    if xsi_type and xsd.is_a(xsi_type, "xnat:subjectAssessorData"):
        listing = query.Listing(
            listing.family, listing.root, listing.table, (*listing.defaults, "subject_ID", "subject_label")
        )
    return respond(ctx, listing, objects, {"title": "Matching experiments"})


def scan_table(ctx: Ctx, e: Experiment) -> Response:
    with ctx.store.lock:
        scans = list(e.scans.values())
    return respond(ctx, query.SCANS, scans, uri=lambda s: access.scan_uri(e, s))


@routes.route("/experiments/<experiment>/scans", archive=True)
def scans_by_id(ctx: Ctx, experiment: str) -> Response:
    return scan_table(ctx, access.experiment(ctx, None, experiment))


@routes.route("/projects/<project>/experiments/<experiment>/scans", archive=True)
def project_scans(ctx: Ctx, project: str, experiment: str) -> Response:
    p = access.project(ctx, project)
    return scan_table(ctx, access.experiment(ctx, p, experiment))


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>/scans", archive=True)
def subject_scans(ctx: Ctx, project: str, subject: str, experiment: str) -> Response:
    p = access.project(ctx, project)
    access.subject(ctx, p, subject)  # must exist in P; it need not own the session
    return scan_table(ctx, access.experiment(ctx, p, experiment))
