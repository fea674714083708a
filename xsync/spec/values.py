"""Value types of the spec, validated the way XNAT validates them (xnat.xsd, REST-CONTRACT §4.3).

Every check raises `PydanticCustomError` with the message the user reads, so that
`load.py` can place it at a line and column unchanged. Values are kept as written:
XNAT compares enumerations case-insensitively but stores what it was sent.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from xsync.dicom.labels import LABEL_RE
from xsync.model.fields import JAVA_INT_MAX, JAVA_INT_MIN, FieldDef, ValueKind

SCALAR_INPUT_SCHEMA: dict[str, Any] = {"type": ["string", "number", "boolean"]}


class WrittenInt(int):
    """An integer read from an unquoted YAML scalar, remembering how it was written
    (`007`, `0x1F`): a text field gets that text, a number field the number."""

    written: str

    def __new__(cls, value: int, written: str) -> WrittenInt:
        number = super().__new__(cls, value)
        number.written = written
        return number


class WrittenFloat(float):
    """A float read from an unquoted YAML scalar (`1.10`, `1e3`, `.inf`), with its text."""

    written: str

    def __new__(cls, value: float, written: str) -> WrittenFloat:
        number = super().__new__(cls, value)
        number.written = written
        return number


def kind_of(value: Any) -> str:
    """How a YAML value is named in messages."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, WrittenInt | WrittenFloat):
        return value.written
    if isinstance(value, int | float):
        return repr(value)
    return f'"{value}"'


def fail(kind: str, message: str) -> PydanticCustomError:
    # Without a context pydantic shows the message as written: braces in user input stay single.
    return PydanticCustomError(kind, message)


def as_text(value: Any) -> str:
    """Any YAML scalar as the text XNAT would be sent: an unquoted number as it was written
    (`visit_id: 1.10` means "1.10", not "1.1"); a boolean as `true` or `false`, since YAML 1.2
    reads `true`, `True` and `TRUE` as one value."""
    if isinstance(value, str):
        return value
    if isinstance(value, WrittenInt | WrittenFloat):
        return value.written
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise fail("text_type", f"expected text, got {kind_of(value)}")


_XML_ESCAPE_GROWTH = {"&": 4, "<": 3, ">": 3, '"': 5, "'": 5}  # `&amp;` is 4 longer than `&` ...


def xml_escaped_length(text: str) -> int:
    """The length of `text` as XNAT stores a PUT value: XML-escaped (TurbineUtils.escapeParam)."""
    return len(text) + sum(_XML_ESCAPE_GROWTH.get(c, 0) for c in text)


def _text_validator(max_length: int | None) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = as_text(value)
        if max_length is not None and (stored := xml_escaped_length(text)) > max_length:
            escaped = "" if stored == len(text) else f" ({stored} as XNAT stores it, XML-escaped)"
            raise fail("too_long", f"is {len(text)} characters long{escaped}; XNAT allows at most {max_length}")
        return text

    return check


def text_type(max_length: int | None = None) -> Any:
    schema: dict[str, Any] = dict(SCALAR_INPUT_SCHEMA)
    if max_length is not None:
        schema["maxLength"] = max_length
    return Annotated[str, BeforeValidator(_text_validator(max_length)), WithJsonSchema(schema)]


Text = text_type()

_INT_TEXT = re.compile(r"[-+]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


# XNAT's validator parses xs:integer with Java's Integer.valueOf: a number beyond a 32-bit int
# is refused (400 "Must Be A Valid Integer"). Every whole-number field of the spec is an
# xs:integer, none an xs:long (the bounds live in the field catalog).
# Every decimal field of the spec is an xs:float, parsed with Java's Float.valueOf: from
# Float.MAX_VALUE plus half an ulp on, that gives Infinity, which XNAT cannot store; nor NaN.
JAVA_FLOAT_LIMIT = 3.4028235677973366e38
_JAVA_FLOAT_RANGE = "-3.4028235e+38 to 3.4028235e+38"  # Float.MAX_VALUE as Java prints it


def _int_validator(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = int(value) if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()) else value
        if not isinstance(number, int) or isinstance(number, bool):
            raise fail("int_type", f"expected a whole number, got {kind_of(value)}")
        if not low <= number <= high:
            raise fail("out_of_range", f"{kind_of(value)} is out of range: XNAT allows {low} to {high}")
        return number

    return check


def int_type(low: int = JAVA_INT_MIN, high: int = JAVA_INT_MAX) -> Any:
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    return Annotated[int, BeforeValidator(_int_validator(low, high)), WithJsonSchema(schema)]


def _to_float(value: Any) -> float:
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
        number = float(value)  # inf when it overflows: out of range, below
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise fail("float_type", f"expected a number, got {kind_of(value)}")
    elif (
        isinstance(value, float)
        and not math.isfinite(value)
        and not _FLOAT_TEXT.fullmatch(getattr(value, "written", ""))
    ):
        # .inf and .nan; digits that overflowed (1e400) are out of range instead
        raise fail("float_finite", f"expected a finite number, got {kind_of(value)}")
    else:
        number = float(value) if abs(value) < JAVA_FLOAT_LIMIT else math.inf  # float(10**400) would raise
    if not abs(number) < JAVA_FLOAT_LIMIT:
        raise fail("out_of_range", f"{kind_of(value)} is out of range: XNAT allows {_JAVA_FLOAT_RANGE}")
    return number


Int = int_type()
Port = int_type(1, 65535)
Float = Annotated[
    float,
    BeforeValidator(_to_float),
    WithJsonSchema({"type": "number", "exclusiveMinimum": -JAVA_FLOAT_LIMIT, "exclusiveMaximum": JAVA_FLOAT_LIMIT}),
]


def _to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail("bool_type", f"expected true or false, got {kind_of(value)}")
    return value


Bool = Annotated[bool, BeforeValidator(_to_bool), WithJsonSchema({"type": "boolean"})]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])")


def _is_calendar_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _to_date(value: Any) -> str:
    # Only ISO dates: XNAT also takes MM/DD/YYYY, but one spelling keeps diffs and digests
    # stable and rules out the day/month ambiguity.
    text = value if isinstance(value, str) else None
    if text is None or not _DATE.fullmatch(text) or not _is_calendar_date(text):
        raise fail("date", f"{kind_of(value)} is not a date: write YYYY-MM-DD")
    return text


def _to_time(value: Any) -> str:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise fail("time", f"{kind_of(value)} is not a time: write HH:MM:SS")
    return value


def _to_datetime(value: Any) -> str:
    m = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if m is None or not _is_calendar_date(m.group(1)):
        raise fail("datetime", f"{kind_of(value)} is not a date and time: write YYYY-MM-DDTHH:MM:SS")
    return str(value)


Date = Annotated[str, BeforeValidator(_to_date), WithJsonSchema({"type": "string", "format": "date"})]
Time = Annotated[
    str,
    BeforeValidator(_to_time),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"}),
]
DateTime = Annotated[
    str,
    BeforeValidator(_to_datetime),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"}),
]


def _case_insensitive_pattern(words: Iterable[str]) -> str:
    # JSON Schema patterns (ECMA 262) have no inline (?i); spell each letter as a class.
    def letters(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)

    return "^(" + "|".join(letters(w) for w in words) + ")$"


def enum_type(name: str, allowed: tuple[str, ...]) -> Any:
    """A string from `allowed`, compared as XNAT does (trimmed, any case), kept as written."""
    folded = {a.lower() for a in allowed}

    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in folded:
            raise fail(name, f"{kind_of(value)} is not one of {', '.join(allowed)}")
        return value

    schema = {"type": "string", "pattern": _case_insensitive_pattern(allowed), "examples": list(allowed)}
    return Annotated[str, BeforeValidator(check), WithJsonSchema(schema)]


LABEL_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}


LABEL_RULE = 'use only letters, digits, "_" and "-"'


def _to_label(value: Any) -> str:
    if not isinstance(value, str) or not LABEL_RE.fullmatch(value):
        raise fail("label", f"{kind_of(value)} is not a valid label: {LABEL_RULE}")
    return value


Label = Annotated[str, BeforeValidator(_to_label), WithJsonSchema(LABEL_SCHEMA)]


def _to_field_name(value: Any) -> str:
    # XNAT reports custom variable names lower-cased, so the spec keeps them that way.
    if not isinstance(value, str) or not LABEL_RE.fullmatch(value):
        raise fail(
            "field_name",
            f"{kind_of(value)} is not a valid custom variable name: {LABEL_RULE}",
        )
    return value.lower()


FieldName = Annotated[str, BeforeValidator(_to_field_name), WithJsonSchema(LABEL_SCHEMA)]

_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def _to_uid(value: Any) -> str:
    text = as_text(value)
    if len(text) > 64 or not _UID.fullmatch(text):
        raise fail(
            "uid",
            f"{kind_of(value)} is not a DICOM UID: digits and dots, no leading zeros, at most 64 characters",
        )
    return text


DicomUID = Annotated[
    str,
    BeforeValidator(_to_uid),
    WithJsonSchema({"type": "string", "pattern": r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$", "maxLength": 64}),
]


def _to_ae_title(value: Any) -> str:
    text = as_text(value)
    if not 0 < len(text.strip()) <= 16 or "\\" in text or not text.isprintable():
        raise fail("ae_title", f"{kind_of(value)} is not a DICOM AE title: 1 to 16 characters, no backslash")
    return text


AETitle = Annotated[str, BeforeValidator(_to_ae_title), WithJsonSchema({"type": "string", "maxLength": 16})]


def field_type(definition: FieldDef) -> Any:
    """The spec's value type of a catalog field: its kind checked with its bounds, as XNAT's
    validator checks them. Fields of one kind and bounds share one named type, so the models
    build each type's schema once (a third of `xsync validate`'s start-up otherwise)."""
    return _shared_type(definition.kind, definition.bounds, definition.name)


_SHARED: dict[tuple[object, ...], Any] = {}


def _shared_type(kind: ValueKind, bounds: Any, name: str) -> Any:
    key = (kind, bounds) if kind is not ValueKind.ENUM else (kind, bounds, name)
    found = _SHARED.get(key)
    if found is None:
        found = _SHARED[key] = TypeAliasType(*_named_type(kind, bounds, name))
    return found


_SIMPLE: dict[ValueKind, Any] = {ValueKind.FLOAT: Float, ValueKind.DATE: Date, ValueKind.TIME: Time,
                                 ValueKind.DATETIME: DateTime}  # fmt: skip


def _named_type(kind: ValueKind, bounds: Any, name: str) -> tuple[str, Any]:
    """(the name the JSON schema gives it, the type)"""
    if kind is ValueKind.INT:
        whole = bounds.low == JAVA_INT_MIN and bounds.high == JAVA_INT_MAX
        return ("Int" if whole else f"Int{bounds.low}to{bounds.high}"), int_type(bounds.low, bounds.high)
    if kind is ValueKind.ENUM:
        return name.capitalize(), enum_type(name, bounds.choices)
    if kind is ValueKind.STRING:
        return f"Text{bounds.max_length}", text_type(bounds.max_length)
    return str(kind).capitalize(), _SIMPLE[kind]
