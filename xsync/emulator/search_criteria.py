"""The `search_where` part of a search document and how a row is matched against it, as
XdatCriteria and DisplayCriteria turn criteria into SQL:
- a criterion's `schema_field` (`type/ID`, `type.ID` or an xpath `type/path`) names a display
  field of the type first, else the field at that xpath (ElementCriteria); `ID=name` picks a
  custom variable of a field map;
- `LIKE` compares case-insensitively with `%` and `_` wildcards (`LOWER(a) LIKE LOWER(b)`);
- `=` with an empty value means "no value"; a value of `*` (outside LIKE) means "has a value";
- `!=` and `<>` also match rows without a value (`... OR a IS NULL`);
- `IS NULL` / `IS NOT NULL` (also `IS` with `NULL` / `NOT NULL`), `IN` (comma list),
  `BETWEEN x AND y`;
- `<`, `>`, `<=`, `>=` and `=` compare numbers for numeric fields and dates for date fields
  (`MM/DD/YYYY` as xnatpy sends them, or ISO), text otherwise; a row without a value matches
  none of them, as SQL's NULL does.
A set joins its criteria and child sets with its `method` (AND unless OR); an empty set matches
every row. Empty stored values count as no value (XNAT stores them as NULL).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from xsync.emulator import display
from xsync.emulator.display import DisplayField, Record

NUMERIC = frozenset({"integer", "int", "long", "short", "float", "double", "decimal"})


@dataclass(frozen=True)
class Criterion:
    element: str
    field: DisplayField | None  # None: the schema field names nothing (XNAT's search fails)
    name: str | None  # the custom variable of a field map
    comparison: str
    value: str


@dataclass(frozen=True)
class CriteriaSet:
    method: str
    items: Sequence[Criterion | CriteriaSet] = field(default_factory=tuple)

    def criteria(self) -> Iterator[Criterion]:
        for item in self.items:
            if isinstance(item, Criterion):
                yield item
            else:
                yield from item.criteria()


def _resolve(schema_field: str) -> Criterion | None:
    m = re.match(r"^([^/.]+:[^/.]+)[/.](.+)$", schema_field.strip())
    if m is None:
        return None
    element = display.canonical(m.group(1))
    if element is None:
        return Criterion(m.group(1), None, None, "", "")
    text = m.group(2)
    name = None
    if "=" in text:
        text, name = text.split("=", 1)
    df = display.find(element, text) or display.for_path(element, text)
    return Criterion(element, df, name, "", "")


def parse_where(nodes: Sequence[ET.Element], namespace: str) -> CriteriaSet | None:
    """All `search_where` sets, ANDed; None when there are none."""
    sets = [_parse_set(n, namespace) for n in nodes]
    if not sets:
        return None
    return sets[0] if len(sets) == 1 else CriteriaSet("AND", tuple(sets))


def _parse_set(node: ET.Element, ns: str) -> CriteriaSet:
    items: list[Criterion | CriteriaSet] = []
    for child in node:
        if child.tag == f"{{{ns}}}criteria":
            schema_field = _child_text(child, ns, "schema_field")
            resolved = _resolve(schema_field) or Criterion("", None, None, "", "")
            comparison = _child_text(child, ns, "comparison_type") or "="
            value = _child_text(child, ns, "value", strip=False)
            items.append(Criterion(resolved.element, resolved.field, resolved.name, comparison, value))
        elif child.tag == f"{{{ns}}}child_set":
            items.append(_parse_set(child, ns))
    method = (node.get("method") or "AND").strip().upper()
    return CriteriaSet("OR" if method == "OR" else "AND", tuple(items))


def _child_text(node: ET.Element, ns: str, name: str, *, strip: bool = True) -> str:
    child = node.find(f"{{{ns}}}{name}")
    text = (child.text or "") if child is not None else ""
    return text.strip() if strip else text


def matches(where: CriteriaSet, record: Record) -> bool:
    results = (matches(i, record) if isinstance(i, CriteriaSet) else _matches(i, record) for i in where.items)
    if not where.items:
        return True
    return any(results) if where.method == "OR" else all(results)


def _matches(c: Criterion, record: Record) -> bool:
    df = c.field
    assert df is not None
    raw = display.custom_value(record, df.element, c.name or "") if df.needs_value else df.value(record)
    return compare(raw or None, c.comparison, c.value, df.type)


def compare(value: str | None, comparison: str, target: str, type_: str) -> bool:
    op = " ".join(comparison.upper().split())
    wanted = target.strip()
    if op.startswith("IS"):
        negate = "NOT" in op or wanted.upper() == "NOT NULL"
        return (value is not None) if negate else (value is None)
    if "LIKE" in op:
        found = value is not None and _like(value, target)
        return (not found and value is not None) if op.startswith("NOT") else found
    if op == "=" and not wanted:
        return value is None
    if op in ("!=", "<>"):
        return value is None or _order(value, wanted, type_) != 0
    if wanted == "*":
        return value is not None
    if value is None:
        return False
    if op == "IN":
        options = [t.strip().strip("'\"") for t in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", wanted)]
        return any(_order(value, o, type_) == 0 for o in options)
    if op == "BETWEEN":
        parts = re.split(r"\s+and\s+", wanted, maxsplit=1, flags=re.IGNORECASE)
        if len(parts) != 2:
            return False
        low, high = (p.strip().strip("'\"") for p in parts)
        return _order(value, low, type_) >= 0 and _order(value, high, type_) <= 0
    order = _order(value, wanted, type_)
    return {"=": order == 0, "<": order < 0, ">": order > 0, "<=": order <= 0, ">=": order >= 0}.get(op, False)


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern.lower())
    return re.fullmatch(regex, value.lower(), flags=re.DOTALL) is not None


def _order(a: str, b: str, type_: str) -> int:
    """-1, 0, 1 comparing a stored value with a search value, as the field's SQL type would."""
    left: object
    right: object
    if type_ in NUMERIC:
        try:
            left, right = float(a), float(b)
        except ValueError:
            left, right = a, b
    elif type_ in ("date", "dateTime"):
        da, db = _date(a), _date(b)
        left, right = (da, db) if da is not None and db is not None else (a, b)
    else:
        left, right = a, b
    return (left > right) - (left < right)  # type: ignore[operator]


def _date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    return None
