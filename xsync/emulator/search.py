"""The search service (REST-CONTRACT.md §1.1 lists `/search` among the non-archive routes):
`POST /data/search` with a search document, `GET /data/search/elements` (the searchable data
types with their counts) and `GET /data/search/elements/{type}` (a type's display fields),
as SearchResource, SearchElementListResource and SearchFieldListResource answer them.

The document is an `xdat:bundle` (namespace `http://nrg.wustl.edu/security`) as pyxnat's
`select(...).where(...)` and xnatpy's `query()` send it: `root_element_name`, `search_field`s
(`element_name` + `field_ID`, a display field ID or an xpath, `=value` for a custom variable)
and `search_where` criteria sets (`method` AND/OR, `criteria` with `schema_field`,
`comparison_type`, `value`; nested `child_set`s). Criteria are matched as XNAT's
DisplayCriteria writes its SQL (`search_criteria.py`); rows and columns come from the stored
items through the display fields (`display.py`).

The answer is XNAT's table: one row per item of the root type the user may read (one per
joined child when a column or criterion names a type below the root, with empty cells where
there is none), distinct, columns named by the display field in lower case (prefixed with the
type's SQL name, `xnat_subjectdata_gender_text`, for types other than the root) and a last
`quarantine_status` column (`active`: quarantine is not emulated). JSON carries XNAT's
`Columns` description, `totalRecords` and `rootElementName`.

Refusals, as SearchResource gives them: a body that is not a search document, 422; no readable
column, or a criterion naming no field, 500 (XNAT's SQL fails); GET, 405.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from werkzeug.wrappers import Response

from xsync.emulator import access, display, xsd
from xsync.emulator.display import DisplayField, Record
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError
from xsync.emulator.search_criteria import CriteriaSet, matches, parse_where
from xsync.emulator.table import Table, render, sort

routes = RouteTable()

XDAT_NS = "http://nrg.wustl.edu/security"
QUARANTINE = "quarantine_status"


def _tag(name: str) -> str:
    return f"{{{XDAT_NS}}}{name}"


@dataclass(frozen=True)
class Column:
    key: str  # the output column
    field: DisplayField
    value: str | None  # `=value` of a field map or project identifier


def _text(node: ET.Element, name: str) -> str:
    child = node.find(_tag(name))
    return (child.text or "").strip() if child is not None else ""


def _parse(body: bytes) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise XnatHTTPError(422, str(e)) from None
    if root.tag not in (_tag("bundle"), _tag("stored_search")):
        raise XnatHTTPError(422, "Unprocessable Entity")
    return root


def _column(root_type: str, element: str, field_id: str, value: str) -> Column | None:
    """A `search_field` as XdatStoredSearch.getDisplaySearch reads it: `ID=value` or `ID.value`
    carries a value; a display field ID, else an xpath of the element (or, bare, of the root)."""
    if not value and "=" in field_id:
        field_id, value = field_id.split("=", 1)
    elif not value and "." in field_id and "/" not in field_id:
        field_id, value = field_id.split(".", 1)
    df = display.find(element, field_id)
    if df is None:
        path = field_id
        if "/" in field_id and ":" in field_id.split("/", 1)[0]:
            head, path = field_id.split("/", 1)
            element = display.canonical(head) or element
        df = display.for_path(element, path)
    if df is None:
        return None
    row_id = df.id + (f"_{value.replace(',', '_com_').replace(':', '_col_')}" if value else "")
    key = row_id if df.element == root_type else f"{df.element.replace(':', '_')}_{row_id}"
    return Column(key.lower(), df, value or None)


def _columns(root: ET.Element, root_type: str) -> list[Column]:
    fields = sorted(root.findall(_tag("search_field")), key=lambda n: _sequence(_text(n, "sequence")))
    out: list[Column] = []
    for node in fields:
        element = display.canonical(_text(node, "element_name"))
        field_id = _text(node, "field_ID")
        if element is None or not field_id:
            continue  # XNAT logs the unknown element and leaves the column out
        column = _column(root_type, element, field_id, _text(node, "value"))
        if column is not None and column.key not in {c.key for c in out}:
            out.append(column)
    return out


def _sequence(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def cell(column: Column, record: Record) -> str:
    df = column.field
    if df.needs_value:
        if column.value is None:
            return ""
        return display.custom_value(record, df.element, column.value) or ""
    return df.value(record) or ""


# -- rows -----------------------------------------------------------------------------------------
def _roots(ctx: Ctx, root_type: str) -> Iterator[Record]:
    store = ctx.store
    projects = [p for p in store.projects.values() if access.can_read(ctx, p)]
    lvl = display.level(root_type)
    for p in projects:
        if lvl == 0:
            yield Record(p)
            continue
        if lvl == 1:
            for s in store.subjects_of(p.id):
                yield Record(p, s)
            continue
        for e in store.experiments_of(p.id):
            subject = store.subjects.get(e.subject_id)
            if lvl == 2 and xsd.is_a(e.xsi_type, root_type):
                yield Record(p, subject, e)
            elif lvl == 3:
                for sc in e.scans.values():
                    if xsd.is_a(sc.xsi_type, root_type):
                        yield Record(p, subject, e, sc)


def _expand(ctx: Ctx, records: list[Record], below: dict[int, set[str]]) -> list[Record]:
    """Join the types named below the root: one record per child of those types, the record
    itself (with no child) where it has none, as a LEFT JOIN gives them."""
    for lvl in sorted(below):
        types = below[lvl]
        out: list[Record] = []
        for r in records:
            children: list[Record] = []
            if lvl == 2 and r.subject is not None:
                for e in ctx.store.experiments_of(r.project.id, r.subject.id):
                    if any(xsd.is_a(e.xsi_type, t) for t in types):
                        children.append(Record(r.project, r.subject, e))
            elif lvl == 3 and r.experiment is not None:
                for sc in r.experiment.scans.values():
                    if any(xsd.is_a(sc.xsi_type, t) for t in types):
                        children.append(Record(r.project, r.subject, r.experiment, sc))
            out.extend(children or [r])
        records = out
    return records


def _named_types(columns: list[Column], where: CriteriaSet | None) -> set[str]:
    types = {c.field.element for c in columns}
    if where is not None:
        types |= {c.element for c in where.criteria()}
    return types


def run(ctx: Ctx, root_type: str, columns: list[Column], where: CriteriaSet | None) -> list[dict[str, str]]:
    root_level = display.level(root_type)
    below: dict[int, set[str]] = {}
    for t in _named_types(columns, where):
        lvl = display.level(t)
        if lvl > root_level:
            below.setdefault(lvl, set()).add(t)
    with ctx.store.lock:
        records = _expand(ctx, list(_roots(ctx, root_type)), below)
        rows: dict[tuple[str, ...], dict[str, str]] = {}
        for r in records:
            if where is not None and not matches(where, r):
                continue
            row = {c.key: cell(c, r) for c in columns}
            row[QUARANTINE] = "active"
            rows.setdefault(tuple(row.values()), row)  # SELECT DISTINCT
    return list(rows.values())


def _column_properties(columns: list[Column]) -> list[dict[str, str]]:
    out = []
    for c in columns:
        df = c.field
        ident = df.id + (f"={c.value}" if c.value else "")
        out.append(
            {
                "key": c.key,
                "element_name": df.element,
                "id": ident,
                "xPATH": f"{df.element}.{ident}",
                "header": df.header or " ",
                "type": df.type,
            }
        )
    out.append({"key": QUARANTINE})
    return out


@routes.route("/search", ("POST",), raw_body=True)
def post_search(ctx: Ctx) -> Response:
    root = _parse(ctx.request.get_data())
    root_type = display.canonical(_text(root, "root_element_name"))
    if root_type is None:
        raise XnatHTTPError(500, "Internal Server Error")
    columns = _columns(root, root_type)
    if not columns:
        raise XnatHTTPError(500, "Internal Server Error")  # XNAT's SELECT has no column
    where = parse_where(root.findall(_tag("search_where")), XDAT_NS)
    if where is not None and any(c.field is None for c in where.criteria()):
        raise XnatHTTPError(500, "Internal Server Error")  # a criterion naming no field
    rows = sort(ctx, run(ctx, root_type, columns, where))
    keys = [c.key for c in columns] + [QUARANTINE]
    meta = {"totalRecords": str(len(rows)), "rootElementName": root_type}
    return render(ctx, Table(keys, rows, meta, {"Columns": _column_properties(columns)}))


# -- data types and their fields ------------------------------------------------------------------
def _count(ctx: Ctx, element: str) -> int:
    store = ctx.store
    lvl = display.level(element)
    if lvl == 0:
        return len(store.projects)
    if lvl == 1:
        return len(store.subjects)
    if lvl == 2:
        return sum(1 for e in store.experiments.values() if e.xsi_type == element)
    return sum(1 for e in store.experiments.values() for s in e.scans.values() if s.xsi_type == element)


@routes.route("/search/elements")
def search_elements(ctx: Ctx) -> Response:
    """Every searchable type: ELEMENT_NAME, SINGULAR, PLURAL, SECURED, COUNT (of all items, as
    XDAT.getTotalCounts); `used` keeps the types that have items."""
    rows = []
    with ctx.store.lock:
        for element in display.searchable_types():
            count = _count(ctx, element)
            if "used" in ctx.params and not count:
                continue
            name = display.singular(element)
            row = {"ELEMENT_NAME": element, "SINGULAR": name, "PLURAL": name + "s", "SECURED": "true"}
            rows.append({**row, "COUNT": str(count)})
    columns = ["ELEMENT_NAME", "SINGULAR", "PLURAL", "SECURED", "COUNT"]
    return render(ctx, Table(columns, rows, {"totalRecords": str(len(rows)), "title": "Data-Types"}))


_FIELD_COLUMNS = ["FIELD_ID", "HEADER", "SUMMARY", "TYPE", "REQUIRES_VALUE", "DESC", "ELEMENT_NAME", "SRC"]


@routes.route("/search/elements/<element_name>")
def search_fields(ctx: Ctx, element_name: str) -> Response:
    """The searchable display fields of one type (field maps are not searchable themselves)."""
    element = display.canonical(element_name)
    if element is None:
        raise XnatHTTPError(400, "Bad Request")
    rows = [
        {
            "FIELD_ID": df.id,
            "HEADER": df.header,
            "SUMMARY": "",
            "TYPE": df.type,
            "REQUIRES_VALUE": "false",
            "DESC": df.header or df.id,
            "ELEMENT_NAME": element,
            "SRC": "0",
        }
        for df in display.fields(element)
        if not df.needs_value
    ]
    return render(ctx, Table(_FIELD_COLUMNS, rows, {"totalRecords": str(len(rows)), "title": "Search Fields"}))
