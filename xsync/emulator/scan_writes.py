"""Creating, updating and deleting scans (REST-CONTRACT.md §4.4, §4.5) under the three paths
to a session: `/projects/P/subjects/S/experiments/E/scans/N`, `/projects/P/experiments/E/...`
and `/experiments/ID/...`.

  PUT      200 "" on create and update alike (no ID in the body); 409 when the xsiType differs
           from the stored one (a bare xnat:imageScanData may be retyped); 400 for
           xnat:imageScanData itself or a type that is not a scan type, new scan or existing;
           417 "Need PUT Contents" for a new scan without a type [inferred, like experiments];
           417 "Specified scan must reference a valid image session." under a non-image session
  POST     to the list: 200 + Location + absolute URL; 409 when it exists
  DELETE   200 ""; 404 when missing; `removeFiles=true` removes the files from disk

Scans are built from the parameters only and matched on ID within the session.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator import access, params, resources, shortcuts, xsd
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty
from xsync.emulator.store import Experiment, Scan, now_timestamp
from xsync.emulator.writes import Outcome, apply_changes, created_from_list, request_pairs

routes = RouteTable()
SESSION_ROOT = "xnat:imageSessionData"
SCAN_ROOT = "xnat:imageScanData"


def save_scan(ctx: Ctx, e: Experiment, scan_id: str, *, must_be_new: bool = False) -> Outcome:
    if not xsd.is_a(e.xsi_type, SESSION_ROOT):
        raise XnatHTTPError(417, "Specified scan must reference a valid image session.")
    doc_type, pairs = request_pairs(ctx)
    with ctx.store.lock:
        existing = e.scans.get(scan_id)
        if must_be_new and existing is not None:
            raise XnatHTTPError(409, "Specified scan already exists.")
        hint = params.type_hint(pairs) or doc_type
        if hint:
            scan_type = xsd.canonical(hint) or ""
            if scan_type == SCAN_ROOT:
                raise XnatHTTPError(
                    400,
                    "Multiple scan modalities can be associated here. Please retry with a specific scan type, "
                    "e.g. ?xsiType=xnat:mrScanData",
                )
            if not xsd.is_a(scan_type, SCAN_ROOT):  # new or existing scan alike (REST-CONTRACT.md §4.4)
                raise XnatHTTPError(400, f"Invalid xsiType for a scan: {hint}")
            if existing is not None and existing.xsi_type not in (scan_type, SCAN_ROOT):
                raise XnatHTTPError(409, "Specified xsiType differs from existing xsiType")
        elif existing is not None:
            scan_type = existing.xsi_type
        else:
            raise XnatHTTPError(417, "Need PUT Contents")
        changes = params.collect(scan_type, shortcuts.SCAN, pairs)
        new_id = changes.identity.get("id")
        if new_id and new_id != scan_id:
            raise XnatHTTPError(400, "ID cannot be modified")
        if existing is None:
            if not scan_id.strip():
                raise XnatHTTPError(400, "A scan needs an ID.")
            existing = Scan(id=scan_id, xsi_type=scan_type, pk=ctx.store.next_scan_pk(), insert_user=ctx.user)
            existing.insert_date = now_timestamp()
            e.scans[scan_id] = existing
            created = True
        else:
            existing.xsi_type = scan_type
            created = False
        apply_changes(existing.fields, existing.custom, changes)
        return Outcome(scan_id, created=created)


def _scan_session(ctx: Ctx, project: str | None, subject: str | None, experiment: str) -> Experiment:
    if project is None:
        e = ctx.store.experiment(None, experiment)
        if e is None:
            raise XnatHTTPError(404, "Specified image session doesn't exist.")
        owner = ctx.store.projects.get(e.project)
        if owner is not None and not access.can_read(ctx, owner):
            raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
        return e
    p = access.project(ctx, project, write=True)
    s = access.subject(ctx, p, subject) if subject else None
    e = ctx.store.experiment(p.id, experiment)
    if e is None or (s is not None and e.subject_id != s.id):
        raise XnatHTTPError(404, "Specified image session doesn't exist.")
    return e


def _scan_routes(prefix: str, project: bool, subject: bool) -> None:
    def session(ctx: Ctx, values: dict[str, str]) -> Experiment:
        return _scan_session(
            ctx,
            values.get("project") if project else None,
            values.get("subject") if subject else None,
            values["experiment"],
        )

    @routes.route(prefix + "/scans/<scan>", ("PUT",), archive=True)
    def put_scan(ctx: Ctx, scan: str, **values: str) -> Response:
        save_scan(ctx, session(ctx, values), scan)
        return empty()

    @routes.route(prefix + "/scans", ("POST",), archive=True)
    def post_scan(ctx: Ctx, **values: str) -> Response:
        e = session(ctx, values)
        _, pairs = request_pairs(ctx)
        scan_id = next((v for k, v in pairs if k == "ID" or k.lower().endswith("scandata/id")), "")
        if not scan_id:
            raise XnatHTTPError(400, "Submitted scan record must include an ID.")
        return created_from_list(ctx, save_scan(ctx, e, scan_id, must_be_new=True))

    @routes.route(prefix + "/scans/<scan>", ("DELETE",), archive=True)
    def delete_scan(ctx: Ctx, scan: str, **values: str) -> Response:
        e = session(ctx, values)
        with ctx.store.lock:
            removed = e.scans.pop(scan, None)
        if removed is None:
            raise XnatHTTPError(404, f"Unable to find scan {scan}.")
        if ctx.flag("removeFiles"):
            resources.discard_files(ctx.store, removed.resources.values())
        return empty()


_scan_routes("/projects/<project>/subjects/<subject>/experiments/<experiment>", project=True, subject=True)
_scan_routes("/projects/<project>/experiments/<experiment>", project=True, subject=False)
_scan_routes("/experiments/<experiment>", project=False, subject=False)
