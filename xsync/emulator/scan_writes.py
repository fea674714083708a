"""Creating, updating and deleting scans (REST-CONTRACT.md §4.4, §4.5) under the three paths
to a session: `/projects/P/subjects/S/experiments/E/scans/N`, `/projects/P/experiments/E/...`
and `/experiments/ID/...`, as ScanResource (web/.../restlet/resources/ScanResource.java) does.

  PUT      200 "" on create and update alike (no ID in the body); 409 when `xsiType=` differs
           from the stored type (a bare xnat:imageScanData may be retyped); another type's
           parameter on an existing scan (`xnat:ctScanData/note` on an MR scan) is ignored,
           200 (XNAT-7015); 400 for xnat:imageScanData itself, a type that is no scan, or an
           unknown type, with XNAT's texts; 417 "Need PUT Contents" for a new scan without a
           type; 417 "Specified scan must reference a valid image session." when the path names
           no session or a non-image session
  POST     to the list: 200 + Location + absolute URL; 409 when it exists
  DELETE   200 ""; 404 "Unable to find the specified scan."; `removeFiles=true` removes the
           files from disk

The session is found by accession ID, else by label in the path's project; a subject in the
path is not read (ScanResource's constructor never looks at it), so a session is found under
any subject's path. Scans are built from the parameters only and matched on ID within the
session.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator import access, drops, params, resources, shortcuts, xsd
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty
from xsync.emulator.store import Experiment, Scan, now_timestamp
from xsync.emulator.writes import Outcome, apply_changes, created_from_list, record_change, request_pairs

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
        # XNAT-7015: the parameters of an existing scan are read with its own type unless
        # `xsiType=` says otherwise, so another type's key (`xnat:ctScanData/note` on an MR
        # scan) does not name the type; it is ignored like any foreign key (ScanResource.handlePut
        # passes the existing type to loadItem).
        hint = (
            (params.declared_type(pairs) or doc_type) if existing is not None else params.type_hint(pairs) or doc_type
        )
        if hint:
            scan_type = _scan_type(hint)
            if existing is not None and existing.xsi_type not in (scan_type, SCAN_ROOT):
                raise XnatHTTPError(409, "Specified xsiType differs from existing xsiType")
        elif existing is not None:
            scan_type = existing.xsi_type
        else:
            raise XnatHTTPError(417, "Need PUT Contents")
        changes = params.collect(scan_type, shortcuts.SCAN, pairs, drops.predicate(ctx))
        new_id = changes.identity.get("id")
        if new_id and new_id != scan_id:
            raise XnatHTTPError(400, "ID cannot be modified")
        if existing is None:
            if not scan_id.strip():
                raise XnatHTTPError(400, "A scan needs an ID.")
            existing = Scan(id=scan_id, xsi_type=scan_type, pk=ctx.store.next_scan_pk(), insert_user=ctx.user)
            existing.insert_date = now_timestamp()
            e.scans[scan_id] = existing
            apply_changes(existing.fields, existing.custom, changes)
            existing.event_id = ctx.store.next_event_id()
            return Outcome(scan_id, created=True)
        retyped = existing.xsi_type != scan_type
        existing.xsi_type = scan_type
        if apply_changes(existing.fields, existing.custom, changes) or retyped:
            record_change(ctx.store, existing)
        return Outcome(scan_id, created=False)


def _scan_type(hint: str) -> str:
    """The scan type `hint` names, with ScanResource's refusals: an unknown type is loadItem's
    ElementNotFoundException (a 400 carrying the exception's text), the bare imageScanData and
    a type that is no scan are 400s of their own."""
    scan_type = xsd.canonical(hint)
    if scan_type is None:
        raise XnatHTTPError(400, f"org.nrg.xft.exception.ElementNotFoundException: Element not found: '{hint}'")
    if scan_type == SCAN_ROOT:
        raise XnatHTTPError(
            400,
            "Multiple scan modalities can be associated here.  Please retry with the specification of a "
            "particular modality (i.e. ?xsiType=xnat:mrScanData).",
        )
    if not xsd.is_a(scan_type, SCAN_ROOT):  # new or existing scan alike (REST-CONTRACT.md §4.4)
        raise XnatHTTPError(
            400, f"Only Scan documents can be PUT to this address. Expected: xnat:imageScanData Received: {scan_type}"
        )
    return scan_type


def _scan_session(ctx: Ctx, project: str | None, experiment: str) -> Experiment | None:
    """The session as ScanResource finds it: by accession ID (in the path's project, if any), else
    by label in that project. A subject in the path is never read. A session the user cannot
    write is a 403 (REST-CONTRACT.md §1.3)."""
    if project is None:
        e = ctx.store.experiment(None, experiment)
    else:
        p = access.project(ctx, project, write=True)
        e = ctx.store.experiment(p.id, experiment)
    owner = ctx.store.projects.get(e.project) if e is not None else None
    if owner is not None and not access.can_read(ctx, owner):
        raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
    return e


def _scan_routes(prefix: str, project: bool, subject: bool) -> None:
    def session(ctx: Ctx, values: dict[str, str]) -> Experiment | None:
        return _scan_session(ctx, values.get("project") if project else None, values["experiment"])

    @routes.route(prefix + "/scans/<scan>", ("PUT",), archive=True)
    def put_scan(ctx: Ctx, scan: str, **values: str) -> Response:
        e = session(ctx, values)
        if e is None:  # no session, so the scan names none (ScanResource.handlePut)
            raise XnatHTTPError(417, "Specified scan must reference a valid image session.")
        save_scan(ctx, e, scan)
        return empty()

    @routes.route(prefix + "/scans", ("POST",), archive=True)
    def post_scan(ctx: Ctx, **values: str) -> Response:
        # ScanList: its constructor 404s without the subject (when the path has one) or session.
        if subject:
            access.subject(ctx, access.project(ctx, values["project"], write=True), values["subject"])
        e = session(ctx, values)
        if e is None:
            raise XnatHTTPError(404, "Specified image session doesn't exist.")
        _, pairs = request_pairs(ctx)
        scan_id = next((v for k, v in pairs if k == "ID" or k.lower().endswith("scandata/id")), "")
        if not scan_id:
            raise XnatHTTPError(400, "Submitted scan record must include an ID.")
        return created_from_list(ctx, save_scan(ctx, e, scan_id, must_be_new=True))

    @routes.route(prefix + "/scans/<scan>", ("DELETE",), archive=True)
    def delete_scan(ctx: Ctx, scan: str, **values: str) -> Response:
        e = session(ctx, values)
        with ctx.store.lock:
            removed = e.scans.pop(scan, None) if e is not None else None
        if removed is None:
            raise XnatHTTPError(404, "Unable to find the specified scan.")
        if ctx.flag("removeFiles"):
            resources.discard_files(ctx.store, removed.resources.values())
        return empty()


_scan_routes("/projects/<project>/subjects/<subject>/experiments/<experiment>", project=True, subject=True)
_scan_routes("/projects/<project>/experiments/<experiment>", project=True, subject=False)
_scan_routes("/experiments/<experiment>", project=False, subject=False)
