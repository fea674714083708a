"""The state the spec asks for, resolved against the local DICOM: frozen, same shape as the
remote state so that the diff is a keyed comparison.

Only managed fields appear here: a field the spec (or one of its rules or defaults) does not
set is never compared and never changed. Values are the text XNAT would store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xsync.model.frozen import FrozenMap


@dataclass(frozen=True)
class FieldValue:
    value: str
    source: str = "spec"  # "spec", "defaults", "rule N" — shown to reviewers, never decides anything


@dataclass(frozen=True)
class LocalSeries:
    """A DICOM series of the bound study, with what XNAT will make of it on import."""

    uid: str
    scan_id: str  # predicted with XNAT's rules
    xsi_type: str  # predicted scan data type, e.g. xnat:mrScanData
    description: str
    instances: int
    bytes: int
    # Scan fields XNAT sets from the headers on import (type, series_description, ...).
    predicted: FrozenMap[str, str] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class LocalStudy:
    uid: str
    date: str  # YYYY-MM-DD or ""
    xsi_type: str  # predicted session data type
    series: tuple[LocalSeries, ...]
    # Session fields XNAT sets from the headers on import (date, time, scanner, ...).
    predicted: FrozenMap[str, str] = field(default_factory=FrozenMap)
    # (DICOM keyword, action) of every header edit made as the study is sent; no values.
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def instances(self) -> int:
        return sum(s.instances for s in self.series)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.series)


def _no_fields() -> FrozenMap[str, FieldValue]:
    return FrozenMap()


@dataclass(frozen=True)
class DesiredScan:
    id: str
    fields: FrozenMap[str, FieldValue] = field(default_factory=_no_fields)
    absent: bool = False
    series: LocalSeries | None = None  # the local series this scan comes from, if any


@dataclass(frozen=True)
class DesiredSession:
    label: str
    xsi_type: str
    fields: FrozenMap[str, FieldValue] = field(default_factory=_no_fields)
    custom: FrozenMap[str, FieldValue] = field(default_factory=_no_fields)
    absent: bool = False
    study: LocalStudy | None = None  # the bound DICOM study, if any
    scans: FrozenMap[str, DesiredScan] = field(default_factory=FrozenMap)
    # A StudyInstanceUID binding whose study is not in the local DICOM: the server must hold it.
    remote_study: str = ""


@dataclass(frozen=True)
class DesiredSubject:
    label: str
    fields: FrozenMap[str, FieldValue] = field(default_factory=_no_fields)
    custom: FrozenMap[str, FieldValue] = field(default_factory=_no_fields)
    absent: bool = False
    sessions: FrozenMap[str, DesiredSession] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class Relabel:
    """A declared move (`moved:`): `subject` is "" for a subject's, else the label of the
    session's subject in the spec."""

    source: str
    target: str
    subject: str = ""


@dataclass(frozen=True)
class DesiredState:
    project: str
    subjects: FrozenMap[str, DesiredSubject] = field(default_factory=FrozenMap)
    via: str = "rest"  # how sessions are sent: the import service ("rest") or DICOM C-STORE ("cstore")
    moves: tuple[Relabel, ...] = ()  # subjects' first, as the spec lists them
