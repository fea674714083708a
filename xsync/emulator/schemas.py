"""`/xapi/schemas`: the data-type schemas clients download at connect time (XNAT's SchemaApi).
xnatpy reads the list, fetches each document and builds its Python classes from them.

The documents are generated from the emulator's own type table (`xsd_types.py`), never copied:
one named complexType per data type (extending its base type), one top-level element per root
element (`MRSession` -> `xnat:mrSessionData`), the members in table order. Relative paths become
nested anonymous elements (`parameters/voxelRes/x` is attribute `x` of element `voxelRes` inside
element `parameters`); an element that has a value and attributes (`scanner` with
`manufacturer`) is simple content with attributes; a keyed collection (`fields/field`) holds
elements whose text is the value and whose `name` attribute is the key. Sub-items and
collections refer to their item type; collections of types the table leaves out (sharing) are
left out too. `xdat:element displayIdentifiers` marks the field a type is named by (a label,
a custom variable's name), as xnat.xsd's annotations do; xnatpy uses it to build creation URLs.

The project type is not in the table (`projects.py` handles projects by hand); `PROJECT` below
declares the fields the emulator keeps for a project.

SchemaApi answers the list as JSON (the name of every `schemas/<folder>/<name>.xsd` on the
classpath, `xnat` for `schemas/xnat/xnat.xsd`) and a document as XML, by `{schema}` (folder and
name alike) or `{namespace}/{schema}`; an unknown one is 404. The emulator lists `xnat` and
`xdat`, the latter without types (see `xdat_schema`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from xml.sax.saxutils import quoteattr

from werkzeug.wrappers import Response

from xsync.emulator import xsd
from xsync.emulator.http import Ctx, RouteTable, json_response
from xsync.emulator.xapi import NOT_FOUND, XapiError
from xsync.emulator.xsd_types import Child, DataType, FieldSpec, a, e, many, sub, t

routes = RouteTable()

XNAT_NS = "http://nrg.wustl.edu/xnat"
XDAT_NS = "http://nrg.wustl.edu/xdat"
XS_NS = "http://www.w3.org/2001/XMLSchema"
SECURITY_NS = "http://nrg.wustl.edu/security"

PROJECT = t(
    "xnat:projectData",
    None,
    "Project",
    a("ID", max_length=255),
    a("secondary_ID", max_length=255),
    e("name", max_length=255),
    e("description", max_length=10000),
    e("keywords", max_length=255),
    many("aliases/alias", "xnat:projectData_alias"),
    many("resources/resource", "xnat:abstractResource"),
    sub("PI", "xnat:investigatorData"),
    many("investigators/investigator", "xnat:investigatorData"),
    many("fields/field", keyed=True),
)
# An alias is a value with the attribute `source`, like a keyed pair.
PROJECT_ALIAS = t("xnat:projectData_alias", None, None, a("source"))

# The field each named type is addressed by (its label in URLs); xnatpy needs it to create one.
DISPLAY_IDENTIFIERS = {
    "xnat:projectData": "ID",
    "xnat:subjectData": "label",
    "xnat:experimentData": "label",
    "xnat:imageScanData": "ID",
    "xnat:abstractResource": "label",
}


def _types() -> dict[str, DataType]:
    out = {PROJECT.name: PROJECT, PROJECT_ALIAS.name: PROJECT_ALIAS}
    out.update(xsd.TYPES)
    return out


@dataclass
class _Node:
    """One element or attribute of a type's content, built from the table's relative paths."""

    name: str
    attribute: bool = False
    spec: FieldSpec | None = None  # the node's own value
    slot: Child | None = None  # a sub-item or collection
    children: dict[str, _Node] = field(default_factory=dict)

    def child(self, name: str) -> _Node:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = _Node(name)
        return node


def _tree(members: tuple[FieldSpec | Child, ...], known: dict[str, DataType]) -> _Node:
    root = _Node("")
    for m in members:
        if isinstance(m, Child) and m.item_type and m.item_type not in known:
            continue  # e.g. sharing: not emulated, so not declared
        *parents, last = m.path.split("/")
        node = root
        for name in parents:
            node = node.child(name)
        leaf = node.child(last)
        if isinstance(m, Child):
            leaf.slot = m
        else:
            leaf.spec, leaf.attribute = m, m.attribute
    return root


def _simple_type(spec: FieldSpec) -> tuple[str, str]:
    """(type attribute, inline restriction) for a value."""
    base = f"xs:{spec.xsd_type}"
    facets = [f"<xs:enumeration value={quoteattr(v)}/>" for v in spec.enum]
    if spec.max_length is not None:
        facets.append(f'<xs:maxLength value="{spec.max_length}"/>')
    if spec.min_value is not None:
        facets.append(f'<xs:minInclusive value="{_number(spec.min_value)}"/>')
    if spec.max_value is not None:
        facets.append(f'<xs:maxInclusive value="{_number(spec.max_value)}"/>')
    if not facets:
        return f' type="{base}"', ""
    return "", f'<xs:simpleType><xs:restriction base="{base}">{"".join(facets)}</xs:restriction></xs:simpleType>'


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _annotation(identifier: str) -> str:
    return f'<xs:annotation><xs:appinfo><xdat:element displayIdentifiers="{identifier}"/></xs:appinfo></xs:annotation>'


def _attribute(node: _Node) -> str:
    assert node.spec is not None
    type_attr, inline = _simple_type(node.spec)
    if inline:
        return f'<xs:attribute name="{node.name}">{inline}</xs:attribute>'
    return f'<xs:attribute name="{node.name}"{type_attr}/>'


def _keyed_item(name: str, item_type: str, key: str = "name") -> str:
    """A name/value pair: the element's text is the value, attribute `key` names it."""
    if item_type:
        return f'<xs:element name="{name}" type="{item_type}" minOccurs="0" maxOccurs="unbounded"/>'
    return (
        f'<xs:element name="{name}" minOccurs="0" maxOccurs="unbounded">{_annotation(key)}'
        '<xs:complexType><xs:simpleContent><xs:extension base="xs:string">'
        f'<xs:attribute name="{key}" type="xs:string" use="required"/>'
        "</xs:extension></xs:simpleContent></xs:complexType></xs:element>"
    )


def _element(node: _Node) -> str:
    slot = node.slot
    if slot is not None:
        if slot.keyed:
            return _keyed_item(node.name, slot.item_type)
        occurs = ' maxOccurs="unbounded"' if slot.many else ""
        return f'<xs:element name="{node.name}" type="{slot.item_type}" minOccurs="0"{occurs}/>'
    attributes = [c for c in node.children.values() if c.attribute]
    elements = [c for c in node.children.values() if not c.attribute]
    if node.spec is not None and not node.children:
        type_attr, inline = _simple_type(node.spec)
        if inline:
            return f'<xs:element name="{node.name}" minOccurs="0">{inline}</xs:element>'
        return f'<xs:element name="{node.name}"{type_attr} minOccurs="0"/>'
    attrs = "".join(_attribute(c) for c in attributes)
    if node.spec is not None:
        # A value with attributes (the table never gives a valued element child elements).
        assert not elements, node.name
        content = (
            f'<xs:simpleContent><xs:extension base="xs:{node.spec.xsd_type}">{attrs}</xs:extension></xs:simpleContent>'
        )
    else:
        content = _content(elements, attributes)
    return f'<xs:element name="{node.name}" minOccurs="0"><xs:complexType>{content}</xs:complexType></xs:element>'


def _content(elements: list[_Node], attributes: list[_Node]) -> str:
    sequence = f"<xs:sequence>{''.join(_element(c) for c in elements)}</xs:sequence>" if elements else ""
    return sequence + "".join(_attribute(c) for c in attributes)


def _complex_type(dt: DataType, known: dict[str, DataType], keyed: bool) -> str:
    local = dt.name.split(":", 1)[1]
    root = _tree(dt.own, known)
    elements = [c for c in root.children.values() if not c.attribute]
    attributes = [c for c in root.children.values() if c.attribute]
    ident = DISPLAY_IDENTIFIERS.get(dt.name)
    head = _annotation(ident) if ident else ""
    if keyed:  # a keyed item type: its own text is the value
        attrs = "".join(_attribute(c) for c in attributes)
        body = f'<xs:simpleContent><xs:extension base="xs:string">{attrs}</xs:extension></xs:simpleContent>'
    elif dt.base:
        body = (
            f'<xs:complexContent><xs:extension base="{dt.base}">{_content(elements, attributes)}'
            "</xs:extension></xs:complexContent>"
        )
    else:
        body = _content(elements, attributes)
    return f'<xs:complexType name="{local}">{head}{body}</xs:complexType>'


@cache
def xnat_schema() -> str:
    """The `xnat` namespace's schema document."""
    known = _types()
    keyed_types = {
        m.item_type for dt in known.values() for m in dt.own if isinstance(m, Child) and m.keyed and m.item_type
    } | {PROJECT_ALIAS.name}
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<xs:schema targetNamespace="{XNAT_NS}" xmlns:xnat="{XNAT_NS}" xmlns:xdat="{XDAT_NS}" xmlns:xs="{XS_NS}"'
        ' elementFormDefault="qualified" attributeFormDefault="unqualified">\n',
    ]
    parts += [f'<xs:element name="{dt.element}" type="{dt.name}"/>\n' for dt in known.values() if dt.element]
    parts += [_complex_type(dt, known, dt.name in keyed_types) + "\n" for dt in known.values()]
    parts.append("</xs:schema>\n")
    return "".join(parts)


def xdat_schema() -> str:
    """The `xdat` (security) namespace: XNAT's users, groups and stored searches, none of which
    the emulator offers as data types, so the document declares no types. xnatpy fetches it
    even when told to skip extension types, and fails on a 404."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<xs:schema targetNamespace="{SECURITY_NS}" xmlns:xdat="{SECURITY_NS}" xmlns:xs="{XS_NS}"'
        ' elementFormDefault="qualified"/>\n'
    )


SCHEMAS: dict[str, Callable[[], str]] = {"xdat": xdat_schema, "xnat": xnat_schema}


@routes.route("/xapi/schemas", site_root=True)
def list_schemas(ctx: Ctx) -> Response:
    return json_response(sorted(SCHEMAS))


def _document(folder: str, name: str) -> Response:
    if folder != name or name not in SCHEMAS:
        raise XapiError(404, f"{NOT_FOUND}: classpath:schemas/{folder}/{name}.xsd")
    return Response(SCHEMAS[name](), mimetype="application/xml")


@routes.route("/xapi/schemas/<schema>", site_root=True)
def get_schema(ctx: Ctx, schema: str) -> Response:
    return _document(schema, schema)


@routes.route("/xapi/schemas/<namespace>/<schema>", site_root=True)
def get_namespaced_schema(ctx: Ctx, namespace: str, schema: str) -> Response:
    return _document(namespace, schema)
