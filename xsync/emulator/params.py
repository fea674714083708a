"""How an item PUT's parameters become field values (REST-CONTRACT.md §4.1-4.3), as
SecureResource.loadItem and PopulateItem do it:

* the data type comes from `xsiType=` (or legacy `ELEMENT_0=`), else from the first key of the
  form `type/path`;
* shortcut names become xpaths; `type/path` keys are taken as they are; anything else is not a
  field and is ignored. A key whose type is not the item's type or one of its bases is silently
  ignored (XNAT-7176); an unknown path of the item's own types is a 400;
* `type/fields/field[name=X]/field=V` sets custom variable X;
* values are validated like XFT's validator (enumerations case-insensitively after trimming,
  integers, floats, dates, maxLength) and XML-escaped before storage. Dates are stored ISO;
  enumeration values as sent.

Numbers are checked as XFTValidator parses them (see `java_integer`, `java_finite_number`):
integers within a Java int (long for xs:long), floats finite.

Choices where the contract is silent [inferred]: `>` is escaped too (commons-lang escapeXml
escapes all five XML entities; non-ASCII stays as it is); an xs:string without a maxLength is
limited to 255 characters (XFT's default VARCHAR(255)), custom variables (LONGVARCHAR) are not
limited; an empty value clears the field; the 400 message lists `<type>/<path> : <reason>`
for every invalid value, joined by `; `.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from xsync.emulator import shortcuts, xsd
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.xsd_types import FieldSpec

DEFAULT_STRING_MAX = 255
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_ESCAPE_RE = re.compile("[&<>\"']")
_CUSTOM_KEY = re.compile(r"^fields/field\[name=([^\]]*)\]/field$", re.IGNORECASE)
_TYPED_KEY = re.compile(r"^[A-Za-z][\w.-]*:[A-Za-z][\w.-]*/")
# The item's identity: handled by the resource (rename, move, 409/400), never stored as fields.
IDENTITY_PATHS = frozenset({"id", "label", "project", "subject_id"})


def escape(value: str) -> str:
    """TurbineUtils.escapeParam: XNAT stores PUT values XML-escaped."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)


@dataclass
class Changes:
    """What a PUT asks to change: field paths relative to the item (None clears), custom
    variables, and the identity attributes (raw, unescaped) the resource decides about."""

    fields: dict[str, str | None] = field(default_factory=dict)
    custom: dict[str, str | None] = field(default_factory=dict)
    identity: dict[str, str] = field(default_factory=dict)  # id, label, project, subject_id


def apply(changes: Changes, fields: dict[str, str], custom: dict[str, str]) -> bool:
    """Write `changes` into an item's stored fields and custom variables (None removes).
    Whether anything changed (XFT leaves an unchanged row, and its change event, alone)."""
    changed = False
    for target, updates in ((fields, changes.fields), (custom, changes.custom)):
        for key, value in updates.items():
            if value is None:
                changed |= target.pop(key, None) is not None
            elif target.get(key) != value:
                target[key] = value
                changed = True
    return changed


def is_xpath(key: str) -> bool:
    """A `type/path` key (`xnat:mrSessionData/note`), as opposed to a shortcut or option name."""
    return bool(_TYPED_KEY.match(key))


def declared_type(items: Iterable[tuple[str, str]]) -> str | None:
    """`xsiType=` (or the legacy `ELEMENT_0=`) when given."""
    for key, value in items:
        if key in ("xsiType", "ELEMENT_0") and value.strip():
            return value.strip()
    return None


def type_hint(items: Iterable[tuple[str, str]]) -> str | None:
    """`xsiType`/`ELEMENT_0`, else the type prefix of the first `type/path` key."""
    pairs = list(items)
    declared = declared_type(pairs)
    if declared:
        return declared
    for key, _ in pairs:
        if _TYPED_KEY.match(key):
            return key.split("/", 1)[0]
    return None


def collect(
    item_type: str,
    table: Mapping[str, shortcuts.Shortcut],
    items: Iterable[tuple[str, str]],
    drop: Callable[[str, str], bool] | None = None,
) -> Changes:
    """Translate (key, value) pairs (body first, query last: later pairs win) for an item of
    `item_type`. Raises a 400 listing every invalid value; nothing is changed then.

    `drop(key, item_type)` (the emulator's acknowledge-and-drop knobs, `drops.py`): a field or
    custom variable whose key it accepts is validated as usual but left out of the changes."""
    changes = Changes()
    errors: list[str] = []
    for key, raw in map(_rejoin, items):
        dropped = drop is not None and drop(key, item_type)
        xpath = _xpath(table, key, item_type)
        if xpath is None:
            continue
        type_part, _, path = xpath.partition("/")
        owner = xsd.canonical(type_part)
        if owner is None or not xsd.is_a(item_type, owner):
            continue  # another data type's key: ignored, as XNAT does (XNAT-7176)
        custom = _CUSTOM_KEY.match(path)
        if custom:
            name = custom.group(1).strip().strip("'\"")
            if not name:
                errors.append(f"{xpath} : Missing field name")
            elif not dropped:
                changes.custom[name] = escape(raw) if raw != "" else None
            continue
        plain = xsd.strip_predicates(path).strip("/")
        if plain.lower() in IDENTITY_PATHS and xsd.field(owner, plain):
            changes.identity[plain.lower()] = raw
            continue
        spec = xsd.field(owner, plain)
        if spec is None:
            errors.append(f"{xpath} : Unknown field")
            continue
        if raw == "":
            if not dropped:
                changes.fields[spec.path] = None
            continue
        value, problem = check(spec, raw)
        if problem:
            errors.append(f"{owner}/{spec.path} : {problem}")
        elif not dropped:
            changes.fields[spec.path] = value
    if errors:
        raise XnatHTTPError(400, "; ".join(errors))
    return changes


def is_custom_key(key: str) -> bool:
    """`type/fields/field[name=X]/field` (a custom variable), whatever the type."""
    return bool(_TYPED_KEY.match(key)) and bool(_CUSTOM_KEY.match(key.split("/", 1)[1]))


def _rejoin(item: tuple[str, str]) -> tuple[str, str]:
    """An unencoded `...field[name=X]/field=V` is split by the query parser at its first `=`;
    put the key back together (an encoded `%3D` arrives whole and passes unchanged)."""
    key, value = item
    if "[" in key and "]" not in key and "]" in value:
        rest_key, sep, rest_value = value.partition("]")[2].partition("=")
        return f"{key}={value.partition(']')[0]}]{rest_key}", rest_value if sep else ""
    return item


def _xpath(table: Mapping[str, shortcuts.Shortcut], key: str, item_type: str) -> str | None:
    sc = table.get(key)
    if sc is not None:
        return shortcuts.xpath_for(sc, item_type) if sc.writable else None
    if _TYPED_KEY.match(key):
        return key
    return None


# -- validation (XFTValidator's messages) ------------------------------------------------------
def check(spec: FieldSpec, raw: str) -> tuple[str, str | None]:
    """(value to store, problem or None)."""
    text = raw.strip()
    t = spec.xsd_type
    if spec.enum:
        if not any(text.lower() == choice.lower() for choice in spec.enum):
            return raw, f"'{raw}' Must Match Pre-Defined Values...({','.join(spec.enum)})"
        return escape(raw), None
    if t in xsd.XSD_INTEGER_TYPES:
        integer = java_integer(text, t)
        if integer is None:
            return raw, "Must Be A Valid Long Integer" if t == "long" else "Must Be A Valid Integer"
        return _bounded(spec, text, integer)
    if t in xsd.XSD_FLOAT_TYPES:
        number = java_finite_number(text, t)
        if number is None:
            return raw, _FLOAT_MESSAGES.get(t, "Must Be A Valid Float")
        return _bounded(spec, text, number)
    if t == "boolean":
        if text.lower() not in ("true", "false", "1", "0"):
            return raw, "Must Be A Valid Boolean"
        return text.lower(), None
    if t == "date":
        parsed = parse_date(text)
        return (parsed, None) if parsed else (raw, "Must Be A Valid Date")
    if t == "time":
        parsed = parse_time(text)
        return (parsed, None) if parsed else (raw, "Must Be A Valid Date")  # XFT's text for times too
    if t == "dateTime":
        return (escape(text), None) if parse_datetime(text) else (raw, "Must Be A Valid Date")
    value = escape(raw)
    limit = spec.max_length or DEFAULT_STRING_MAX
    if len(value) > limit:
        return raw, f"Must Be Less Than {limit} Characters"
    return value, None


# XFTValidator parses xs:integer, xs:int and xs:short with Java's Integer.valueOf, so anything
# outside a signed 32-bit int is "Must Be A Valid Integer" (and XFT keeps xs:integer in an
# INTEGER column); xs:long is parsed with Long.parseLong. Python's int() would take any size,
# and `1_000` or non-ASCII digits besides.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_INTEGER_BOUNDS = {"long": 2**63}
_INT32 = 2**31
# Floats: plain decimal or exponent notation. Java's Float/Double.valueOf also take `NaN`,
# `Infinity`, `1.5f` and hex floats, and overflow to Infinity (`1e400`); the validator lets
# those through, but org.json refuses non-finite numbers when XNAT writes the item JSON, so
# the emulator refuses them up front, and Python-only spellings (`inf`, `1_0`) with them: a
# stored float is always a finite number, shown as a JSON number.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FLOAT32_MAX = 3.4028235677973366e38  # Float.MAX_VALUE plus half an ulp: beyond it Float.valueOf gives Infinity
_FLOAT_MESSAGES = {
    "float": "Must Be A Valid Float",
    "double": "Must Be A Valid Double",
    "decimal": "Must Be A Valid Decimal",
}


def java_integer(text: str, xsd_type: str = "integer") -> int | None:
    """The value Java's Integer.valueOf (Long.parseLong for xs:long) reads, None when it refuses."""
    if not _INTEGER_TEXT.fullmatch(text):
        return None
    value = int(text)
    bound = _INTEGER_BOUNDS.get(xsd_type, _INT32)
    return value if -bound <= value < bound else None


def java_finite_number(text: str, xsd_type: str = "double") -> float | None:
    """A finite number in decimal notation within the range of xs:float (a Java float) or
    xs:double/xs:decimal (a Java double); None otherwise."""
    if not _DECIMAL_TEXT.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value) or (xsd_type == "float" and abs(value) >= _FLOAT32_MAX):
        return None
    return value


def _bounded(spec: FieldSpec, text: str, number: float) -> tuple[str, str | None]:
    if spec.max_value is not None and number > spec.max_value:
        return text, f"Must Be Less Than {spec.max_value:g}"
    if spec.min_value is not None and number < spec.min_value:
        return text, f"Must Be More Than {spec.min_value:g}"
    return text, None


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d", "%m-%d-%Y")


def parse_date(text: str) -> str | None:
    """Several input forms (`2020-01-01`, `01/01/2020`, ...) -> ISO `YYYY-MM-DD`."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def parse_time(text: str) -> str | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?", text)
    if not m:
        return None
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hh > 23 or mm > 59 or ss > 59:
        return None
    return f"{hh:02d}:{mm:02d}:{ss:02d}"


def parse_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return parse_date(text) is not None
