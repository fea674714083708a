"""Single items (REST-CONTRACT.md §3): XNAT's "items" JSON with typed values and the XFT XML
document, for subjects, experiments (sessions) and scans, built from the XSD registry.

JSON: `{"items": [{"meta": ..., "data_fields": ..., "children": [...]}]}`. Values are typed by
their XSD type (integers and floats as numbers, written without a trailing `.0` as org.json
does); sub-items (`demographics`, `investigator`, `validation`) and collections (`scans/scan`,
`fields/field`, `file`, `resources/resource`, `experiments/experiment`,
`parameters/addParam`) are children.

`meta`, as ItemJSONBuilder writes it for a current row (libs/xdat/.../xft/presentation/
ItemJSONBuilder.java, FlattenedItem.java, FlattenedItemA.java): `isHistory` false, `xsi:type`,
`create_event_id` (the change event that wrote the row's current version: its `xft_version`
translated to the event ID) and `start_date` (the row's last modification, a java.util.Date that
org.json writes with `Date.toString()`: `Wed Sep 27 17:31:21 UTC 2023`); `modified_event_id` and
`end_date` belong to history rows only. Sub-items, custom variables and resources carry their
parent's event and date, and a scan stored without its own event (archived from DICOM) the
session's, which wrote it in the same save [inferred: each is its own row in XNAT].

XML: the root element named after the type (`xnat:MRSession`) with namespaces, attributes on
their elements, elements in XSD order, collections nested. Stored values are XML-escaped once
more when written, so a value stored as `a &amp; b` parses back as `a &amp; b`, as XNAT's does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from werkzeug.wrappers import Response

from xsync.emulator import xsd
from xsync.emulator.http import Ctx, json_response
from xsync.emulator.store import Experiment, Resource, Scan, Store, Subject
from xsync.emulator.xsd_types import Child, FieldSpec

_KEYED = re.compile(r"^(.*)\[name=([^\]]*)\]$")
NAMESPACES = (
    'xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xdat="http://nrg.wustl.edu/security" '
    'xmlns:prov="http://www.nbirn.net/prov" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://nrg.wustl.edu/xnat /schemas/xnat/xnat.xsd"'
)


# -- JSON ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    """Which change event wrote an item's current version, and when (a stored timestamp)."""

    event_id: int = 0
    timestamp: str = ""


def version_of(item: Subject | Experiment | Scan, parent: Version | None = None) -> Version:
    if not item.event_id and parent is not None:
        return parent
    return Version(item.event_id, item.last_modified or item.insert_date)


def java_date(timestamp: str) -> str:
    """A stored `2023-09-27 17:31:21.352` as Java's Date.toString(): `Wed Sep 27 17:31:21 UTC 2023`
    (in the emulator's local time zone, as a server writes its own)."""
    try:
        moment = datetime.strptime(timestamp.split(".", 1)[0], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return timestamp
    zone = moment.astimezone().strftime("%Z") or "UTC"
    return moment.strftime(f"%a %b %d %H:%M:%S {zone} %Y")


def _item(
    xsi_type: str, data: dict[str, Any], children: list[dict[str, Any]], version: Version | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"isHistory": False}
    if version is not None and version.event_id:
        meta["create_event_id"] = version.event_id
    if version is not None and version.timestamp:
        meta["start_date"] = java_date(version.timestamp)
    meta["xsi:type"] = xsi_type
    return {"meta": meta, "data_fields": data, "children": children}


def _typed_fields(
    xsi_type: str,
    identity: Mapping[str, Any],
    fields: Mapping[str, str],
    custom: Mapping[str, str],
    custom_type: str,
    version: Version,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data: dict[str, Any] = dict(identity)
    subs: dict[str, dict[str, Any]] = {}
    keyed: dict[str, list[dict[str, Any]]] = {}
    sub_slots = {c.path: c.item_type for c in xsd.sub_items(xsi_type)}
    for path, value in fields.items():
        m = _KEYED.match(path)
        if m:  # parameters/addParam[name=X]
            slot = m.group(1)
            element = slot.rsplit("/", 1)[-1]
            keyed.setdefault(slot, []).append(_item("xnat:addField", {"name": m.group(2), element: value}, [], version))
            continue
        slot = next((s for s in sub_slots if path.startswith(s + "/")), None)
        if slot is not None:
            rel = path[len(slot) + 1 :]
            subs.setdefault(slot, {})[rel] = xsd.typed(sub_slots[slot], rel, value)
        else:
            data[path] = xsd.typed(xsi_type, path, value)
    children = [
        {"field": slot, "items": [_item(sub_slots[slot], values, [], version)]} for slot, values in subs.items()
    ]
    children += [{"field": slot, "items": items} for slot, items in keyed.items()]
    if custom:
        children.append(
            {
                "field": "fields/field",
                "items": [_item(custom_type, {"name": k, "field": v}, [], version) for k, v in custom.items()],
            }
        )
    return data, children


def resource_json(r: Resource, uri: str, version: Version | None = None) -> dict[str, Any]:
    data = {
        "xnat_abstractresource_id": r.id,
        "label": r.label,
        "file_count": len(r.files),
        "file_size": sum(f.size for f in r.files.values()),
        "URI": uri,
    }
    if r.format:
        data["format"] = r.format
    if r.content:
        data["content"] = r.content
    return _item("xnat:resourceCatalog", data, [], version)


def _resources(field: str, resources: Mapping[str, Resource], base: str, version: Version) -> dict[str, Any]:
    return {"field": field, "items": [resource_json(r, f"{base}/{r.id}", version) for r in resources.values()]}


def scan_json(e: Experiment, s: Scan) -> dict[str, Any]:
    version = version_of(s, version_of(e))
    identity = {"ID": s.id, "image_session_ID": e.id, "xnat_imagescandata_id": s.pk}
    data, children = _typed_fields(s.xsi_type, identity, s.fields, {}, "", version)
    if s.resources:
        children.append(_resources("file", s.resources, f"/data/experiments/{e.id}/scans/{s.id}/resources", version))
    return _item(s.xsi_type, data, children, version)


def experiment_json(store: Store, e: Experiment) -> dict[str, Any]:
    version = version_of(e)
    identity: dict[str, Any] = {"ID": e.id, "id": e.id, "project": e.project, "label": e.label}
    if xsd.is_a(e.xsi_type, "xnat:subjectAssessorData"):
        identity["subject_ID"] = e.subject_id
    data, children = _typed_fields(e.xsi_type, identity, e.fields, e.custom, "xnat:experimentData_field", version)
    if e.scans:
        children.append({"field": "scans/scan", "items": [scan_json(e, s) for s in e.scans.values()]})
    if e.resources:
        children.append(_resources("resources/resource", e.resources, f"/data/experiments/{e.id}/resources", version))
    return _item(e.xsi_type, data, children, version)


def subject_json(store: Store, s: Subject) -> dict[str, Any]:
    version = version_of(s)
    identity = {"ID": s.id, "project": s.project, "label": s.label}
    data, children = _typed_fields("xnat:subjectData", identity, s.fields, s.custom, "xnat:subjectData_field", version)
    experiments = store.experiments_of(subject_id=s.id)
    if experiments:
        children.append({"field": "experiments/experiment", "items": [experiment_json(store, e) for e in experiments]})
    if s.resources:
        children.append(_resources("resources/resource", s.resources, f"/data/subjects/{s.id}/resources", version))
    return _item("xnat:subjectData", data, children, version)


# -- XML -----------------------------------------------------------------------------------------
class _Node:
    __slots__ = ("attrs", "children", "name", "text")

    def __init__(self, name: str) -> None:
        self.name = name
        self.attrs: list[tuple[str, str]] = []
        self.text: str | None = None
        self.children: list[_Node | str] = []  # str = an already rendered fragment

    def child(self, name: str) -> _Node:
        for c in self.children:
            if isinstance(c, _Node) and c.name == name:
                return c
        node = _Node(name)
        self.children.append(node)
        return node

    def at(self, path: list[str]) -> _Node:
        node = self
        for part in path:
            node = node.child(part)
        return node

    def render(self, extra: str = "") -> str:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in self.attrs) + extra
        inner = (escape(self.text) if self.text is not None else "") + "".join(
            c if isinstance(c, str) else c.render() for c in self.children
        )
        tag = self.name if ":" in self.name else f"xnat:{self.name}"
        return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"


def _fill(node: _Node, xsi_type: str, values: Mapping[str, str], slots: Mapping[str, Iterable[str]]) -> None:
    """Place `values` (relative paths) and rendered `slots` fragments in XSD member order."""
    for m in xsd.members(xsi_type):
        if isinstance(m, FieldSpec):
            value = values.get(m.path)
            if value is None:
                continue
            parts = m.path.split("/")
            if m.attribute:
                node.at(parts[:-1]).attrs.append((parts[-1], value))
            else:
                node.at(parts).text = value
        elif isinstance(m, Child):
            _fill_slot(node, m, values, slots)


def _fill_slot(node: _Node, m: Child, values: Mapping[str, str], slots: Mapping[str, Iterable[str]]) -> None:
    parts = m.path.split("/")
    if not m.many and m.item_type:
        prefix = m.path + "/"
        sub = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        if sub:
            child = node.at(parts)
            child.attrs.append(("xsi:type", m.item_type))
            _fill(child, m.item_type, sub, {})
        return
    fragments = list(slots.get(m.path, ()))
    if m.keyed and not fragments:
        element = parts[-1]
        fragments = [
            f"<xnat:{element} name={quoteattr(km.group(2))}>{escape(v)}</xnat:{element}>"
            for k, v in values.items()
            if (km := _KEYED.match(k)) and km.group(1) == m.path
        ]
    if fragments:
        node.at(parts[:-1]).children.extend(fragments)


def _custom_fragments(custom: Mapping[str, str]) -> list[str]:
    return [f"<xnat:field name={quoteattr(k)}>{escape(v)}</xnat:field>" for k, v in custom.items()]


def _resource_fragment(r: Resource, uri: str, element: str) -> str:
    attrs = [
        ("label", r.label),
        ("file_count", str(len(r.files))),
        ("file_size", str(sum(f.size for f in r.files.values()))),
    ]
    attrs += [("URI", uri), ("format", r.format), ("content", r.content)]
    rendered = "".join(f" {k}={quoteattr(v)}" for k, v in attrs if v)
    return f'<xnat:{element}{rendered} xsi:type="xnat:resourceCatalog"/>'


def scan_node(e: Experiment, s: Scan, name: str) -> _Node:
    node = _Node(name)
    values = {"ID": s.id, "image_session_ID": e.id, **s.fields}
    base = f"/data/experiments/{e.id}/scans/{s.id}/resources"
    slots = {"file": [_resource_fragment(r, f"{base}/{r.id}", "file") for r in s.resources.values()]}
    _fill(node, s.xsi_type, values, slots)
    return node


def experiment_node(e: Experiment, name: str) -> _Node:
    node = _Node(name)
    values = {"ID": e.id, "project": e.project, "label": e.label, **e.fields}
    if xsd.is_a(e.xsi_type, "xnat:subjectAssessorData"):
        values["subject_ID"] = e.subject_id
    scans = []
    for s in e.scans.values():
        sn = scan_node(e, s, "scan")
        sn.attrs.append(("xsi:type", s.xsi_type))
        scans.append(sn)
    base = f"/data/experiments/{e.id}/resources"
    slots = {
        "scans/scan": [sn.render() for sn in scans],
        "fields/field": _custom_fragments(e.custom),
        "resources/resource": [_resource_fragment(r, f"{base}/{r.id}", "resource") for r in e.resources.values()],
    }
    _fill(node, e.xsi_type, values, slots)
    return node


def subject_node(store: Store, s: Subject) -> _Node:
    node = _Node("Subject")
    values = {"ID": s.id, "project": s.project, "label": s.label, **s.fields}
    experiments = []
    for e in store.experiments_of(subject_id=s.id):
        en = experiment_node(e, "experiment")
        en.attrs.append(("xsi:type", e.xsi_type))
        experiments.append(en.render())
    slots = {"experiments/experiment": experiments, "fields/field": _custom_fragments(s.custom)}
    _fill(node, "xnat:subjectData", values, slots)
    return node


def document(node: _Node, element: str) -> str:
    node.name = element
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + node.render(" " + NAMESPACES)


# -- responses -----------------------------------------------------------------------------------
def respond(ctx: Ctx, json_item: Any, xml: Any) -> Response:
    """`format=json` -> items JSON, `format=xml` -> the document, otherwise HTML (XNAT's default
    variant for single items) wrapping the document."""
    fmt = ctx.format
    if fmt == "json":
        with ctx.store.lock:
            return json_response({"items": [json_item()]})
    with ctx.store.lock:
        doc = xml()
    if fmt == "xml":
        return Response(doc, mimetype="text/xml")
    return Response(f"<html><body><pre>{escape(doc)}</pre></body></html>", mimetype="text/html")
