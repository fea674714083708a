"""XNAT's listing filter values (REST-CONTRACT.md §2.1), one value at a time: `*`/`%` are SQL LIKE
wildcards (so `_` then matches one character), numbers and dates take `a-b` ranges (dates as
MM/DD/YYYY), anything else is an exact, case-sensitive match. A comma-separated list is an OR of
such values (the caller splits it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from xsync.emulator import xsd


def value_matcher(kind: str, value: str) -> Callable[[str], bool]:
    if kind in xsd.XSD_INTEGER_TYPES | xsd.XSD_FLOAT_TYPES and "-" in value.lstrip("-"):
        lo_text, _, hi_text = value.lstrip("-").partition("-")
        lo, hi = _number(("-" if value.startswith("-") else "") + lo_text), _number(hi_text)
        return lambda cell: lo is not None and hi is not None and (n := _number(cell)) is not None and lo <= n <= hi
    if kind in xsd.XSD_INTEGER_TYPES | xsd.XSD_FLOAT_TYPES:
        target = _number(value)
        return lambda cell: target is not None and _number(cell) == target
    if kind == "date":
        return _date_matcher(value)
    if "*" in value or "%" in value:
        pattern = re.compile(
            "".join(".*" if ch in "*%" else "." if ch == "_" else re.escape(ch) for ch in value), re.DOTALL
        )
        return lambda cell: pattern.fullmatch(cell) is not None
    return lambda cell: cell == value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _us_date(text: str) -> date | None:
    m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


def _date_matcher(value: str) -> Callable[[str], bool]:
    """MM/DD/YYYY or a `d1-d2` range of those. An ISO date is split at its dashes as XNAT does,
    so it matches nothing [inferred: XNAT's SQL would fail on the fragments]."""
    parts = value.split("-")
    if len(parts) == 2:
        lo, hi = _us_date(parts[0]), _us_date(parts[1])
        return lambda cell: lo is not None and hi is not None and (d := _iso(cell)) is not None and lo <= d <= hi
    if len(parts) > 2:
        return lambda cell: False
    target = _us_date(value)
    return lambda cell: target is not None and _iso(cell) == target


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
