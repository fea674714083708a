"""XNAT's XFTTable representations (REST-CONTRACT.md §2.1): the JSON `ResultSet` envelope with
string cells, CSV, XML and HTML, plus the paging and sorting every QueryOrganizer listing
shares.

Choices where the contract leaves room: an unknown `format=` answers JSON (the variant a
non-browser client negotiates anyway); malformed `limit`/`offset` values fall back to their
defaults instead of failing the request [inferred].
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from werkzeug.wrappers import Response

from xsync.emulator.http import Ctx

Row = dict[str, str]


@dataclass
class Table:
    columns: list[str]  # header order for CSV/XML/HTML (JSON rows are unordered in XNAT)
    rows: Sequence[Mapping[str, str]]
    meta: dict[str, str] = field(default_factory=dict)  # totalRecords, title, ...
    lead: dict[str, object] = field(default_factory=dict)  # JSON keys before Result (file lists)


def paginate(ctx: Ctx, rows: list[Row]) -> tuple[list[Row], bool]:
    """`offset`/`limit` (limit 100 by default once either is given, `*` = all). Returns the page and
    whether paging applied (then XNAT leaves out totalRecords)."""
    if "limit" not in ctx.params and "offset" not in ctx.params:
        return rows, False
    offset = _int(ctx.param("offset"), 0)
    limit_text = (ctx.param("limit") or "").strip()
    limit = None if limit_text == "*" else _int(limit_text, 100)
    end = None if limit is None else offset + limit
    return rows[offset:end], True


def sort(ctx: Ctx, rows: list[Row]) -> list[Row]:
    """`sortBy=a[,b]` on output keys (case-insensitive), `sortOrder=DESC`."""
    keys = [k.strip() for k in (ctx.param("sortBy") or "").split(",") if k.strip()]
    if not keys or not rows:
        return rows
    available = {k.lower(): k for k in rows[0]}
    resolved = [available[k.lower()] for k in keys if k.lower() in available]
    if not resolved:
        return rows
    descending = (ctx.param("sortOrder") or "").upper() == "DESC"
    return sorted(rows, key=lambda r: tuple(r.get(k, "") for k in resolved), reverse=descending)


def _int(text: str | None, default: int) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        return default
    return value if value >= 0 else default


_MEDIA_TYPES = {"csv": "text/csv", "xml": "text/xml", "html": "text/html"}


def empty_table(ctx: Ctx) -> Response:
    """SecureResource.representTable of a null table: an empty body in the requested media type."""
    return Response(b"", mimetype=_MEDIA_TYPES.get(ctx.format, "application/json"))


def render(ctx: Ctx, table: Table) -> Response:
    fmt = ctx.format
    if fmt == "csv":
        return Response(_csv(table), mimetype="text/csv")
    if fmt == "xml":
        return Response(_xml(table), mimetype="text/xml")
    if fmt == "html":
        return Response(_html(table), mimetype="text/html")
    envelope: dict[str, object] = dict(table.lead)
    envelope["Result"] = table.rows
    envelope.update(table.meta)
    return Response(json.dumps({"ResultSet": envelope}, separators=(",", ":")), mimetype="application/json")


def _csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([row.get(c, "") for c in table.columns])
    return out.getvalue()


def _xml(table: Table) -> str:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in table.meta.items())
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ResultSet{attrs}><results><columns>']
    parts.extend(f"<column>{escape(c)}</column>" for c in table.columns)
    parts.append("</columns>\n<rows>")
    for row in table.rows:
        cells = "".join(f"<cell>{escape(row.get(c, ''))}</cell>" for c in table.columns)
        parts.append(f"<row>{cells}</row>\n")
    parts.append("</rows></results></ResultSet>")
    return "".join(parts)


def _html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(row.get(c, ''))}</td>" for c in table.columns) + "</tr>"
        for row in table.rows
    )
    return f"<html><body><table><tr>{head}</tr>{body}</table></body></html>"
