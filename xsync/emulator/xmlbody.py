"""Item documents sent as PUT/POST bodies (`Content-Type: text/xml`, `inbody=true`,
`req_format=xml`, or an `*.xml` multipart part), turned into the same `type/path=value` pairs the
query parameters give, so one code path validates and applies both (REST-CONTRACT.md §4.1).

Handled: the root element's attributes and simple content, nested anonymous elements and their
attributes (`scanner/manufacturer`), sub-items (`demographics`), custom variables
(`fields/field name=`). Nested collections (a subject's experiments, a session's scans,
sharing, resources) are ignored [the emulator's limit]. A document that does not parse, or that
declares a DOCTYPE (entity expansion), is a 422.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from xsync.emulator import xsd
from xsync.emulator.http import Ctx, XnatHTTPError

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_IGNORED_COLLECTIONS = frozenset({"experiments", "scans", "sharing", "resources", "assessors", "reconstructions"})


def wants_xml(ctx: Ctx) -> bool:
    mimetype = ctx.request.mimetype
    return (
        mimetype in ("text/xml", "application/xml")
        or (ctx.param("req_format") or "").lower() == "xml"
        or (ctx.flag("inbody") and bool(ctx.request.content_length))
        or any(f.filename and f.filename.lower().endswith(".xml") for f in ctx.request.files.values())
    )


def read_document(ctx: Ctx) -> bytes:
    for f in ctx.request.files.values():
        if f.filename and f.filename.lower().endswith(".xml"):
            data: bytes = f.read()
            return data
    return ctx.request.get_data()


def parse(body: bytes) -> tuple[str, list[tuple[str, str]]]:
    """(data type, [(xpath, value)]) from an XFT item document."""
    if b"<!DOCTYPE" in body[:4096].upper():
        raise XnatHTTPError(422, "XML documents with a DOCTYPE are not accepted.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise XnatHTTPError(422, f"Unable to parse XML document: {e}") from e
    type_name = _element_type(root)
    if type_name is None:
        raise XnatHTTPError(422, f"Unknown document type: {_local(root.tag)}")
    pairs: list[tuple[str, str]] = []
    _walk(type_name, root, "", pairs)
    return type_name, pairs


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":", 1)[-1]


def _element_type(el: ET.Element) -> str | None:
    declared = el.get(f"{XSI}type")
    if declared:
        return xsd.canonical(declared)
    return xsd.element_type(_local(el.tag))


def _walk(type_name: str, el: ET.Element, prefix: str, out: list[tuple[str, str]]) -> None:
    for name, value in el.attrib.items():
        if name.startswith(XSI) or name.startswith("{"):
            continue
        out.append((f"{type_name}/{prefix}{name}", value))
    text = (el.text or "").strip()
    if prefix and text and len(el) == 0:
        out.append((f"{type_name}/{prefix.rstrip('/')}", text))
    for child in el:
        local = _local(child.tag)
        if not prefix and local in _IGNORED_COLLECTIONS:
            continue
        if local == "fields" and not prefix:
            for f in child:
                if _local(f.tag) == "field" and f.get("name"):
                    out.append((f"{type_name}/fields/field[name={f.get('name')}]/field", (f.text or "").strip()))
            continue
        _walk(type_name, child, f"{prefix}{local}/", out)
