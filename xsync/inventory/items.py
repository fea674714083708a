"""Read outcomes -> items to group (a DicomFile with its series-level header values) or
diagnostics. Pure.

An item carries the series-level part of its header (`Header[INSTANCE_FIELDS:]`) as a tuple
that the files of one series usually share as one object; grouping compares those tuples
instead of every field of every file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from xsync.errors import Diagnostic, Severity
from xsync.inventory.fields import INSTANCE_FIELDS, Header
from xsync.inventory.read import CORRUPT, DICOMDIR, NOT_DICOM, TRUNCATED, UNREADABLE, Outcome
from xsync.inventory.walk import FoundFile
from xsync.model.inventory import DicomFile

Shared = tuple[str, ...]  # Header[INSTANCE_FIELDS:]
Item = tuple[DicomFile, Shared, int]  # the file, its series-level header values, its root's index

SHARED_INDEX = {name: i - INSTANCE_FIELDS for i, name in enumerate(Header._fields) if i >= INSTANCE_FIELDS}
_SOP_CLASS = SHARED_INDEX["sop_class_uid"]
_SERIES = SHARED_INDEX["series_instance_uid"]
_STUDY = SHARED_INDEX["study_instance_uid"]
_FRAMES = SHARED_INDEX["number_of_frames"]
_TS = SHARED_INDEX["transfer_syntax_uid"]

_ENTRY_PROBLEMS = {
    NOT_DICOM: (Severity.WARNING, "not a DICOM file: {}"),
    TRUNCATED: (Severity.ERROR, "truncated: {}"),
    CORRUPT: (Severity.ERROR, "cannot be read as DICOM: {}"),
    UNREADABLE: (Severity.ERROR, "cannot be read: {}"),
}

# Built without the keyword handling of the generated NamedTuple __new__: one per file.
_new_file = partial(tuple.__new__, DicomFile)


def location(path: str, member: str | None) -> str:
    return path if member is None else f"{path}!{member}"


def frames(text: str) -> int:
    """NumberOfFrames as XNAT counts it: 1 when absent or not a positive number."""
    try:
        return max(1, int(text))
    except ValueError:
        return 1


class ItemMaker:
    """Makes items; what a file takes from its series-level values is worked out once per
    distinct tuple of them (the tuples are kept alive here, so their ids stay theirs)."""

    def __init__(self) -> None:
        self._derived: dict[int, tuple[Shared, tuple[str, str, str, int, str]]] = {}

    def make(
        self, found: FoundFile, member: str | None, size: int, gzipped: bool, sop: str, instance: str, shared: Shared
    ) -> Item:
        known = self._derived.get(id(shared))
        if known is None:
            known = self._derived[id(shared)] = (
                shared,
                (shared[_SOP_CLASS], shared[_SERIES], shared[_STUDY], frames(shared[_FRAMES]), shared[_TS]),
            )
        sop_class, series, study, n_frames, ts = known[1]
        path, _, _, mtime_ns, _ = found
        f = _new_file((path, member, size, mtime_ns, sop, sop_class, series, study, instance, n_frames, ts, gzipped))
        return (f, shared, found[1])


class Collector:
    """Turns read outcomes into items and diagnostics as they arrive (a DICOMDIR is an index of
    other files, not an instance, and yields nothing)."""

    def __init__(self, maker: ItemMaker) -> None:
        self.items: list[Item] = []
        self.problems: list[Diagnostic] = []
        self._make = maker.make

    def add(self, found: FoundFile, found_outcomes: Sequence[Outcome]) -> None:
        for member, kind, size, gzipped, sop, instance, shared, message in found_outcomes:
            if shared is not None:
                self.items.append(self._make(found, member, size, gzipped, sop, instance, shared))
            elif kind in _ENTRY_PROBLEMS:
                severity, text = _ENTRY_PROBLEMS[kind]
                where = location(found.path, member)
                self.problems.append(Diagnostic(file=where, message=text.format(message), severity=severity))
            elif kind != DICOMDIR:
                where = location(found.path, member)
                text = f"unexpected outcome {kind!r}"
                self.problems.append(Diagnostic(file=where, message=text, severity=Severity.ERROR))


def collect(
    results: Iterable[tuple[FoundFile, Sequence[Outcome]]], maker: ItemMaker
) -> tuple[list[Item], list[Diagnostic]]:
    """The items of every DICOM object read, and a diagnostic for every other outcome."""
    collector = Collector(maker)
    for found, found_outcomes in results:
        collector.add(found, found_outcomes)
    return collector.items, collector.problems
