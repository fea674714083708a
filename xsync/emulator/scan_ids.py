"""Scan IDs and the order of scans, as XNAT's session builder assigns them
(dicom-xnat-mx `org/nrg/dcm/xnat/DICOMSessionBuilder.java`, `call()`; the order is XNAT's
`libs/extattr/src/main/java/org/nrg/attr/Utils.java` `MaybeNumericStringComparator`).

- The base ID of a series is its SeriesNumber with a leading `+` made `_`; a blank number gives
  the SeriesInstanceUID with every character outside `[A-Za-z0-9_]` made `_`.
- Base IDs are keys of a TreeMap ordered by the maybe-numeric comparator: two keys that both
  parse as Java ints compare as numbers (so `4` and `04` are one key), any other pair compares
  as Java strings (UTF-16 code units). Series under one key are taken in UID order.
- A key held by one series is its scan ID; a key held by several gives each
  `<key>-<lead modality><n>`, `n` counting per lead modality from 1 (`4-MR1`, `4-MR2`,
  `4-OT1`); a series with no listed modality counts as `OT`.

Choices where the source leaves the result to hash-set iteration order (noted in docs):
- keys that are one TreeMap key (`4`, `04`) are spelt as the first in string order (`04`);
- when numbers of 10 or more meet non-numeric keys the comparator is not a total order
  (`9` < `10` < `1_2` < `9`); the emulator sorts with it from the keys in string order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cmp_to_key

from xsync.emulator.sopmodel import UNKNOWN_MODALITY, lead_modality

_NOT_WORD = re.compile(r"[^A-Za-z0-9_]")
_JAVA_INT = re.compile(r"[+-]?\d+")  # Integer.parseInt: a sign, then decimal digits (Unicode Nd)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class SeriesIdentity:
    """What the scan-ID rule reads of a series."""

    uid: str  # SeriesInstanceUID
    number: str  # SeriesNumber as the header gives it (trimmed), "" when absent
    modalities: frozenset[str]  # the Modality values of its files


def java_int(text: str) -> int | None:
    """`Integer.parseInt(text)`, or None where Java throws NumberFormatException."""
    if not _JAVA_INT.fullmatch(text):
        return None
    value = int(text)
    return value if _INT_MIN <= value <= _INT_MAX else None


def java_string_order(text: str) -> bytes:
    """A sort key ordering strings as Java's `String.compareTo` does (by UTF-16 code units)."""
    return text.encode("utf-16-be")


def compare_maybe_numeric(a: str, b: str) -> int:
    """MaybeNumericStringComparator.compare, sign only (`i1 - i2` wraps like a Java int)."""
    ia, ib = java_int(a), java_int(b)
    if ia is not None and ib is not None:
        diff = (ia - ib + 2**31) % 2**32 - 2**31
        return (diff > 0) - (diff < 0)
    ka, kb = java_string_order(a), java_string_order(b)
    return (ka > kb) - (ka < kb)


def base_id(number: str, uid: str) -> str:
    """The ID a series would get alone."""
    if number.startswith("+"):
        number = "_" + number[1:]
    return number if number.strip() else _NOT_WORD.sub("_", uid)


def _tree_key(key: str) -> tuple[int, str]:
    """Keys equal under the comparator share this."""
    value = java_int(key)
    return (0, str(value)) if value is not None else (1, key)


def assign(series: Iterable[SeriesIdentity]) -> list[tuple[str, SeriesIdentity]]:
    """(scan ID, series) pairs in XNAT's scan order."""
    groups: dict[tuple[int, str], list[SeriesIdentity]] = {}
    spelling: dict[tuple[int, str], str] = {}
    for s in series:
        key = base_id(s.number, s.uid)
        tree_key = _tree_key(key)
        groups.setdefault(tree_key, []).append(s)
        known = spelling.get(tree_key)
        if known is None or java_string_order(key) < java_string_order(known):
            spelling[tree_key] = key
    keys = sorted(spelling.values(), key=java_string_order)
    out: list[tuple[str, SeriesIdentity]] = []
    for key in sorted(keys, key=cmp_to_key(compare_maybe_numeric)):
        members = sorted(groups[_tree_key(key)], key=lambda s: java_string_order(s.uid))
        if len(members) == 1:
            out.append((key, members[0]))
            continue
        counts: dict[str, int] = {}
        for s in members:
            modality = lead_modality(s.modalities) or UNKNOWN_MODALITY
            counts[modality] = counts.get(modality, 0) + 1
            out.append((f"{key}-{modality}{counts[modality]}", s))
    return out


def instance_order(instance_number: str) -> tuple[int, int]:
    """ImageURIComparator: files by InstanceNumber as a Java int, files without a valid one
    last; the caller breaks ties by path."""
    value = java_int(instance_number)
    return (0, value) if value is not None else (1, 0)
