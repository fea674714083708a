"""Resources and files at project, subject, experiment and scan level (REST-CONTRACT.md §2.7,
§2.8, §4.4): listings, resource PUT/DELETE, file upload (raw body with `inbody=true` or a
non-form content type, or multipart), download, zip of a listing, DELETE.

Files live on disk under `<root>/archive/<project>/...` in XNAT's layout (`arc001/<session>/SCANS/
<scan>/<resource>/`). Uploading an existing name without `overwrite=true` leaves the file and
answers 200 with `{"duplicates": [...]}` as text/html, as XNAT 1.8 does. File URIs use the numeric
resource id and the level's canonical path (`/data/experiments/E/scans/1/resources/12/files/a.dcm`)
whichever path the listing was asked through [inferred for the long paths].
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from xsync.emulator import access
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty
from xsync.emulator.store import Experiment, FileEntry, Resource, Store
from xsync.emulator.table import Table, render

routes = RouteTable()
RESOURCE_COLUMNS = [
    "xnat_abstractresource_id",
    "label",
    "element_name",
    "category",
    "cat_id",
    "cat_desc",
    "file_count",
    "file_size",
    "tags",
    "content",
    "format",
]
FILE_COLUMNS = ["Name", "Size", "URI", "collection", "file_tags", "file_format", "file_content", "cat_ID", "digest"]


@dataclass
class Holder:
    """An object that has resources, seen from one request."""

    resources: dict[str, Resource]
    directory: Path  # where its resources' files go
    uri: str  # canonical /data path of the object
    category: str  # "resources" or "scans"
    cat_id: str = ""
    cat_desc: str = ""


def discard_files(store: Store, resources: Iterable[Resource]) -> None:
    """Delete the files of `resources` from disk; only files inside the archive tree, so shared
    blobs (seeded data) and anything outside the emulator's root are never touched."""
    archive = (store.root / "archive").resolve()
    for r in resources:
        for f in r.files.values():
            path = Path(f.path).resolve()
            if path.is_relative_to(archive):
                path.unlink(missing_ok=True)


# -- finding the holder --------------------------------------------------------------------------
Finder = Callable[[Ctx, dict[str, str], bool], Holder]


def _project_holder(ctx: Ctx, v: dict[str, str], write: bool) -> Holder:
    p = access.project(ctx, v["project"], write=write)
    return Holder(p.resources, ctx.store.root / "archive" / p.id / "resources", f"/data/projects/{p.id}", "resources")


def _subject_holder(ctx: Ctx, v: dict[str, str], write: bool) -> Holder:
    if "project" in v:
        s = access.subject(ctx, access.project(ctx, v["project"], write=write), v["subject"])
    else:
        s = access.subject_by_id(ctx, v["subject"])
        _check_write(ctx, s.project, write)
    directory = ctx.store.root / "archive" / s.project / "subjects" / s.label / "RESOURCES"
    return Holder(s.resources, directory, f"/data/subjects/{s.id}", "resources")


def _experiment(ctx: Ctx, v: dict[str, str], write: bool) -> Experiment:
    if "project" not in v:
        e = access.experiment(ctx, None, v["experiment"])
        _check_write(ctx, e.project, write)
        return e
    p = access.project(ctx, v["project"], write=write)
    s = access.subject(ctx, p, v["subject"]) if "subject" in v else None
    return access.experiment(ctx, p, v["experiment"], s)


def _check_write(ctx: Ctx, project: str, write: bool) -> None:
    p = ctx.store.projects.get(project)
    if write and p is not None and not access.can_read(ctx, p):
        raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")


def _session_dir(store: Store, e: Experiment) -> Path:
    return store.root / "archive" / e.project / "arc001" / e.label


def _experiment_holder(ctx: Ctx, v: dict[str, str], write: bool) -> Holder:
    e = _experiment(ctx, v, write)
    return Holder(e.resources, _session_dir(ctx.store, e) / "RESOURCES", f"/data/experiments/{e.id}", "resources")


def _scan_holder(ctx: Ctx, v: dict[str, str], write: bool) -> Holder:
    e = _experiment(ctx, v, write)
    sc = access.scan(e, v["scan"])
    return Holder(
        sc.resources,
        _session_dir(ctx.store, e) / "SCANS" / sc.id,
        f"/data/experiments/{e.id}/scans/{sc.id}",
        "scans",
        sc.id,
        sc.fields.get("type", ""),
    )


def _scan_holders(ctx: Ctx, v: dict[str, str], write: bool) -> list[Holder]:
    """The scans a read names, as XNATTemplate selects them: `ALL` or `*` for every scan, a
    comma-separated list, and each entry matching a scan ID or a scan type. Nothing matching a
    single entry is a 404, as for one scan."""
    e = _experiment(ctx, v, write)
    wanted = v["scan"]
    if wanted in ("ALL", "*"):
        scans = list(e.scans.values())
    else:
        entries = [w.strip() for w in wanted.split(",") if w.strip()]
        scans = [s for s in e.scans.values() if s.id in entries or s.fields.get("type", "") in entries]
        if not scans and "," not in wanted:
            scans = [access.scan(e, wanted)]
    return [_scan_holder(ctx, {**v, "scan": s.id}, write) for s in scans]


def _resource(holder: Holder, ref: str) -> Resource | None:
    r = holder.resources.get(ref)
    if r is None and ref.isdigit():
        r = next((x for x in holder.resources.values() if x.id == int(ref)), None)
    return r


def _require_resource(holder: Holder, ref: str) -> Resource:
    r = _resource(holder, ref)
    if r is None:
        raise XnatHTTPError(404, f"Unable to find resource {ref}.")
    return r


# -- listings ------------------------------------------------------------------------------------
def _resource_rows(holder: Holder) -> list[dict[str, str]]:
    return [
        {
            "xnat_abstractresource_id": str(r.id),
            "label": r.label,
            "element_name": "xnat:resourceCatalog",
            "category": holder.category,
            "cat_id": holder.cat_id,
            "cat_desc": holder.cat_desc,
            "file_count": str(len(r.files)),
            "file_size": str(sum(f.size for f in r.files.values())),
            "tags": r.tags,
            "content": r.content,
            "format": r.format,
        }
        for r in holder.resources.values()
    ]


def _file_rows(holder: Holder, chosen: Iterable[Resource]) -> list[dict[str, str]]:
    return [
        {
            "Name": f.name,
            "Size": str(f.size),
            "URI": f"{holder.uri}/resources/{r.id}/files/{f.name}",
            "collection": r.label,
            "file_tags": "",
            "file_format": r.format,
            "file_content": r.content,
            "cat_ID": str(r.id),
            "digest": f.md5,
        }
        for r in chosen
        for f in r.files.values()
    ]


def _files_response(ctx: Ctx, holders: list[Holder], chosen: list[list[Resource]]) -> Response:
    """The files of `chosen[i]`, resources of `holders[i]`."""
    if ctx.format == "zip":
        return _zip(ctx, [r for resources in chosen for r in resources])
    rows = [row for holder, resources in zip(holders, chosen, strict=True) for row in _file_rows(holder, resources)]
    lead: dict[str, object] = {"Columns": [{"key": "URI", "serverRoot": ctx.config.context_path}]}
    return render(ctx, Table(FILE_COLUMNS, rows, {"title": "Files"}, lead))


def _zip(ctx: Ctx, chosen: list[Resource]) -> Response:
    # The response owns the spool and closes it once sent.
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as zf:
        for r in chosen:
            for f in r.files.values():
                if Path(f.path).is_file():
                    zf.write(f.path, f"{r.label}/{f.name}")
    spool.seek(0)
    return Response(wrap_file(ctx.request.environ, spool), mimetype="application/zip", direct_passthrough=True)


# -- uploads -------------------------------------------------------------------------------------
def _safe_name(name: str) -> str:
    parts = PurePosixPath(name).parts
    if not parts or any(p in ("..", "/", "") for p in parts) or name.startswith("/"):
        raise XnatHTTPError(400, f"Invalid file name: {name}")
    return "/".join(parts)


def _payloads(ctx: Ctx, name: str | None) -> list[tuple[str, IO[bytes]]]:
    request = ctx.request
    if request.mimetype == "multipart/form-data":
        if ctx.flag("inbody"):
            raise XnatHTTPError(406, "In-body File posts must include the file directly as the body of the message.")
        parts = [f for f in request.files.values() if f.filename or name]
        if not parts:
            raise XnatHTTPError(400, "No content provided.")
        if name and len(parts) == 1:
            return [(name, parts[0].stream)]
        return [(_safe_name(f.filename or ""), f.stream) for f in parts]
    if not name:
        raise XnatHTTPError(400, "In-body uploads need a file name in the URL.")
    if not request.content_length:
        raise XnatHTTPError(400, "No content provided.")
    return [(name, request.stream)]


def _store_file(directory: Path, r: Resource, name: str, stream: IO[bytes]) -> FileEntry:
    target = directory / r.label / name
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5()
    tmp = target.with_name(f".{target.name}.part")
    with tmp.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
    tmp.replace(target)
    entry = FileEntry(name=name, path=target, size=target.stat().st_size, md5=digest.hexdigest())
    r.files[name] = entry
    return entry


def _upload(ctx: Ctx, holder: Holder, ref: str, name: str | None) -> Response:
    payloads = _payloads(ctx, _safe_name(name) if name else None)
    overwrite = ctx.flag("overwrite")
    extract = ctx.flag("extract")
    with ctx.store.lock:
        r = _resource(holder, ref) or _new_resource(ctx, holder, ref)
        duplicates: list[str] = []
        for file_name, stream in payloads:
            items = _extracted(stream) if extract and file_name.lower().endswith(".zip") else [(file_name, stream)]
            for item_name, item_stream in items:
                if item_name in r.files and not overwrite:
                    duplicates.append(item_name)
                    continue
                _store_file(holder.directory, r, item_name, item_stream)
    if duplicates:
        return Response(json.dumps({"duplicates": duplicates}), mimetype="text/html")
    return empty()


def _extracted(stream: IO[bytes]) -> list[tuple[str, IO[bytes]]]:
    data = io.BytesIO(stream.read())
    try:
        with zipfile.ZipFile(data) as zf:
            return [(_safe_name(i.filename), io.BytesIO(zf.read(i))) for i in zf.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as e:
        raise XnatHTTPError(400, f"Unable to extract the archive: {e}") from e


def _new_resource(ctx: Ctx, holder: Holder, label: str) -> Resource:
    if not label or "/" in label:
        raise XnatHTTPError(400, f"Invalid resource label: {label}")
    r = Resource(
        id=ctx.store.next_resource_pk(),
        label=label,
        format=ctx.param("format") or "",
        content=ctx.param("content") or "",
        tags=ctx.param("tags") or "",
    )
    holder.resources[label] = r
    return r


# -- routes --------------------------------------------------------------------------------------
def _register(
    prefix: str, finder: Finder, readers: Callable[[Ctx, dict[str, str], bool], list[Holder]] | None = None
) -> None:
    """Routes of one kind of holder. `readers` finds every holder a listing names (scans: `ALL`,
    lists, types); writes always name exactly one."""
    many = readers or (lambda ctx, v, write: [finder(ctx, v, write)])

    @routes.route(prefix + "/resources", archive=True)
    def list_resources(ctx: Ctx, **v: str) -> Response:
        holders = many(ctx, v, False)
        with ctx.store.lock:
            rows = [row for holder in holders for row in _resource_rows(holder)]
        return render(ctx, Table(RESOURCE_COLUMNS, rows, {"title": "Resources", "totalRecords": str(len(rows))}))

    @routes.route(prefix + "/resources/<resource>", ("PUT",), archive=True)
    def put_resource(ctx: Ctx, resource: str, **v: str) -> Response:
        holder = finder(ctx, v, True)
        with ctx.store.lock:
            if _resource(holder, resource) is not None:
                raise XnatHTTPError(409, "Specified resource already exists.")
            _new_resource(ctx, holder, resource)
        return empty()

    @routes.route(prefix + "/resources/<resource>", ("DELETE",), archive=True)
    def delete_resource(ctx: Ctx, resource: str, **v: str) -> Response:
        holder = finder(ctx, v, True)
        with ctx.store.lock:
            r = _require_resource(holder, resource)
            # The one resource named, found by label or by numeric id: XNAT deletes by
            # xnat_abstractresource_id, and two resources may share a label after racing PUTs.
            del holder.resources[next(key for key, x in holder.resources.items() if x is r)]
        if (ctx.param("removeFiles") or "true").lower() != "false":
            discard_files(ctx.store, [r])
        return empty()

    @routes.route(prefix + "/resources/<resource>", archive=True)
    @routes.route(prefix + "/resources/<resource>/files", archive=True)
    def list_files(ctx: Ctx, resource: str, **v: str) -> Response:
        holders = many(ctx, v, False)
        with ctx.store.lock:
            if len(holders) == 1:
                return _files_response(ctx, holders, [[_require_resource(holders[0], resource)]])
            return _files_response(ctx, holders, [[r] if (r := _resource(h, resource)) else [] for h in holders])

    @routes.route(prefix + "/files", archive=True)
    def list_all_files(ctx: Ctx, **v: str) -> Response:
        holders = many(ctx, v, False)
        with ctx.store.lock:
            return _files_response(ctx, holders, [list(h.resources.values()) for h in holders])

    @routes.route(prefix + "/resources/<resource>/files", ("POST", "PUT"), archive=True, raw_body=True)
    def post_files(ctx: Ctx, resource: str, **v: str) -> Response:
        return _upload(ctx, finder(ctx, v, True), resource, None)

    @routes.route(prefix + "/resources/<resource>/files/<path:name>", ("POST", "PUT"), archive=True, raw_body=True)
    def put_file(ctx: Ctx, resource: str, name: str, **v: str) -> Response:
        return _upload(ctx, finder(ctx, v, True), resource, name)

    @routes.route(prefix + "/resources/<resource>/files/<path:name>", archive=True)
    def get_file(ctx: Ctx, resource: str, name: str, **v: str) -> Response:
        holder = finder(ctx, v, False)
        with ctx.store.lock:
            entry = _require_resource(holder, resource).files.get(name)
        if entry is None or not Path(entry.path).is_file():
            raise XnatHTTPError(404, f"Unable to find file {name}.")
        handle = Path(entry.path).open("rb")  # noqa: SIM115 - closed by the WSGI server after sending
        return Response(
            wrap_file(ctx.request.environ, handle), mimetype="application/octet-stream", direct_passthrough=True
        )

    @routes.route(prefix + "/resources/<resource>/files/<path:name>", ("DELETE",), archive=True)
    def delete_file(ctx: Ctx, resource: str, name: str, **v: str) -> Response:
        holder = finder(ctx, v, True)
        with ctx.store.lock:
            r = _require_resource(holder, resource)
            entry = r.files.pop(name, None)
        if entry is None:
            raise XnatHTTPError(404, "No matched files")
        if (ctx.param("removeFiles") or "true").lower() != "false":
            discard_files(ctx.store, [Resource(id=0, label="", files={name: entry})])
        return empty()


_EXPERIMENT_PREFIXES = (
    "/projects/<project>/subjects/<subject>/experiments/<experiment>",
    "/projects/<project>/experiments/<experiment>",
    "/experiments/<experiment>",
)
_register("/projects/<project>", _project_holder)
_register("/projects/<project>/subjects/<subject>", _subject_holder)
_register("/subjects/<subject>", _subject_holder)
for _prefix in _EXPERIMENT_PREFIXES:
    _register(_prefix, _experiment_holder)
    _register(_prefix + "/scans/<scan>", _scan_holder, _scan_holders)
