"""Scan IDs as XNAT's session builder assigns them: one scan per SeriesInstanceUID, ID from
SeriesNumber, `<number>-<LeadModality><n>` when several series share a number."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

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


def assign_scan_ids(series: Iterable[SeriesKey]) -> list[tuple[str, SeriesKey]]:
    """(scan ID, series) pairs in the order XNAT lists the scans.

    Numbers are ordered "maybe numerically"; series sharing a number are taken in UID order
    and numbered per lead modality (`4-MR1`, `4-MR2`, `4-OT1`).
    """
    by_number: dict[str, dict[str, SeriesKey]] = {}
    for s in series:
        by_number.setdefault(series_number_label(s.number, s.uid), {})[s.uid] = s
    out: list[tuple[str, SeriesKey]] = []
    for number in sorted(by_number, key=maybe_numeric_key):
        uids = by_number[number]
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
