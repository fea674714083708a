"""Read outcomes -> items to group (a DicomFile with its series-level header values) or
diagnostics. Pure.

An item carries the series-level part of its header (`Header[INSTANCE_FIELDS:]`) as a tuple
that the files of one series usually share as one object; grouping compares those tuples
instead of every field of every file. The workers make items as plain tuples (`RawItem`),
which travel between processes faster than DicomFiles; `items()` wraps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xsync.errors import Diagnostic, Severity
from xsync.inventory.fields import INSTANCE_FIELDS, Header
from xsync.inventory.read import CORRUPT, DICOMDIR, NOT_DICOM, TRUNCATED, UNREADABLE, Outcome
from xsync.model.inventory import DicomFile

Shared = tuple[str, ...]  # Header[INSTANCE_FIELDS:]
Item = tuple[DicomFile, Shared, int]  # the file, its series-level header values, its root's index
# DicomFile's fields as a plain tuple, its series-level values, its root's index.
RawItem = tuple[tuple[str, str | None, int, int, str, str, str, str, str, int, str, bool], Shared, int]

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


def items(raw: Sequence[RawItem]) -> list[Item]:
    """The items of raw items."""
    new = _new_file
    return [(new(fields), shared, root) for fields, shared, root in raw]


class ItemMaker:
    """Makes raw items; what a file takes from its series-level values is worked out once per
    distinct tuple of them (the tuples are kept alive here, so their ids stay theirs)."""

    def __init__(self) -> None:
        self._derived: dict[int, tuple[Shared, tuple[str, str, str, int, str]]] = {}

    def make(
        self,
        path: str,
        root: int,
        mtime_ns: int,
        member: str | None,
        size: int,
        gzipped: bool,
        sop: str,
        instance: str,
        shared: Shared,
    ) -> RawItem:
        known = self._derived.get(id(shared))
        if known is None or known[0] is not shared:
            known = self._derived[id(shared)] = (
                shared,
                (shared[_SOP_CLASS], shared[_SERIES], shared[_STUDY], frames(shared[_FRAMES]), shared[_TS]),
            )
        sop_class, series, study, n_frames, ts = known[1]
        return (
            (path, member, size, mtime_ns, sop, sop_class, series, study, instance, n_frames, ts, gzipped),
            shared,
            root,
        )

    def add(
        self,
        path: str,
        root: int,
        mtime_ns: int,
        found_outcomes: Sequence[Outcome],
        out: list[RawItem],
        problems: list[Diagnostic],
    ) -> None:
        """The outcomes of one file, as raw items in `out` and diagnostics in `problems` (a
        DICOMDIR is an index of other files, not an instance, and yields nothing)."""
        for member, kind, size, gzipped, sop, instance, shared, message in found_outcomes:
            if shared is not None:
                out.append(self.make(path, root, mtime_ns, member, size, gzipped, sop, instance, shared))
            elif kind in _ENTRY_PROBLEMS:
                severity, text = _ENTRY_PROBLEMS[kind]
                problems.append(
                    Diagnostic(file=location(path, member), message=text.format(message), severity=severity)
                )
            elif kind != DICOMDIR:
                text = f"unexpected outcome {kind!r}"
                problems.append(Diagnostic(file=location(path, member), message=text, severity=Severity.ERROR))
