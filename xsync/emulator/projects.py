"""Projects (REST-CONTRACT.md §2.2, §4.4): the listing, the item in JSON/XML, PUT (create or
update, 417 for an invalid ID), POST to `/projects`, and the prearchive code setting the import
side reads (`Project.prearchive_code`). Like every route under projects, subjects and
experiments, these are archive routes: also served under `/data/archive` and `/REST/archive`.

A project created by a non-admin makes that user a member; admins see every project.
Choices [inferred]: a name or secondary ID already used by another project is a 409; the
listing applies filters for admins only (XNAT overwrites the WHERE clause for others). The
listing takes `columns=` with the project shortcuts (`keywords`, `alias`, `note` ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from werkzeug.wrappers import Response

from xsync.emulator import access, params, shortcuts
from xsync.emulator.filters import value_matcher
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty, json_response, text
from xsync.emulator.items import NAMESPACES
from xsync.emulator.store import Project
from xsync.emulator.table import Table, paginate, render, sort

routes = RouteTable()
PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
LIST_COLUMNS = ["ID", "secondary_ID", "name", "description", "pi_firstname", "pi_lastname", "URI"]
PREARCHIVE_CODES = {"0", "4", "5"}

# shortcut -> (attribute of Project, max length) for the project's writable simple fields
_ATTRS = {
    "secondary_ID": ("secondary_id", 255),
    "name": ("name", 255),
    "description": ("description", 10000),
    "keywords": ("keywords", 255),
    "pi_firstname": ("pi_firstname", 25),
    "pi_lastname": ("pi_lastname", 25),
}


# Listing values by output key: the project shortcuts (XMLPathShortcuts' project table).
_VALUES: dict[str, Callable[[Project], str]] = {
    "ID": lambda p: p.id,
    "secondary_ID": lambda p: p.secondary_id,
    "name": lambda p: p.name,
    "description": lambda p: p.description,
    "keywords": lambda p: p.keywords,
    "alias": lambda p: ",".join(p.aliases),
    "pi_firstname": lambda p: p.pi_firstname,
    "pi_lastname": lambda p: p.pi_lastname,
    "note": lambda p: p.custom.get("note", ""),
}


def _columns(ctx: Ctx) -> list[str]:
    """QueryOrganizer's `columns=` (REST-CONTRACT.md §2.1): shortcut names, `DEFAULT`, or
    projectData xpaths, keyed by the shortcut they equal; ID and URI always; other names
    without `/` are ignored. Choice, as on the other listings: an xpath naming no project
    field is a 400."""
    spec = ctx.param("columns")
    if not spec:
        return LIST_COLUMNS
    keys = ["ID"]
    for name in (c.strip() for c in spec.split(",")):
        if name == "DEFAULT":
            wanted = LIST_COLUMNS[:-1]
        elif name in shortcuts.PROJECT:
            wanted = [name]
        elif "/" in name:
            key = shortcuts.key_for_xpath(shortcuts.PROJECT, name)
            if key not in _VALUES:
                raise XnatHTTPError(400, f"Invalid column or filter: {name}")
            wanted = [key]
        else:
            continue
        keys += [k for k in wanted if k not in keys]
    return [*keys, "URI"]


def _row(p: Project, columns: list[str]) -> dict[str, str]:
    row = {key: _VALUES[key](p) for key in columns if key in _VALUES}
    row["URI"] = f"/data/projects/{p.id}"
    return row


@routes.route("/projects", archive=True)
def list_projects(ctx: Ctx) -> Response:
    columns = _columns(ctx)
    with ctx.store.lock:
        projects = [p for p in ctx.store.projects.values() if access.can_read(ctx, p)]
        if ctx.is_admin:  # XNAT overwrites the WHERE clause for everyone else
            for key, value in _VALUES.items():
                if key in ctx.params:
                    test = value_matcher("string", ctx.params[key])
                    projects = [p for p in projects if test(value(p))]
        rows = [_row(p, columns) for p in projects]
    rows, paged = paginate(ctx, sort(ctx, rows))
    return render(ctx, Table(columns, rows, {} if paged else {"totalRecords": str(len(rows))}))


def _project_json(p: Project) -> dict[str, Any]:
    data = {k: v for k, v in (("ID", p.id), ("secondary_ID", p.secondary_id), ("name", p.name)) if v}
    data.update({k: v for k, v in (("description", p.description), ("keywords", p.keywords)) if v})
    children: list[dict[str, Any]] = []
    if p.aliases:
        children.append(
            {
                "field": "aliases/alias",
                "items": [_item("xnat:projectData_alias", {"alias": a}) for a in p.aliases],
            }
        )
    if p.pi_firstname or p.pi_lastname:
        pi = {"firstname": p.pi_firstname, "lastname": p.pi_lastname}
        children.append({"field": "PI", "items": [_item("xnat:investigatorData", pi)]})
    if p.custom:
        items = [_item("xnat:projectData_field", {"name": k, "field": v}) for k, v in p.custom.items()]
        children.append({"field": "fields/field", "items": items})
    return {"meta": {"isHistory": False, "xsi:type": "xnat:projectData"}, "data_fields": data, "children": children}


def _item(xsi_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"meta": {"isHistory": False, "xsi:type": xsi_type}, "data_fields": data, "children": []}


def _project_xml(p: Project) -> str:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<xnat:Project ID={quoteattr(p.id)}']
    parts.append(f' secondary_ID={quoteattr(p.secondary_id)} active="true" {NAMESPACES}>')
    for tag, value in (("name", p.name), ("description", p.description), ("keywords", p.keywords)):
        if value:
            parts.append(f"<xnat:{tag}>{escape(value)}</xnat:{tag}>")
    if p.aliases:
        parts.append("<xnat:aliases>" + "".join(f"<xnat:alias>{escape(a)}</xnat:alias>" for a in p.aliases))
        parts.append("</xnat:aliases>")
    if p.pi_firstname or p.pi_lastname:
        parts.append(f"<xnat:PI><xnat:firstname>{escape(p.pi_firstname)}</xnat:firstname>")
        parts.append(f"<xnat:lastname>{escape(p.pi_lastname)}</xnat:lastname></xnat:PI>")
    if p.custom:
        fields = "".join(f"<xnat:field name={quoteattr(k)}>{escape(v)}</xnat:field>" for k, v in p.custom.items())
        parts.append(f"<xnat:fields>{fields}</xnat:fields>")
    parts.append("</xnat:Project>")
    return "".join(parts)


@routes.route("/projects/<project>", archive=True)
def get_project(ctx: Ctx, project: str) -> Response:
    p = access.project(ctx, project)
    with ctx.store.lock:
        if ctx.format == "json":
            return json_response({"items": [_project_json(p)]})
        doc = _project_xml(p)
    if ctx.format == "xml":
        return Response(doc, mimetype="text/xml")
    return Response(f"<html><body><pre>{escape(doc)}</pre></body></html>", mimetype="text/html")


def _changes(ctx: Ctx) -> tuple[dict[str, str], dict[str, str | None], list[str]]:
    """(simple attributes, custom fields, aliases) from shortcut names or projectData xpaths."""
    attrs: dict[str, str] = {}
    custom: dict[str, str | None] = {}
    aliases: list[str] = []
    errors: list[str] = []
    for key, raw in ctx.params.items():
        name = key.split("/", 1)[1] if key.lower().startswith("xnat:projectdata/") else key
        if name == "note" or name.lower() == "fields/field[name=note]/field":
            custom["note"] = params.escape(raw) if raw else None
        elif name in ("alias", "aliases/alias"):
            aliases.extend(a.strip() for a in raw.split(",") if a.strip())
        elif name in ("PI/firstname", "PI/lastname"):
            name = "pi_" + name.split("/")[1]
        if name in _ATTRS:
            value = params.escape(raw)
            if len(value) > _ATTRS[name][1]:
                errors.append(f"xnat:projectData/{name} : Must Be Less Than {_ATTRS[name][1]} Characters")
            attrs[_ATTRS[name][0]] = value
    if errors:
        raise XnatHTTPError(400, "; ".join(errors))
    return attrs, custom, aliases


def _save_project(ctx: Ctx, project_id: str, *, must_be_new: bool) -> bool:
    """Create or update; True when created."""
    if not PROJECT_ID.match(project_id):
        raise XnatHTTPError(417, "Invalid character in project ID.")
    attrs, custom, aliases = _changes(ctx)
    store = ctx.store
    with store.lock:
        existing = store.project(project_id)
        if existing is not None and must_be_new:
            raise XnatHTTPError(409, "Project already exists.")
        if existing is not None and not access.can_read(ctx, existing):
            raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
        target = existing or Project(id=project_id, secondary_id=project_id, name=project_id)
        for other in store.projects.values():
            if other is target:
                continue
            if attrs.get("name") and attrs["name"] == other.name:
                raise XnatHTTPError(409, f"Project name '{attrs['name']}' is already in use.")
            if attrs.get("secondary_id") and attrs["secondary_id"] == other.secondary_id:
                raise XnatHTTPError(409, f"Secondary ID '{attrs['secondary_id']}' is already in use.")
        for attr, value in attrs.items():
            setattr(target, attr, value)
        for k, v in custom.items():
            if v is None:
                target.custom.pop(k, None)
            else:
                target.custom[k] = v
        target.aliases.extend(a for a in aliases if a not in target.aliases)
        if existing is None:
            if not ctx.is_admin:
                target.members.add(ctx.user)
            store.projects[target.id] = target
        return existing is None


@routes.route("/projects/<project>", ("PUT",), archive=True)
def put_project(ctx: Ctx, project: str) -> Response:
    _save_project(ctx, project, must_be_new=False)
    return empty()


@routes.route("/projects", ("POST",), archive=True)
def post_project(ctx: Ctx) -> Response:
    project_id = ctx.param("ID") or ctx.param("xnat:projectData/ID") or ""
    if not project_id:
        raise XnatHTTPError(400, "Submitted project record must include an ID.")
    _save_project(ctx, project_id, must_be_new=True)
    url = f"{ctx.request.base_url.rstrip('/')}/{project_id}"
    r = text(url)
    r.headers["Location"] = url
    return r


@routes.route("/projects/<project>/prearchive_code", archive=True)
def get_prearchive_code(ctx: Ctx, project: str) -> Response:
    return text(str(access.project(ctx, project).prearchive_code))


@routes.route("/projects/<project>/prearchive_code/<code>", ("PUT",), archive=True)
def put_prearchive_code(ctx: Ctx, project: str, code: str) -> Response:
    p = access.project(ctx, project, write=True)
    if code not in PREARCHIVE_CODES:
        raise XnatHTTPError(400, f"Invalid prearchive code {code}: use 0, 4 or 5.")
    with ctx.store.lock:
        p.prearchive_code = int(code)
    return empty()
