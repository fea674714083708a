"""Prearchive REST (REST-CONTRACT.md §6): the listing (and the admins' refresh, PUT), one
session (row, document, zip, scans, resources, files), its actions, DELETE, and the batch
services. `/services/archive` is `archive_service.py`.

Listings carry the 19 columns in XNAT's order inside `{"ResultSet":{"Result":[...]}}` with no
totalRecords and no title. A session's default representation is its document (XML); the
document is 404 until the session is built (RECEIVING).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from werkzeug.wrappers import Response

from xsync.emulator import items, prearchive, xsd
from xsync.emulator.archive_service import archive_options
from xsync.emulator.archiver import archive
from xsync.emulator.builder import BuildError, BuiltScan, BuiltSession
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty
from xsync.emulator.prearchive_lookup import row_from_src, session_row, usable_project, visible
from xsync.emulator.store import Experiment, FileEntry, PrearchiveSession, Resource, Scan
from xsync.emulator.table import Table, render

routes = RouteTable()

NOT_BUILT = "The session document is not available for this prearchive session yet."


# -- listing ---------------------------------------------------------------------------------
def _listing(ctx: Ctx, rows: list[PrearchiveSession]) -> Response:
    tag = ctx.param("tag")
    if tag is not None and ctx.is_admin:
        rows = [r for r in rows if r.tag == tag]
    return render(ctx, Table(list(prearchive.COLUMNS), [prearchive.row_values(r) for r in rows]))


@routes.route("/prearchive", ("PUT",))
@routes.route("/prearchive/projects", ("PUT",))
@routes.route("/prearchive/projects/<projects>", ("PUT",))
def refresh(ctx: Ctx, projects: str = "") -> Response:
    """XNAT rescans the prearchive folders (PrearcDatabase.refresh); the emulator's rows always
    match its folders, so there is nothing to redo. Admins only, as in XNAT."""
    if not ctx.is_admin:
        raise XnatHTTPError(403, "Only site or data administrators can request a rebuild of the prearchive.")
    return empty()


@routes.route("/prearchive")
@routes.route("/prearchive/projects")
def list_all(ctx: Ctx) -> Response:
    with ctx.store.lock:
        return _listing(ctx, [r for r in ctx.store.prearchive if visible(ctx, r.project)])


@routes.route("/prearchive/projects/<projects>")
def list_projects(ctx: Ctx, projects: str) -> Response:
    wanted = set()
    for ref in projects.split(","):
        if ref == prearchive.UNASSIGNED:
            if not ctx.is_admin:
                raise XnatHTTPError(403, "Invalid permissions for the Unassigned prearchive.")
            wanted.add(ref)
        else:
            wanted.add(usable_project(ctx, ref).id)
    with ctx.store.lock:
        return _listing(ctx, [r for r in ctx.store.prearchive if r.project in wanted])


# -- one session -----------------------------------------------------------------------------
def _document(row: PrearchiveSession, built: BuiltSession) -> str:
    """The prearchive session XML: the built session with the row's constants."""
    data_type = xsd.get(built.xsi_type)
    element = data_type.element if data_type is not None and data_type.element else "OtherDicomSession"
    return items.document(items.experiment_node(_as_experiment(row, built), element), element)


def _as_experiment(row: PrearchiveSession, built: BuiltSession) -> Experiment:
    """A transient experiment (no accession ID) for rendering: subject_ID is the label."""
    e = Experiment(id="", project=row.project, subject_id=row.subject, label=row.name, xsi_type=built.xsi_type)
    e.fields.update(built.fields)
    e.custom.update(built.custom)
    for scan in built.scans:
        s = Scan(id=scan.id, xsi_type=scan.xsi_type, pk=0, fields=dict(scan.fields))
        s.resources["DICOM"] = _resource(scan)
        e.scans[scan.id] = s
    return e


def _resource(scan: BuiltScan) -> Resource:
    files = {
        f.name: FileEntry(f.name, f.path, f.size, f.sop_instance_uid, f.sop_class_uid, f.instance_number)
        for f in scan.files
    }
    return Resource(id=0, label="DICOM", format="DICOM", content="RAW", files=files)


def _built(ctx: Ctx, row: PrearchiveSession) -> BuiltSession:
    if row.status == prearchive.RECEIVING:
        raise XnatHTTPError(404, NOT_BUILT)
    try:
        return prearchive.ensure_built(ctx.store, row)
    except BuildError:
        raise XnatHTTPError(404, NOT_BUILT) from None


def _zip(ctx: Ctx, row: PrearchiveSession) -> Response:
    buf = io.BytesIO()
    with ctx.store.lock, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        base = prearchive.session_dir(ctx.store, row).parent
        for f in row.files:
            zf.write(f.path, str(f.path.relative_to(base)))
    return Response(buf.getvalue(), mimetype="application/zip")


@routes.route("/prearchive/projects/<project>/<timestamp>/<folder>", ("GET", "POST", "DELETE"))
def session(ctx: Ctx, project: str, timestamp: str, folder: str) -> Response:
    row = session_row(ctx, project, timestamp, folder)
    if ctx.request.method == "DELETE":
        prearchive.delete(ctx.store, row)
        return Response(b"", status=200)
    if ctx.request.method == "POST":
        return _action(ctx, row)
    fmt = ctx.format
    if fmt == "json":
        with ctx.store.lock:
            return render(ctx, Table(list(prearchive.COLUMNS), [prearchive.row_values(row)]))
    if fmt == "zip":
        return _zip(ctx, row)
    with ctx.store.lock:
        return Response(_document(row, _built(ctx, row)), mimetype="text/xml")


def _uri(row: PrearchiveSession, status: int = 200) -> Response:
    return Response(f"/data{row.url}\r\n", status=status, mimetype="text/uri-list")


def _action(ctx: Ctx, row: PrearchiveSession) -> Response:
    action = ctx.param("action") or ""
    handler = _ACTIONS.get(action)
    if handler is None:
        raise XnatHTTPError(400, f"Unsupported action: {action}" if action else "Missing action parameter.")
    return handler(ctx, row)


def _build(ctx: Ctx, row: PrearchiveSession) -> Response:
    prearchive.try_build(ctx.store, row)  # a failure shows as ERROR; the answer is the URI either way
    return _uri(row)


def _commit(ctx: Ctx, row: PrearchiveSession) -> Response:
    """Build now; archive when the session, the request (`AA`/`auto-archive`) or the project
    says so, answering 301 with the archive URI in the body (no Location), else 200."""
    _build(ctx, row)
    project = ctx.store.projects.get(row.project)
    auto = (
        row.autoarchive in (prearchive.AUTO_ARCHIVE, prearchive.AUTO_ARCHIVE_OVERWRITE)
        or ctx.flag("AA")
        or ctx.flag("auto-archive")
        or (project is not None and project.prearchive_code >= 4)
    )
    if not auto or row.status != prearchive.READY:
        return _uri(row)
    uri = archive(ctx.store, row, archive_options(ctx, row, service=False))
    return Response(uri + "\r\n", status=301, mimetype="text/uri-list")


def _move(ctx: Ctx, row: PrearchiveSession) -> Response:
    target = ctx.param("newProject")
    if not target:
        raise XnatHTTPError(400, "Missing newProject parameter.")
    prearchive.move(ctx.store, row, usable_project(ctx, target))
    return _uri(row, 301)


def _set_status(ctx: Ctx, row: PrearchiveSession) -> Response:
    status = ctx.param("status") or ""
    if status not in prearchive.STATUSES:
        raise XnatHTTPError(400, f"Invalid status: {status}")
    prearchive.set_status(ctx.store, row, status)
    return _uri(row)


def _reset_status(ctx: Ctx, row: PrearchiveSession) -> Response:
    """Unstick a row: it is rebuilt and shows READY (or ERROR when it does not build)."""
    return _build(ctx, row)


_ACTIONS: dict[str, Callable[[Ctx, PrearchiveSession], Response]] = {
    "build": _build,
    "commit": _commit,
    "move": _move,
    "set-status": _set_status,
    "reset-status": _reset_status,
}


# -- scans, resources, files -----------------------------------------------------------------
def _scan(ctx: Ctx, row: PrearchiveSession, scan_id: str) -> BuiltScan:
    for s in _built(ctx, row).scans:
        if s.id == scan_id:
            return s
    raise XnatHTTPError(404, f"Unable to find scan {scan_id}.")


@routes.route("/prearchive/projects/<project>/<timestamp>/<folder>/scans")
def scans(ctx: Ctx, project: str, timestamp: str, folder: str) -> Response:
    row = session_row(ctx, project, timestamp, folder)
    with ctx.store.lock:
        rows = [
            {"ID": s.id, "xsiType": s.xsi_type, "series_description": s.fields.get("series_description", "")}
            for s in _built(ctx, row).scans
        ]
    return render(ctx, Table(["ID", "xsiType", "series_description"], rows))


@routes.route("/prearchive/projects/<project>/<timestamp>/<folder>/scans/<scan>/resources")
def scan_resources(ctx: Ctx, project: str, timestamp: str, folder: str, scan: str) -> Response:
    row = session_row(ctx, project, timestamp, folder)
    with ctx.store.lock:
        s = _scan(ctx, row, scan)
        cells = {"label": "DICOM", "format": "DICOM", "content": "RAW", "file_count": str(len(s.files))}
        cells["file_size"] = str(sum(f.size for f in s.files))
    return render(ctx, Table(list(cells), [cells]))


@routes.route("/prearchive/projects/<project>/<timestamp>/<folder>/scans/<scan>/resources/<resource>/files")
def scan_files(ctx: Ctx, project: str, timestamp: str, folder: str, scan: str, resource: str) -> Response:
    row = session_row(ctx, project, timestamp, folder)
    with ctx.store.lock:
        s = _scan(ctx, row, scan)
        if resource != "DICOM":
            raise XnatHTTPError(404, f"Unable to find resource {resource}.")
        base = f"/data{row.url}/scans/{scan}/resources/DICOM/files"
        rows = [{"Name": f.name, "Size": str(f.size), "URI": f"{base}/{f.name}"} for f in s.files]
    return render(ctx, Table(["Name", "Size", "URI"], rows))


@routes.route("/prearchive/projects/<project>/<timestamp>/<folder>/scans/<scan>/resources/<resource>/files/<name>")
def scan_file(ctx: Ctx, project: str, timestamp: str, folder: str, scan: str, resource: str, name: str) -> Response:
    row = session_row(ctx, project, timestamp, folder)
    with ctx.store.lock:
        s = _scan(ctx, row, scan)
        found = next((f for f in s.files if f.name == name), None) if resource == "DICOM" else None
        if found is None:
            raise XnatHTTPError(404, f"Unable to find file {name}.")
        data = found.path.read_bytes()
    return Response(data, mimetype="application/dicom")


# -- batch services ----------------------------------------------------------------------
def _batch(ctx: Ctx, operation: Callable[[PrearchiveSession], object], status: str) -> Response:
    rows = [row_from_src(ctx, s) for s in ctx.params.getlist("src")]
    if not rows:
        raise XnatHTTPError(400, "Missing src parameter.")
    snapshot = [dict(prearchive.row_values(r), status=status) for r in rows]
    for row in rows:
        operation(row)
    if not ctx.format:
        ctx.params["format"] = "xml"  # the batch services' default representation
    return render(ctx, Table(list(prearchive.COLUMNS), snapshot))


@routes.route("/services/prearchive/move", ("POST",))
def move_service(ctx: Ctx) -> Response:
    target = ctx.param("newProject")
    if not target:
        raise XnatHTTPError(400, "Missing newProject parameter.")
    project = usable_project(ctx, target)
    return _batch(ctx, lambda row: prearchive.move(ctx.store, row, project), "QUEUED_MOVING")


@routes.route("/services/prearchive/delete", ("POST",))
def delete_service(ctx: Ctx) -> Response:
    return _batch(ctx, lambda row: prearchive.delete(ctx.store, row), "QUEUED_DELETING")


@routes.route("/services/prearchive/rebuild", ("POST",))
def rebuild_service(ctx: Ctx) -> Response:
    return _batch(ctx, lambda row: prearchive.try_build(ctx.store, row), "QUEUED_BUILDING")
