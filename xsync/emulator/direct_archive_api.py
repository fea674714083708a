"""`/xapi/direct-archive` (DirectArchiveSessionApi): the sessions direct-to-archive imports are
filling, for clients that must know when one has reached the archive.

- `GET /xapi/direct-archive/{project}/{tag}/{name}` (tag: the StudyInstanceUID, name: the
  session label; the path the import answered): the session as XNAT's SessionData JSON, 404
  once it has been archived (or moved to the prearchive), 403 when the project is not readable.
- `POST` on the same path: archive it now (403 "User cannot trigger archive for project P" for
  a user who cannot edit the project; 404 when there is no such session).
- `DELETE /xapi/direct-archive/{id}`: forget it (its files stay; 403 with the project's ID as
  body for a user who cannot delete in the project).
- `POST /xapi/direct-archive` (a paging request in the body, ignored): every session of the
  projects the user can read.
SessionData as Jackson writes it: its getters' names, dates as epoch milliseconds [uncertain:
XNAT's mapper settings], absent values null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from xsync.emulator import access, direct_archive
from xsync.emulator.direct_archive import DirectArchiveSession
from xsync.emulator.http import Ctx, RouteTable, empty, json_response
from xsync.emulator.xapi import NOT_FOUND, XapiError

routes = RouteTable()
NO_SESSION = "No matching direct archive session"


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _scan_date(date_text: str, time_text: str) -> int | None:
    """StudyDate with StudyTime's hours, minutes and seconds, in the server's time zone."""
    try:
        when = datetime.fromisoformat(f"{date_text}T{(time_text or '00:00:00')[:8]}")
    except ValueError:
        return None
    return int(when.timestamp() * 1000)


def session_json(s: DirectArchiveSession) -> dict[str, Any]:
    row = s.row
    return {
        "id": s.id,
        "folderName": row.folder,
        "name": row.name,
        "autoArchive": None,
        "preventAnon": row.prevent_anon == "true",
        "preventAutoCommit": False,
        "source": row.source or None,
        "tag": row.tag,
        "timestamp": row.timestamp,
        "uploadDate": _millis(s.upload_date),
        "lastBuiltDate": _millis(s.last_built),
        "status": s.status,
        "project": row.project,
        "scan_date": _scan_date(row.scan_date, row.scan_time),
        "scan_time": None,
        "subject": row.subject,
        "externalUrl": f"/prearchive/projects/{row.project}/{row.timestamp}/{row.folder}",
        "url": str(s.location),
        "visit": row.visit or None,
        "protocol": row.protocol or None,
        "timeZone": row.timezone or None,
        "sessionDataTriple": {"folderName": row.folder, "timestamp": row.timestamp, "project": row.project},
        "message": s.message or None,
    }


def _readable(ctx: Ctx, project: str) -> bool:
    p = ctx.store.projects.get(project)
    return p is not None and access.can_read(ctx, p)


def _find(ctx: Ctx, project: str, tag: str, name: str) -> DirectArchiveSession:
    found = direct_archive.sessions(ctx.store).find(project, tag, name)
    if found is None:
        raise XapiError(404, f"{NOT_FOUND}: {NO_SESSION}")
    return found


@routes.route("/xapi/direct-archive/<project>/<tag>/<name>", site_root=True)
def get_session(ctx: Ctx, project: str, tag: str, name: str) -> Response:
    if not _readable(ctx, project):
        raise XapiError(403, "")
    with ctx.store.lock:
        return json_response(session_json(_find(ctx, project, tag, name)))


@routes.route("/xapi/direct-archive/<project>/<tag>/<name>", ("POST",), site_root=True)
def trigger_archive(ctx: Ctx, project: str, tag: str, name: str) -> Response:
    """XNAT queues the build and archive and answers at once; the emulator does both first."""
    if not _readable(ctx, project):  # the emulator's readers are its editors
        raise XapiError(403, f"User cannot trigger archive for project {project}")
    with ctx.store.lock:
        session = _find(ctx, project, tag, name)
    direct_archive.archive_now(ctx.store, session)
    return empty()


@routes.route("/xapi/direct-archive/<int:session_id>", ("DELETE",), site_root=True)
def delete_session(ctx: Ctx, session_id: int) -> Response:
    with ctx.store.lock:
        session = direct_archive.sessions(ctx.store).by_id(session_id)
        if session is None:
            raise XapiError(404, f"{NOT_FOUND}: {NO_SESSION}")
        if not _readable(ctx, session.row.project):
            raise XapiError(403, session.row.project)
        direct_archive.delete(ctx.store, session)
    return empty()


@routes.route("/xapi/direct-archive", ("POST",), site_root=True)
def list_sessions(ctx: Ctx) -> Response:
    with ctx.store.lock:
        visible = [s for s in direct_archive.sessions(ctx.store).items if _readable(ctx, s.row.project)]
        return json_response([session_json(s) for s in visible])
