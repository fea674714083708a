"""Field values compared the way XNAT stores them, so that a plan never shows a change XNAT
would not make: enums case-insensitive, integers and floats by value, dates as YYYY-MM-DD,
times as HH:MM:SS, date-times as YYYY-MM-DDTHH:MM:SS. XML entities are undone once, where
values are read from XNAT (the client does it): comparing never unescapes, so a literal `&lt;`
in the spec stays different from `<`."""

from __future__ import annotations

import html
import re

from xsync.model.fields import FieldDef, ValueKind

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.0+)?")


def unescape_xml(value: str) -> str:
    """XNAT stores PUT parameters XML-escaped (`&` -> `&amp;`); listings return them so."""
    return html.unescape(value) if "&" in value else value


def canonical(definition: FieldDef | None, value: str) -> str:
    """The comparison form of a stored or desired value (never sent to the server)."""
    text = value
    if definition is None:
        return text
    kind = definition.kind
    stripped = text.strip()
    if kind is ValueKind.ENUM:
        return stripped.casefold()
    if kind in (ValueKind.INT, ValueKind.FLOAT):
        try:
            number = float(stripped)
        except ValueError:
            return text
        return str(int(number)) if number.is_integer() else repr(number)
    if kind is ValueKind.DATE:
        m = _US_DATE.fullmatch(stripped)
        if m:
            return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
        return stripped[:10]
    if kind is ValueKind.DATETIME:
        # XNAT keeps a timestamp and lists it as Java's Timestamp prints it (`2001-02-03 04:05:06.0`)
        m = _DATETIME.fullmatch(stripped)
        return f"{m.group(1)}T{m.group(2)}" if m else stripped
    if kind is ValueKind.TIME:
        m = _TIME.fullmatch(stripped)
        if m:
            return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3) or '00'}"
        return stripped
    return text


def same_value(definition: FieldDef | None, a: str, b: str) -> bool:
    return canonical(definition, a) == canonical(definition, b)
