"""Scan IDs as XNAT's session builder assigns them: one scan per SeriesInstanceUID, ID from
SeriesNumber, `<number>-<LeadModality><n>` when several series share a number."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cmp_to_key

from xsync.dicom.sop import UNKNOWN_MODALITY, lead_modality

_NON_WORD = re.compile(r"[^\w]")


@dataclass(frozen=True)
class SeriesKey:
    """What the scan-ID rule needs to know of a series."""

    uid: str
    number: str = ""  # SeriesNumber as written in the header (IS text), "" when absent
    modalities: frozenset[str] = field(default_factory=frozenset)


def series_number_label(number: str, uid: str) -> str:
    """The builder's base ID: SeriesNumber with a leading `+` made `_`; the UID with every
    non-word character made `_` when the number is blank."""
    n = number.strip()
    if n.startswith("+"):
        n = "_" + n[1:]
    return n if n else _NON_WORD.sub("_", uid)


def maybe_numeric_key(value: str) -> tuple[int, int, str]:
    """Sort key: integers numerically (2 before 10) and before other strings."""
    try:
        return (0, int(value), "")
    except ValueError:
        return (1, 0, value)


_JAVA_INT = re.compile(r"[+-]?\d+")


def _as_java_int(value: str) -> int | None:
    """`Integer.parseInt`: an optional sign and digits, within 32 bits; else None."""
    if not _JAVA_INT.fullmatch(value):
        return None
    n = int(value)
    return n if -(2**31) <= n < 2**31 else None


def _utf16(value: str) -> bytes:
    return value.encode("utf-16-be")  # orders as Java's String.compareTo


def compare_scan_numbers(a: str, b: str) -> int:
    """XNAT's scan order (MaybeNumericStringComparator): numerically when both are Java ints,
    else as strings, so a UID-derived ID sorts among the numbers as text (`1` < `1_2_3` < `2`)."""
    ia, ib = _as_java_int(a), _as_java_int(b)
    if ia is not None and ib is not None:
        return (ia > ib) - (ia < ib)
    ka, kb = _utf16(a), _utf16(b)
    return (ka > kb) - (ka < kb)


def _number_group(label: str) -> str:
    """Labels XNAT's ordered map treats as one key (`4` and `04`) share this."""
    n = _as_java_int(label)
    return f"int:{n}" if n is not None else f"str:{label}"


def assign_scan_ids(series: Iterable[SeriesKey]) -> list[tuple[str, SeriesKey]]:
    """(scan ID, series) pairs in the order XNAT lists the scans.

    Numbers are ordered as XNAT orders them (`compare_scan_numbers`); numbers equal as
    integers are one number (spelt as the first in string order); series sharing a number are
    taken in UID order and numbered per lead modality (`4-MR1`, `4-MR2`, `4-OT1`).
    """
    by_number: dict[str, dict[str, SeriesKey]] = {}
    spelling: dict[str, str] = {}
    for s in series:
        label = series_number_label(s.number, s.uid)
        group = _number_group(label)
        by_number.setdefault(group, {})[s.uid] = s
        if group not in spelling or _utf16(label) < _utf16(spelling[group]):
            spelling[group] = label
    out: list[tuple[str, SeriesKey]] = []
    for number in sorted(sorted(spelling.values(), key=_utf16), key=cmp_to_key(compare_scan_numbers)):
        uids = by_number[_number_group(number)]
        if len(uids) == 1:
            out.append((number, next(iter(uids.values()))))
            continue
        counts: dict[str, int] = {}
        for uid in sorted(uids):
            s = uids[uid]
            modality = lead_modality(s.modalities) or UNKNOWN_MODALITY
            counts[modality] = counts.get(modality, 0) + 1
            out.append((f"{number}-{modality}{counts[modality]}", s))
    return out
