"""What the local DICOM tree holds: files, series and studies, with what XNAT will make of them.

Records are frozen and pure. Text values are as pydicom reads them ("" when absent);
multi-valued ones keep DICOM's `\\` separator unless the field is a tuple. Patient identifiers
(`patient_id`, `patient_name`, `birth_date`) are carried so that the plan can bind sessions by
them, but they are left out of `repr` and must never be printed unless the user asks for PHI.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

from xsync.errors import Diagnostic, Severity


class DicomFile(NamedTuple):
    """One DICOM object: a file, or a member of a zip archive (`member` is its name there).

    `size` is the length of the DICOM object (after gunzip for `.dcm.gz`; the member's
    uncompressed length inside a zip), i.e. what an upload sends. `mtime_ns` is the
    modification time of the file on disk.

    A NamedTuple rather than a dataclass: an inventory holds one per file, hundreds of
    thousands of them, and a re-scan has a few microseconds per file in all; a frozen
    dataclass costs five times as much to build. It is just as immutable.
    """

    path: str
    member: str | None
    size: int
    mtime_ns: int
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str
    instance_number: str  # as written, "" when absent
    number_of_frames: int  # 1 when absent
    transfer_syntax_uid: str
    gzipped: bool = False

    @property
    def location(self) -> str:
        """`path`, or `archive.zip!member` for a member of a zip."""
        return self.path if self.member is None else f"{self.path}!{self.member}"


@dataclass(frozen=True, slots=True)
class Series:
    """One SeriesInstanceUID within one study: one XNAT scan.

    Header values are those the files holding them agree on ("" or () when they differ, as
    XNAT's builder leaves such fields out; a file without the element has no say).
    `scan_id` and `scan_xsi_type` are what XNAT's session builder will assign on import.
    """

    uid: str
    number: str  # SeriesNumber as written, "" when absent
    description: str
    modality: str
    protocol_name: str
    image_type: tuple[str, ...]
    sop_classes: tuple[str, ...]  # sorted
    files: tuple[DicomFile, ...] = field(repr=False)  # sorted by (path, member)
    n_instances: int  # distinct SOP instances (copies of one instance count once)
    n_bytes: int  # bytes of one copy of each distinct instance
    frames: int  # XNAT's `frames`: NumberOfFrames summed over the instances (1 when absent)
    scan_id: str
    scan_xsi_type: str  # e.g. "xnat:mrScanData"

    @property
    def n_files(self) -> int:
        return len(self.files)


@dataclass(frozen=True, slots=True)
class Study:
    """One StudyInstanceUID: one XNAT image session.

    Header values follow the rule of `Series`. `series` are in the order XNAT lists the scans.
    `roots` are the inventory roots holding its files, in the order they were given;
    `common_path` is the deepest path holding all of them (a directory, or the one file or
    zip archive that holds the whole study).
    """

    uid: str
    patient_id: str = field(repr=False)
    patient_name: str = field(repr=False)
    birth_date: str = field(repr=False)
    date: str  # StudyDate, YYYYMMDD as written
    time: str  # StudyTime as written
    description: str
    accession_number: str
    study_id: str
    station_names: tuple[str, ...]  # every distinct StationName, sorted; XNAT joins them with ","
    manufacturer: str
    model: str
    operators: str  # OperatorsName, `\`-separated as written
    institution: str
    magnetic_field_strength: str
    patient_comments: str
    study_comments: str
    additional_patient_history: str
    modalities: tuple[str, ...]  # every Modality of its series, sorted
    roots: tuple[str, ...]
    common_path: str
    session_xsi_type: str  # e.g. "xnat:mrSessionData"; "" when XNAT could build no session
    series: tuple[Series, ...]

    @property
    def n_files(self) -> int:
        return sum(s.n_files for s in self.series)

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.series)

    @property
    def n_bytes(self) -> int:
        return sum(s.n_bytes for s in self.series)

    def scan(self, scan_id: str) -> Series | None:
        return next((s for s in self.series if s.scan_id == scan_id), None)

    def series_by_uid(self, uid: str) -> Series | None:
        return next((s for s in self.series if s.uid == uid), None)

    def iter_files(self) -> Iterator[DicomFile]:
        for s in self.series:
            yield from s.files


def inventory_digest(studies: Iterable[Study]) -> str:
    """sha256 over the sorted, distinct lines `study, series, instance, size` of every file:
    the same for the same DICOM wherever it lies, however the tree is arranged and walked."""
    h = hashlib.sha256(b"xsync-inventory/1\n")
    # Sorting studies, then series, then lines gives the order of sorting all lines, since a
    # tab sorts before every character of a UID; it is faster and needs no list of them all.
    for study in sorted(studies, key=_uid):
        for series in sorted(study.series, key=_uid):
            prefix = f"{study.uid}\t{series.uid}\t"
            lines = [f"{prefix}{f.sop_instance_uid}\t{f.size}\n" for f in series.files]
            # Lines repeat only where SOP instance UIDs do (whose hashes the strings keep).
            if len(set(map(_sop_of, series.files))) != len(lines):
                lines = list(set(lines))
            lines.sort()
            h.update("".join(lines).encode())
    return h.hexdigest()


_sop_of = itemgetter(DicomFile._fields.index("sop_instance_uid"))


def _uid(record: Study | Series) -> str:
    return record.uid


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Inventory:
    """Every study found under `roots` (sorted by UID), and every problem found on the way."""

    roots: tuple[str, ...]
    studies: tuple[Study, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    digest: str = field(init=False)
    _by_uid: dict[str, Study] = field(init=False, repr=False, compare=False)
    _by_patient: dict[str, tuple[Study, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_patient: dict[str, list[Study]] = {}
        for s in self.studies:
            by_patient.setdefault(s.patient_id, []).append(s)
        object.__setattr__(self, "digest", inventory_digest(self.studies))
        object.__setattr__(self, "_by_uid", {s.uid: s for s in self.studies})
        object.__setattr__(self, "_by_patient", {k: tuple(v) for k, v in by_patient.items()})

    def study(self, uid: str) -> Study | None:
        return self._by_uid.get(uid)

    def studies_under(self, path: str | os.PathLike[str]) -> tuple[Study, ...]:
        """Studies all of whose files lie under `path` (a directory, or one file or zip)."""
        wanted = {os.path.abspath(path), os.path.realpath(path)}
        return tuple(s for s in self.studies if any(_is_under(s.common_path, p) for p in wanted))

    def studies_for_patient(self, patient_id: str, date: str | None = None) -> tuple[Study, ...]:
        """Studies of a PatientID, optionally on one StudyDate (YYYYMMDD or YYYY-MM-DD)."""
        found = self._by_patient.get(patient_id, ())
        if date is None:
            return found
        day = date.replace("-", "")
        return tuple(s for s in found if s.date == day)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def n_files(self) -> int:
        return sum(s.n_files for s in self.studies)
