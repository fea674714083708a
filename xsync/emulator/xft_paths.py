"""Whether XNAT's XFT resolves a listing column's xpath, as `GenericWrapperElement
.translateXMLPathToTables` does it (libs/xdat/.../schema/Wrappers/GenericWrapper/
GenericWrapperElement.java), read against the emulator's copy of xnat.xsd (`xsd_types.py`).

How XFT walks `type/seg/seg/...` (element and field names case-insensitive; `.` and `@` are
turned into `/` first, as `XftStringUtils.StandardizeXMLPath` does):
  * an unknown data type is `ElementNotFoundException`; the listing resources catch it while
    adding the column and leave the column out (QueryOrganizerResource.populateQuery);
  * each segment must be a field of the current element or, failing that, of the element it
    extends (`mrScanData` -> `imageScanData`): a field declared on a subtype is not found from
    its base. A field that references another element (`file`, `demographics`,
    `scans/scan`) continues in the element type the schema declares for it, so
    `xnat:imageScanData/file/format` fails: `file` is typed `xnat:abstractResource`, whose
    fields are `label`, `file_count`, `file_size`, `note`, `tags` (as XNAT's generated
    XDATScreen_edit_xnat_ctScanData.vm lists them); `format`, `content`, `URI`, `description`
    and `cachePath` belong to `xnat:resource`;
  * a predicate `[@xsi:type=T]` on a segment lets the rest resolve in T when the declared type
    fails (`file[@xsi:type=xnat:resourceCatalog]/format`, the subject shortcuts'
    `demographics[@xsi:type=xnat:demographicData]/gender`); any other predicate
    (`field[name=site]`) is dropped and changes nothing (XFTItem.GetFilterOptions keeps it
    as a `where` XFT never applies here);
  * XFT's own columns resolve on every element: `meta/...` (insert_date, insert_user/login,
    last_modified, status, ...), `extension_item/element_name`, and the generated primary key
    `xnat_<type>_id` of elements not keyed by `ID` (`xnat_imagescandata_id`,
    `xnat_abstractresource_id`).
An unresolved field is `FieldNotFoundException` when the query is built; what the client gets
then depends on the listing resource (`listings.py`).

Types the emulator's schema copy leaves out count as unknown [inferred: their columns would
resolve in XNAT].
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cache

from xsync.emulator import xsd
from xsync.emulator.xsd_types import Child, FieldSpec


class Resolution(Enum):
    RESOLVED = "resolved"
    UNKNOWN_TYPE = "unknown type"  # XNAT leaves the column out
    UNKNOWN_FIELD = "unknown field"  # XNAT fails the query


# Declared types where the emulator's schema copy records the concrete one it stores.
_DECLARED = {("xnat:subjectData", "demographics"): "xnat:abstractDemographicData"}
# Members of elements the schema copy does not model (xnat.xsd: the share elements, tags).
_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "xnat:imageScanData_share": ("label", "project"),
    "xnat:experimentData_share": ("label", "project", "visit", "protocol"),
    "xnat:projectParticipant": ("label", "project", "subject_ID", "group"),
    "xnat:abstractResource_tag": ("tag", "name"),
}
_EXTRA_CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {
    "xnat:abstractResource": (("tags/tag", "xnat:abstractResource_tag"),),
}
# xdat meta data every element carries, and its user references.
_META = frozenset(
    {
        "insert_date",
        "insert_user",
        "insert_user/login",
        "last_modified",
        "row_last_modified",
        "status",
        "activation_date",
        "activation_user",
        "activation_user/login",
        "xft_version",
        "origin",
        "shareable",
        "modified",
        "meta_data_id",
    }
)
_ID_KEYED = frozenset({"xnat:subjectData", "xnat:experimentData", "xnat:projectData"})
_PREDICATE = re.compile(r"\[([^\]]*)\]")
_XSI_TYPE = re.compile(r"^@xsi:type\s*=\s*'?([^'\]]+?)'?\s*$", re.IGNORECASE)

Segment = tuple[str, str | None]  # (lower-cased name without predicates, xsi:type predicate)


def standardize(xpath: str) -> str:
    """XftStringUtils.StandardizeXMLPath: `.` and `@` (outside `[@`) become `/`."""
    text = xpath.replace(".", "/").replace("[@", "[*").replace("@", "/").replace("[*", "[@")
    return text.lstrip("/")


def resolve(xpath: str) -> Resolution:
    """Whether XFT resolves `type/path` (see the module text)."""
    text = standardize(xpath)
    type_part, sep, rest = text.partition("/")
    root = xsd.canonical(type_part)
    if root is None:
        return Resolution.UNKNOWN_TYPE
    if not sep or not rest:
        return Resolution.UNKNOWN_FIELD
    return Resolution.RESOLVED if _resolve_in(root, _segments(rest)) else Resolution.UNKNOWN_FIELD


def _segments(path: str) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for raw in path.split("/"):
        xsi: str | None = None
        for predicate in _PREDICATE.findall(raw):
            m = _XSI_TYPE.match(predicate.strip())
            if m:
                xsi = m.group(1)
        out.append((_PREDICATE.sub("", raw).strip().lower(), xsi))
    return tuple(out)


@cache
def _resolve_in(type_name: str, segs: tuple[Segment, ...]) -> bool:
    """Resolve `segs` in `type_name`: its own members, else those of the types it extends."""
    if not segs or any(not name for name, _ in segs):
        return False
    if _xft_column(type_name, segs):
        return True
    return any(_own(t, segs) for t in _chain(type_name))


def _chain(type_name: str) -> tuple[str, ...]:
    chain = xsd.ancestors(type_name)
    return chain or (type_name,)


def _own(type_name: str, segs: tuple[Segment, ...]) -> bool:
    names = [name for name, _ in segs]
    t = xsd.TYPES.get(type_name)
    for member in t.own if t is not None else ():
        parts = member.path.lower().split("/")
        if names[: len(parts)] != parts:
            continue
        rest = segs[len(parts) :]
        if isinstance(member, FieldSpec):
            if not rest:
                return True
            continue
        if _child(type_name, member, segs[len(parts) - 1][1], rest):
            return True
    for path, item_type in _EXTRA_CHILDREN.get(type_name, ()):
        parts = path.split("/")
        if [n for n in names[: len(parts)]] == parts and _in_element(item_type, segs[len(parts) :]):
            return True
    return len(segs) == 1 and names[0] in (f.lower() for f in _EXTRA_FIELDS.get(type_name, ()))


def _child(owner: str, member: Child, xsi: str | None, rest: tuple[Segment, ...]) -> bool:
    if not rest:
        return False  # the reference itself names no column
    if not member.item_type:  # an anonymous name/value element: `fields/field`
        value = member.path.rsplit("/", 1)[-1].lower()
        return len(rest) == 1 and rest[0][0] in ("name", value)
    declared = _DECLARED.get((owner, member.path), member.item_type)
    if _in_element(declared, rest):
        return True
    target = xsd.canonical(xsi) if xsi else None
    return target is not None and _in_element(target, rest)


def _in_element(type_name: str, rest: tuple[Segment, ...]) -> bool:
    if type_name in _EXTRA_FIELDS and type_name not in xsd.TYPES:
        return len(rest) == 1 and rest[0][0] in (f.lower() for f in _EXTRA_FIELDS[type_name])
    return _resolve_in(type_name, rest)


def _xft_column(type_name: str, segs: tuple[Segment, ...]) -> bool:
    names = [name for name, _ in segs]
    if names[0] == "meta":
        return "/".join(names[1:]) in _META
    if names == ["extension_item", "element_name"]:
        return True
    if len(names) == 1:
        base = _chain(type_name)[-1]  # an extending element shares its base's key
        return base not in _ID_KEYED and names[0] == f"{base.replace(':', '_').lower()}_id"
    return False
