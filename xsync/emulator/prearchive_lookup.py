"""Finding a request's prearchive sessions with XNAT's permission answers: 404 for a project or
session that does not exist, 403 for a project the user may not use; the Unassigned prearchive
is for admins only. Shared by the prearchive routes and the archive services."""

from __future__ import annotations

from xsync.emulator import prearchive
from xsync.emulator.http import Ctx, XnatHTTPError
from xsync.emulator.identify import may_use
from xsync.emulator.store import PrearchiveSession, Project

UNKNOWN_SESSION = "Unknown prearchive session."


def visible(ctx: Ctx, project: str) -> bool:
    if project == prearchive.UNASSIGNED:
        return ctx.is_admin
    p = ctx.store.projects.get(project)
    return p is not None and may_use(ctx.config, ctx.user, p)


def usable_project(ctx: Ctx, ref: str) -> Project:
    p = ctx.store.project(ref)
    if p is None:
        raise XnatHTTPError(404, "One or more specified projects does not exist")
    if not may_use(ctx.config, ctx.user, p):
        raise XnatHTTPError(403, f"Invalid permissions for project {p.id}.")
    return p


def session_row(ctx: Ctx, project: str, timestamp: str, folder: str) -> PrearchiveSession:
    pid = project if project == prearchive.UNASSIGNED else usable_project(ctx, project).id
    if pid == prearchive.UNASSIGNED and not ctx.is_admin:
        raise XnatHTTPError(403, "Invalid permissions for the Unassigned prearchive.")
    found = prearchive.find(ctx.store, pid, timestamp, folder)
    if found is None:
        raise XnatHTTPError(404, UNKNOWN_SESSION)
    return found


def row_from_src(ctx: Ctx, src: str) -> PrearchiveSession:
    """`/prearchive/projects/P/TS/FOLDER`, with an optional `/data` or `/REST` prefix."""
    path = src.strip()
    for prefix in ("/data", "/REST"):
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    parts = path.strip("/").split("/")
    if len(parts) != 5 or parts[:2] != ["prearchive", "projects"]:
        raise XnatHTTPError(400, f"Invalid src: {src}")
    return session_row(ctx, parts[2], parts[3], parts[4])
