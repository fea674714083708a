"""XNAT's data types as xnat.xsd declares them: for every type, its base type and its members in
schema order (inherited members first). A member is a simple field (`FieldSpec`: relative path,
XSD type, attribute or element, enumeration, maxLength, bounds) or a child slot (`Child`: a
sub-item such as `demographics`, or a collection such as `scans/scan` or `fields/field`).

Paths are relative to the type's element, with `/` between nested anonymous elements and
attributes (`scanner/manufacturer`, `parameters/voxelRes/x`). They are the keys of the item JSON's
`data_fields` and of the emulator store's `fields` dicts; sub-item fields keep their slot as
prefix in the store (`demographics/gender`, `investigator/firstname`).

Importing this module has no side effects beyond building immutable tables. API:

    get(name)              -> DataType | None   (case-insensitive, `xnat:mrsessiondata` works)
    is_a(name, ancestor)   -> bool
    members(name)          -> tuple of FieldSpec | Child, XSD order
    field(name, path)      -> FieldSpec | None  (case-insensitive; resolves sub-item prefixes;
                                                  `[@xsi:type=...]` predicates are ignored)
    typed(name, path, s)   -> the JSON value XNAT's item JSON would carry for the stored string s
    element_type(element)  -> type name for a root element (`MRSession` -> `xnat:mrSessionData`)
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from xsync.emulator import xsd_types
from xsync.emulator.xsd_types import Child, DataType, FieldSpec, Member

__all__ = ["Child", "DataType", "FieldSpec", "Member"]

XSD_INTEGER_TYPES = frozenset({"integer", "int", "long", "short"})
XSD_FLOAT_TYPES = frozenset({"float", "double", "decimal"})


_PREDICATE = re.compile(r"\[@?xsi:type=[^\]]*\]", re.IGNORECASE)

TYPES: dict[str, DataType] = {t.name: t for t in xsd_types.ALL}
_BY_LOWER: dict[str, DataType] = {name.lower(): t for name, t in TYPES.items()}
_BY_ELEMENT: dict[str, str] = {t.element.lower(): t.name for t in TYPES.values() if t.element}


def get(name: str) -> DataType | None:
    return _BY_LOWER.get(name.strip().lower())


def canonical(name: str) -> str | None:
    t = get(name)
    return t.name if t else None


@cache
def ancestors(name: str) -> tuple[str, ...]:
    """The type itself, then its base, up to the root (canonical names)."""
    out: list[str] = []
    t = get(name)
    while t is not None:
        out.append(t.name)
        t = TYPES.get(t.base) if t.base else None
    return tuple(out)


def is_a(name: str, ancestor: str) -> bool:
    a = canonical(ancestor)
    return a is not None and a in ancestors(name)


@cache
def members(name: str) -> tuple[Member, ...]:
    chain = ancestors(name)
    out: list[Member] = []
    for type_name in reversed(chain):
        out.extend(TYPES[type_name].own)
    return tuple(out)


def strip_predicates(path: str) -> str:
    return _PREDICATE.sub("", path)


@cache
def _field_index(name: str) -> dict[str, FieldSpec]:
    """lower-cased relative path -> spec, including the fields of sub-items under their prefix."""
    index: dict[str, FieldSpec] = {}
    for m in members(name):
        if isinstance(m, FieldSpec):
            index[m.path.lower()] = m
        elif not m.many and m.item_type:
            for sub_path, spec in _field_index(m.item_type).items():
                full = f"{m.path}/{spec.path}"
                index[f"{m.path.lower()}/{sub_path}"] = FieldSpec(
                    full,
                    spec.xsd_type,
                    spec.attribute,
                    spec.enum,
                    spec.max_length,
                    spec.min_value,
                    spec.max_value,
                )
    return index


def field(name: str, path: str) -> FieldSpec | None:
    """The spec of `path` (relative, any case, predicates allowed) in type `name`."""
    return _field_index(canonical(name) or name).get(strip_predicates(path).strip("/").lower())


def child(name: str, path: str) -> Child | None:
    p = strip_predicates(path).strip("/").lower()
    for m in members(canonical(name) or name):
        if isinstance(m, Child) and m.path.lower() == p:
            return m
    return None


def sub_items(name: str) -> tuple[Child, ...]:
    """Single-valued sub-item slots (demographics, investigator, validation ...)."""
    return tuple(m for m in members(name) if isinstance(m, Child) and not m.many and m.item_type)


def element_type(element: str) -> str | None:
    """`xnat:MRSession` or `MRSession` -> `xnat:mrSessionData`."""
    local = element.split(":", 1)[-1].split("}", 1)[-1]
    return _BY_ELEMENT.get(local.lower())


def root_element(name: str) -> str:
    """The element a document of this type starts with, e.g. `xnat:MRSession`."""
    for type_name in ancestors(name):
        t = TYPES[type_name]
        if t.element:
            return f"xnat:{t.element}"
    return "xnat:" + name.split(":", 1)[-1]


def json_number(value: float) -> int | float:
    """org.json writes doubles without a trailing `.0` (2400.0 -> 2400), as XNAT's item JSON shows."""
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def typed(name: str, path: str, value: str) -> Any:
    """Convert a stored string to the typed JSON value XNAT's ItemJSONBuilder emits."""
    spec = field(name, path)
    if spec is None:
        return value
    try:
        if spec.xsd_type in XSD_INTEGER_TYPES:
            return int(value)
        if spec.xsd_type in XSD_FLOAT_TYPES:
            number = float(value)
            return json_number(number) if math.isfinite(number) else value
        if spec.xsd_type == "boolean":
            if value.lower() in ("true", "1"):
                return True
            if value.lower() in ("false", "0"):
                return False
    except ValueError:
        pass
    return value
