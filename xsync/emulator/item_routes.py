"""GET of single subjects, experiments and scans under every path XNAT serves them
(REST-CONTRACT.md §3), in `format=json|xml` (HTML otherwise)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator import access, items, xsd
from xsync.emulator.http import Ctx, RouteTable
from xsync.emulator.store import Experiment, Scan, Subject

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
    p = access.project(ctx, project)
    s = access.subject(ctx, p, subject)
    return _experiment(ctx, access.experiment(ctx, p, experiment, s))


@routes.route("/projects/<project>/experiments/<experiment>", archive=True)
def get_project_experiment(ctx: Ctx, project: str, experiment: str) -> Response:
    p = access.project(ctx, project)
    return _experiment(ctx, access.experiment(ctx, p, experiment))


@routes.route("/experiments/<experiment>", archive=True)
def get_experiment(ctx: Ctx, experiment: str) -> Response:
    return _experiment(ctx, access.experiment(ctx, None, experiment))


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>/scans/<scan>", archive=True)
def get_subject_scan(ctx: Ctx, project: str, subject: str, experiment: str, scan: str) -> Response:
    p = access.project(ctx, project)
    e = access.experiment(ctx, p, experiment, access.subject(ctx, p, subject))
    return _scan(ctx, e, access.scan(e, scan))


@routes.route("/projects/<project>/experiments/<experiment>/scans/<scan>", archive=True)
def get_project_scan(ctx: Ctx, project: str, experiment: str, scan: str) -> Response:
    e = access.experiment(ctx, access.project(ctx, project), experiment)
    return _scan(ctx, e, access.scan(e, scan))


@routes.route("/experiments/<experiment>/scans/<scan>", archive=True)
def get_scan(ctx: Ctx, experiment: str, scan: str) -> Response:
    e = access.experiment(ctx, None, experiment)
    return _scan(ctx, e, access.scan(e, scan))
