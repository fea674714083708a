"""Listing routes (REST-CONTRACT.md §2.3-2.6): project and site-wide subjects and experiments
through the query engine, and the scans of a session.

Meta data: `totalRecords` (a string) unless paging applies; `/experiments` adds
`title: "Matching experiments"`. The scan listing answers its fixed columns and, like XNAT's
ScanList, ignores filters.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.wrappers import Response

from xsync.emulator import access, query, xsd
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError
from xsync.emulator.store import Experiment, Subject
from xsync.emulator.table import Table, paginate, render, sort

routes = RouteTable()


def respond(
    ctx: Ctx, listing: query.Listing, objects: Iterable[Subject | Experiment], meta: dict[str, str] | None = None
) -> Response:
    if "fields" in ctx.params:
        columns, rows = query.shortcut_table(listing)
        return render(ctx, Table(columns, rows, {"totalRecords": str(len(rows))}))
    params = {k: v for k, v in ctx.params.items()}
    q = query.Query(listing, params, ctx.param("columns"), ctx.param("xsiType"))
    with ctx.store.lock:
        rows = q.rows(objects, ctx.store)
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
    return respond(ctx, query.PROJECT_EXPERIMENTS, ctx.store.experiments_of(p.id))


@routes.route("/projects/<project>/subjects/<subject>/experiments", archive=True)
def subject_experiments(ctx: Ctx, project: str, subject: str) -> Response:
    p = access.project(ctx, project)
    s = ctx.store.subject(p.id, subject)
    if s is None:
        raise XnatHTTPError(404, f"Unable to identify subject {subject}")
    return respond(ctx, query.PROJECT_EXPERIMENTS, ctx.store.experiments_of(p.id, s.id))


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


SCAN_COLUMNS = ("xnat_imagescandata_id", "ID", "type", "quality", "xsiType", "note", "series_description", "URI")


def scan_table(ctx: Ctx, e: Experiment) -> Response:
    with ctx.store.lock:
        rows = [
            {
                "xnat_imagescandata_id": str(s.pk),
                "ID": s.id,
                "type": s.fields.get("type", ""),
                "quality": s.fields.get("quality", ""),
                "xsiType": s.xsi_type,
                "note": s.fields.get("note", ""),
                "series_description": s.fields.get("series_description", ""),
                "URI": access.scan_uri(e, s),
            }
            for s in e.scans.values()
        ]
    rows, paged = paginate(ctx, sort(ctx, rows))
    return render(ctx, Table(list(SCAN_COLUMNS), rows, {} if paged else {"totalRecords": str(len(rows))}))


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
    s = access.subject(ctx, p, subject)
    return scan_table(ctx, access.experiment(ctx, p, experiment, s))
