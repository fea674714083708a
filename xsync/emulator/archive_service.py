"""`POST /data/services/archive` and its dry run `/data/services/validate-archive`
(REST-CONTRACT.md §6.3, DICOM-IMPORT.md §5.5), and the archive options both derive from a
request (also used by a prearchive session's `action=commit`).

Sessions are named by `src=/prearchive/projects/P/TS/FOLDER` (repeatable) or by `project` +
`PREARC_TIMESTAMP` + `PREARC_SESSION_FOLDER`. `subject`, `session`/`label`/`EXPT_LABEL`/
`<type>/label` and `project` (with `src`) relabel or move the session; every other `type/path`
parameter is an xpath override on the archived session (`xnat:mrSessionData/note=hello`),
validated as a PUT validates it (400: nothing archived, the row not marked CONFLICT or ERROR)
and applied over what the headers gave or, on a merge, over what the session held.

validate-archive: XNAT's ArchiveValidator answers 200 with a table of notices (`code`, `type`,
`message`, from PrearcSessionValidator) whatever they say. The emulator's choice: 200 with that
table, empty, when the archive would go through; otherwise the very status and message the
archive would answer (409 "Duplicate DICOM file uploaded.", 400 for a bad override ...), since
XNAT's notice codes are its own and a client's dry run wants the archive's answer -- without
the archive's side effects: nothing is built, archived, or marked CONFLICT/ERROR. One session
per request (400 "Cannot validate multiple sessions in one request.", as XNAT).
"""

from __future__ import annotations

import contextlib

from werkzeug.wrappers import Response

from xsync.emulator import params, prearchive
from xsync.emulator.archiver import ArchiveOptions, archive, overwrite_flags, validate
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError
from xsync.emulator.identify import may_use
from xsync.emulator.prearchive_lookup import row_from_src, session_row
from xsync.emulator.store import PrearchiveSession
from xsync.emulator.table import Table, render

routes = RouteTable()

NOTICE_COLUMNS = ["code", "type", "message"]


def archive_options(ctx: Ctx, target: PrearchiveSession, *, service: bool, src_given: bool = False) -> ArchiveOptions:
    """Options for `/services/archive` (`service`) or `action=commit`.

    The archive service always lets a session merge into an existing experiment, and
    `overwrite=append` or `delete` (the only two values Archiver.initialize knows; anything else
    is none) also overrides the UID and scan checks and replaces archived instances. A commit
    merges when `overwrite` allows it or the session's auto-archive code is not Manual. `project`
    relabels the destination only when the session was named by `src` (otherwise it names the
    session)."""
    overwrite = (ctx.param("overwrite") or "").lower()
    auto = target.autoarchive in (prearchive.AUTO_ARCHIVE, prearchive.AUTO_ARCHIVE_OVERWRITE)
    if service:
        allow_merge, override = True, overwrite in ("append", "delete")
    else:
        allow_merge, override = overwrite_flags(overwrite)
        allow_merge = allow_merge or auto
    project = ctx.param("project") if src_given else None
    if project and project != target.project:
        p = ctx.store.project(project)
        if p is None or not may_use(ctx.config, ctx.user, p):
            raise XnatHTTPError(403, "Invalid permissions for new project.")
        project = p.id
    typed_label = ctx.param(f"{target.built.xsi_type}/label") if target.built else None
    overrides: tuple[tuple[str, str], ...] = ()
    if service:
        # `<type>/label`, `/project`, `/subject_ID` are identity, never stored as fields.
        overrides = tuple((k, v) for k, v in ctx.params.items(multi=True) if params.is_xpath(k))
    return ArchiveOptions(
        allow_merge=allow_merge,
        override=override,
        overwrite_files=ctx.flag("overwrite_files") or target.autoarchive == prearchive.AUTO_ARCHIVE_OVERWRITE,
        project=project or None,
        subject=ctx.param("subject") or ctx.param("SUBJECT_ID"),
        label=ctx.param("session") or typed_label or ctx.param("EXPT_LABEL") or ctx.param("label"),
        overrides=overrides,
    )


def _sources(ctx: Ctx) -> list[PrearchiveSession]:
    srcs = ctx.params.getlist("src")
    if srcs:
        rows = [row_from_src(ctx, s) for s in srcs]
    else:
        project, ts, folder = ctx.param("project"), ctx.param("PREARC_TIMESTAMP"), ctx.param("PREARC_SESSION_FOLDER")
        if not (project and ts and folder):
            raise XnatHTTPError(400, "Missing src parameter.")
        rows = [session_row(ctx, project, ts, folder)]
    for found in rows:
        if found.project == prearchive.UNASSIGNED:
            raise XnatHTTPError(400, "Cannot archive sessions from the Unassigned folder.")
    return rows


@routes.route("/services/archive", ("POST",))
def archive_service(ctx: Ctx) -> Response:
    rows = _sources(ctx)
    src_given = bool(ctx.params.getlist("src"))
    if len(rows) > 1:  # batch: archive each, answer the rows as they were queued
        snapshot = [dict(prearchive.row_values(r), status="QUEUED_ARCHIVING") for r in rows]
        for each in rows:
            with contextlib.suppress(XnatHTTPError):  # a refused row shows CONFLICT or ERROR
                archive(ctx.store, each, archive_options(ctx, each, service=True, src_given=src_given))
        return render(ctx, Table(list(prearchive.COLUMNS), snapshot))
    target = rows[0]
    auto = target.autoarchive in (prearchive.AUTO_ARCHIVE, prearchive.AUTO_ARCHIVE_OVERWRITE)
    uri = archive(ctx.store, target, archive_options(ctx, target, service=True, src_given=src_given))
    if ctx.flag("redirect") or auto:
        r = Response(uri + "\r\n", status=303, mimetype="text/uri-list")
        r.headers["Location"] = ctx.request.host_url.rstrip("/") + ctx.config.context_path + uri
        return r
    return Response(uri + "\r\n", mimetype="text/uri-list")


@routes.route("/services/validate-archive", ("POST",))
def validate_archive_service(ctx: Ctx) -> Response:
    rows = _sources(ctx)
    if len(rows) > 1:
        raise XnatHTTPError(400, "Cannot validate multiple sessions in one request.")
    target = rows[0]
    src_given = bool(ctx.params.getlist("src"))
    validate(ctx.store, target, archive_options(ctx, target, service=True, src_given=src_given))
    return render(ctx, Table(NOTICE_COLUMNS, []))
