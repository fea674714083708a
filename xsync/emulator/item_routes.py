"""GET of single subjects, experiments and scans under every path XNAT serves them
(REST-CONTRACT.md §3), in `format=json|xml` (HTML otherwise).

Sessions and scans under `/projects/P/subjects/S/experiments/E[/scans/N]` are found without
reading S, as SubjAssessmentResource, ExperimentResource and ScanResource do: a session by
accession ID (any readable project for a session, P for a scan's session) or by label in P.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator import access, items, xsd
from xsync.emulator.http import Ctx, RouteTable
from xsync.emulator.store import Experiment, Project, Scan, Subject

routes = RouteTable()


def _subject(ctx: Ctx, s: Subject) -> Response:
    return items.respond(
        ctx,
        lambda: items.subject_json(ctx.store, s),
        lambda: items.document(items.subject_node(ctx.store, s), "xnat:Subject"),
    )


def _experiment(ctx: Ctx, e: Experiment) -> Response:
    return items.respond(
        ctx,
        lambda: items.experiment_json(ctx.store, e),
        lambda: items.document(items.experiment_node(e, "x"), xsd.root_element(e.xsi_type)),
    )


def _scan(ctx: Ctx, e: Experiment, s: Scan) -> Response:
    return items.respond(
        ctx,
        lambda: items.scan_json(e, s),
        lambda: items.document(items.scan_node(e, s, "x"), xsd.root_element(s.xsi_type)),
    )


@routes.route("/projects/<project>/subjects/<subject>", archive=True)
def get_project_subject(ctx: Ctx, project: str, subject: str) -> Response:
    p = access.project(ctx, project)
    return _subject(ctx, access.subject(ctx, p, subject))


@routes.route("/subjects/<subject>", archive=True)
def get_subject(ctx: Ctx, subject: str) -> Response:
    return _subject(ctx, access.subject_by_id(ctx, subject))


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>", archive=True)
def get_subject_experiment(ctx: Ctx, project: str, subject: str, experiment: str) -> Response:
    return _experiment(ctx, access.session_for_get(ctx, access.project(ctx, project), experiment))


@routes.route("/projects/<project>/experiments/<experiment>", archive=True)
def get_project_experiment(ctx: Ctx, project: str, experiment: str) -> Response:
    return _experiment(ctx, access.session_for_get(ctx, access.project(ctx, project), experiment))


@routes.route("/experiments/<experiment>", archive=True)
def get_experiment(ctx: Ctx, experiment: str) -> Response:
    return _experiment(ctx, access.experiment(ctx, None, experiment))


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>/scans/<scan>", archive=True)
def get_subject_scan(ctx: Ctx, project: str, subject: str, experiment: str, scan: str) -> Response:
    return _scan_at(ctx, access.project(ctx, project), experiment, scan)


@routes.route("/projects/<project>/experiments/<experiment>/scans/<scan>", archive=True)
def get_project_scan(ctx: Ctx, project: str, experiment: str, scan: str) -> Response:
    return _scan_at(ctx, access.project(ctx, project), experiment, scan)


@routes.route("/experiments/<experiment>/scans/<scan>", archive=True)
def get_scan(ctx: Ctx, experiment: str, scan: str) -> Response:
    return _scan_at(ctx, None, experiment, scan)


def _scan_at(ctx: Ctx, p: Project | None, experiment: str, scan: str) -> Response:
    e = access.scan_session(ctx, p, experiment)
    s = access.scan(e, scan)  # 404 "Unable to find the specified scan." without a session too
    assert e is not None
    return _scan(ctx, e, s)
