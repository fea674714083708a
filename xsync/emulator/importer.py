"""`POST /data/services/import` (REST-CONTRACT.md §5, DICOM-IMPORT.md §4) with the handlers
`gradual-DICOM` (one object), `DICOM-zip` (a zip/tar/tgz, each entry through gradual-DICOM) and
`SI` (emulated on DICOM-zip's path with the legacy session importer's differences).

The emulated version is 1.8.10+: the default handler is DICOM-zip (a `Content-Type:
application/dicom` body defaults to gradual-DICOM); DICOM-zip maps `project`/`subject`/`session`
and every part of `dest`, builds at once when `dest` or `action=commit` is given, and archives
synchronously for an `/archive/...` dest.

`Direct-Archive=true` (1.8.3+) sends each object (gradual-DICOM, and DICOM-zip entry by entry;
never SI) into a direct-to-archive session instead of the prearchive when a project is
identified (`direct_archive.py`); the answer then lists `/xapi/direct-archive/...` URIs.

Partial imports: DICOM-zip imports each entry as soon as it has been read from the connection
(`archive_entries.py`). A bad entry, an archive that cannot be read on, or a connection dropped
mid-body stops the upload with its 400; the entries before it stay in the prearchive, and the
sessions they went to are marked ERROR (as the newest XNAT does), so the idle rebuilder never
archives part of a study; sending the study again reopens them.
Choice: an entry whose bytes fail to read (a wrong CRC, the connection dropped inside it)
leaves no file; XNAT's gradual importer has by then written what it read of it.
Choice (the safe reading): with an archive `dest`, nothing is archived when any entry fails.
Choice: a refused archive answers 409 with the archiver's message for conflicts (the contract's
"409 for archive conflicts"); DICOM-IMPORT.md reads XNAT's code as a 400 "unable to archive
for the Prearchive session".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.wrappers import Response

from xsync.emulator import direct_archive, prearchive
from xsync.emulator.archive_entries import entries
from xsync.emulator.archiver import ArchiveOptions, archive, overwrite_flags
from xsync.emulator.builder import BuildError
from xsync.emulator.direct_archive import DirectArchiveSession
from xsync.emulator.headers import receive_object
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError
from xsync.emulator.store import PrearchiveSession
from xsync.emulator.uploads import DICOM_TYPES, Upload, request_upload

routes = RouteTable()

GRADUAL, DICOM_ZIP, SI = "gradual-DICOM", "DICOM-zip", "SI"
_NOT_EMULATED = ("XAR", "inbox", "automation")
BAD_DEST = "Parameter dest format error"

_PREARC_DEST = re.compile(r"^/prearchive(?:/projects/([^/]+)(?:/([^/]+)(?:/([^/]+))?)?)?/?$")
_ARCHIVE_DEST = re.compile(r"^/archive/projects/([^/]+)(?:/subjects/([^/]+)(?:/experiments/([^/]+))?)?/?$")


@dataclass(frozen=True)
class Dest:
    archive: bool  # /archive/... (else /prearchive/...)
    project: str | None
    subject: str | None = None  # archive: SUBJECT_ID
    experiment: str | None = None  # archive: EXPT_ID (an ID or a label)
    timestamp: str | None = None  # prearchive: PREARC_TIMESTAMP
    folder: str | None = None  # prearchive: PREARC_SESSION_FOLDER


def parse_dest(value: str) -> Dest:
    """`/prearchive[/projects/P[/TS[/FOLDER]]]` or `/archive/projects/P[/subjects/S[/experiments/E]]`,
    with an optional `/data` or `/REST` prefix; anything else is a 400."""
    path = re.sub(r"^/(?:data|REST)(?=/)", "", value.strip())
    if m := _PREARC_DEST.match(path):
        return Dest(False, m.group(1), timestamp=m.group(2), folder=m.group(3))
    if m := _ARCHIVE_DEST.match(path):
        return Dest(True, m.group(1), subject=m.group(2), experiment=m.group(3))
    raise XnatHTTPError(400, BAD_DEST)


def _handler(ctx: Ctx) -> str:
    name = ctx.param("import-handler")
    if name is None:
        return GRADUAL if ctx.request.mimetype in DICOM_TYPES else DICOM_ZIP
    for known in (GRADUAL, DICOM_ZIP, SI):
        if name.lower() == known.lower():
            return known
    # XAR, inbox and automation exist in XNAT but are not emulated; they answer as unknown.
    raise XnatHTTPError(404, f"Unknown importer implementation specified: {name}")


def _params(ctx: Ctx, handler: str, dest: Dest | None) -> dict[str, str]:
    """The importer parameters the gradual importer sees, per handler (DICOM-IMPORT.md §1.6)."""
    params = {k: v for k, v in ctx.params.items()}
    if dest is None:
        return params
    if handler == GRADUAL:  # gradual-DICOM takes only the project from dest
        if dest.project:
            params.setdefault("PROJECT_ID", dest.project)
        return params
    if dest.project:
        params["PROJECT_ID"] = dest.project
    if dest.timestamp:
        params["PREARC_TIMESTAMP"] = dest.timestamp
    if dest.folder:
        params["PREARC_SESSION_FOLDER"] = dest.folder
    if dest.subject:
        params["SUBJECT_ID"] = dest.subject
    if dest.experiment:
        p = ctx.store.project(dest.project or "")
        existing = ctx.store.experiment(p.id, dest.experiment) if p else None
        params["EXPT_LABEL"] = existing.label if existing else dest.experiment
    return params


def _map_lowercase(params: dict[str, str]) -> None:
    """DICOM-zip (1.8.10+) and SI take `project`, `subject`, `session` too; they win."""
    for lower, upper in (("project", "PROJECT_ID"), ("subject", "SUBJECT_ID"), ("session", "EXPT_LABEL")):
        if lower in params:
            params[upper] = params[lower]


def _uri_list(uris: Iterable[str], ctx: Ctx) -> Response:
    listed = list(dict.fromkeys(uris))
    if ctx.format in ("txt", "text", "plain"):
        return Response(listed[0] if listed else "", mimetype="text/plain")
    return Response("".join(u + "\r\n" for u in listed), mimetype="text/uri-list")


@routes.route("/services/import", ("POST",), raw_body=True)
def import_service(ctx: Ctx) -> Response:
    try:
        return _import(ctx)
    finally:
        ctx.request.close()  # the multipart parser's spooled files


def _import(ctx: Ctx) -> Response:
    handler = _handler(ctx)
    dest_text = ctx.param("dest")
    dest = parse_dest(dest_text) if dest_text else None
    upload = request_upload(ctx)
    if upload is None:
        if ctx.config.strict and ctx.param("import-handler") is None:
            # Importer hands its first file to the default importer: there is none (XNAT 1.8).
            raise XnatHTTPError(500, "Internal Server Error")
        raise XnatHTTPError(400, "Unable to identify upload format.")
    params = _params(ctx, handler, dest)
    if handler == GRADUAL:
        return _uri_list([_import_gradual(ctx, upload, params)], ctx)
    _map_lowercase(params)
    return _uri_list(_import_archive(ctx, upload, params, dest, si=handler == SI), ctx)


def _receive(
    ctx: Ctx, data: bytes, name: str, params: dict[str, str], *, direct: bool = True
) -> PrearchiveSession | DirectArchiveSession:
    """One object through gradual-DICOM: into its direct-archive session when `Direct-Archive`
    asks for one and one can take it (`direct_archive.py`), else into the prearchive."""
    obj = receive_object(data, name, params.get("Transfer-Syntax-UID"), params.get("Sender-AE-Title"))
    if direct and direct_archive.requested(params):
        session = direct_archive.receive(ctx.store, ctx.config, ctx.user, obj, params)
        if session is not None:
            return session
    return prearchive.receive(ctx.store, ctx.config, ctx.user, obj, params)


def _uri(received: PrearchiveSession | DirectArchiveSession) -> str:
    return received.uri if isinstance(received, DirectArchiveSession) else "/data" + received.url


def _import_gradual(ctx: Ctx, upload: Upload, params: dict[str, str]) -> str:
    try:
        data = upload.read()
    except OSError:  # the connection dropped: DicomInputStream fails inside the gradual importer
        raise XnatHTTPError(400, f"unable to read DICOM object {upload.name}") from None
    return _uri(_receive(ctx, data, upload.name, params))


def _import_archive(ctx: Ctx, upload: Upload, params: dict[str, str], dest: Dest | None, *, si: bool) -> list[str]:
    if si:
        params.pop("rename", None)  # the session importer keeps the files' own names
    ignore = (params.get("Ignore-Unparsable") or "").lower() == "true" or ctx.param("action") == "commit"
    touched: dict[str, PrearchiveSession] = {}
    uris: dict[str, None] = {}  # every session's URI, in the order first met
    skipped: XnatHTTPError | None = None
    try:
        for entry in entries(upload.name, upload.body, sniff=not ctx.config.strict):
            try:
                if entry.failure is not None:
                    raise entry.failure
                # SI never archives directly
                received = _receive(ctx, entry.data, entry.file_name, params, direct=not si)
            except XnatHTTPError as e:
                if ignore and e.status == 400:
                    skipped = e
                    continue
                raise
            uris.setdefault(_uri(received))
            if isinstance(received, PrearchiveSession):
                touched[received.url] = received
    except XnatHTTPError:
        _mark_failed(ctx, touched.values())
        raise
    if not uris:
        if skipped is not None:
            raise skipped
        if si:
            raise XnatHTTPError(400, "Upload did not include parsable files for session generation.")
        return []
    rows = list(touched.values())
    if si:
        return _finish_si(ctx, rows, params, dest)
    if dest is None and ctx.param("action") != "commit":
        return list(uris)  # RECEIVING; the idle rebuilder (or the direct-archive trigger) takes over
    if len(rows) < len(uris):
        # DicomZipImporter.xmlBuild looks every URI up as a prearchive session: a direct-archive
        # one is not, and the commit fails. Choice: before anything is built, not at that URI.
        raise XnatHTTPError(400, "unable to archive for the Prearchive session")
    _build_all(ctx, rows)
    # A dest decides alone (DICOM-zip sets AA from it); without one, AA/auto-archive do.
    auto = dest.archive if dest is not None else _flag(params, "AA") or _flag(params, "auto-archive")
    if auto:
        return [_archive_row(ctx, r, params) for r in rows]
    return ["/data" + r.url for r in rows]


def _flag(params: dict[str, str], name: str) -> bool:
    return (params.get(name) or "").lower() == "true"


def _mark_failed(ctx: Ctx, rows: Iterable[PrearchiveSession]) -> None:
    for row in rows:
        prearchive.set_status(ctx.store, row, prearchive.ERROR)


def _build_all(ctx: Ctx, rows: list[PrearchiveSession]) -> None:
    for row in rows:
        try:
            prearchive.build(ctx.store, row)
        except BuildError as e:
            raise XnatHTTPError(400, f"unable to build the prearchive session {row.url}: {e}") from e


def _archive_row(ctx: Ctx, row: PrearchiveSession, params: dict[str, str]) -> str:
    """Archive as DICOM-zip's xmlBuild does: merge when `overwrite` allows it or the session's
    own auto-archive code is not Manual; replace archived files with `overwrite_files=true`,
    `overwrite=delete|override` or code 5."""
    allow_merge, override = overwrite_flags(params.get("overwrite"))
    options = ArchiveOptions(
        allow_merge=allow_merge or row.autoarchive in (prearchive.AUTO_ARCHIVE, prearchive.AUTO_ARCHIVE_OVERWRITE),
        override=override,
        overwrite_files=_flag(params, "overwrite_files") or row.autoarchive == prearchive.AUTO_ARCHIVE_OVERWRITE,
        subject=params.get("SUBJECT_ID"),
        label=params.get("EXPT_LABEL"),
    )
    return archive(ctx.store, row, options)


def _finish_si(ctx: Ctx, rows: list[PrearchiveSession], params: dict[str, str], dest: Dest | None) -> list[str]:
    """The session importer builds at once; outside a prearchive dest it takes one session and
    archives it when the dest is an archive, `AA`/`auto-archive` is true or the project
    archives automatically (code >= 4)."""
    _build_all(ctx, rows)
    if dest is not None and not dest.archive:
        return ["/data" + r.url for r in rows]
    if len(rows) > 1:
        raise XnatHTTPError(400, "Upload included files for multiple imaging sessions.")
    row = rows[0]
    project = ctx.store.projects.get(row.project)
    auto = project is not None and project.prearchive_code >= 4
    if (dest is not None and dest.archive) or _flag(params, "AA") or _flag(params, "auto-archive") or auto:
        return [_archive_row(ctx, row, params)]
    return ["/data" + row.url]
