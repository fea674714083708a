"""The session builder: what XNAT's DICOMSessionBuilder makes of a prearchive session's files.

One scan per SeriesInstanceUID, scan IDs by `xsync.dicom.scanids` (SeriesNumber, `4-MR1` on
clashes), session and scan data types by `xsync.dicom.sop`, fields by `xsync.emulator.fields`,
and per scan a `DICOM` catalog of the files sorted by instance number. Files that do not parse
are left out with a warning (they stay on disk; XNAT's archiver then complains about them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydicom.dataset import Dataset

from xsync.dicom import sop
from xsync.dicom.scanids import SeriesKey, assign_scan_ids, maybe_numeric_key
from xsync.emulator import fields
from xsync.emulator.headers import element_text, read_dataset


class BuildError(Exception):
    """The files do not make one session (XNAT's build fails; the row turns ERROR)."""


@dataclass(frozen=True)
class SourceFile:
    """A stored file the builder reads: where it is and the name it has in its scan directory."""

    name: str
    path: Path


@dataclass(frozen=True)
class BuiltFile:
    name: str
    path: Path
    size: int
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: str
    frames: int  # NumberOfFrames, 1 when absent
    primary: bool = True  # of the scan's own kind (a secondary capture in an MR series is not)


@dataclass(frozen=True)
class BuiltScan:
    id: str
    xsi_type: str  # e.g. xnat:mrScanData
    uid: str  # SeriesInstanceUID
    fields: Mapping[str, str]  # item-JSON paths -> values, including `frames`
    files: tuple[BuiltFile, ...]  # the DICOM resource, in catalog order


@dataclass(frozen=True)
class BuiltSession:
    xsi_type: str  # e.g. xnat:mrSessionData
    uid: str  # StudyInstanceUID
    fields: Mapping[str, str]  # item-JSON paths -> values (no custom fields)
    custom: Mapping[str, str]  # custom fields, e.g. studyComments
    scans: tuple[BuiltScan, ...]  # in XNAT's scan order
    warnings: tuple[str, ...]  # what XNAT writes to dcmtoxnat.log


def build_session(files: Iterable[SourceFile], prearchive_path: str) -> BuiltSession:
    warnings: list[str] = []
    parsed: list[tuple[SourceFile, Dataset]] = []
    for f in files:
        try:
            ds = read_dataset(f.path.read_bytes(), stop_before_pixels=True)
        except (OSError, ValueError):
            warnings.append(f"{f.name}: not a readable DICOM file; left out")
            continue
        if element_text(ds, "SOPInstanceUID") and element_text(ds, "SeriesInstanceUID"):
            parsed.append((f, ds))
        else:
            warnings.append(f"{f.name}: no SOP Instance or Series Instance UID; left out")
    if not parsed:
        raise BuildError("no DICOM files to build a session from")
    study_uids = {element_text(ds, "StudyInstanceUID") for _, ds in parsed}
    if len(study_uids) != 1:
        raise BuildError(f"{len(study_uids)} Study Instance UIDs in one session")
    datasets = [ds for _, ds in parsed]
    sop_classes = [element_text(ds, "SOPClassUID") for ds in datasets]
    modalities = [element_text(ds, "Modality") for ds in datasets]
    session_kind = sop.session_type(sop_classes, modalities)
    if session_kind is None:
        raise BuildError("no session data type fits these SOP classes and modalities")

    session_fields = fields.evaluate(fields.SESSION_ATTRS, datasets, warnings)
    if session_kind == "mrSessionData":
        session_fields.update(fields.evaluate(fields.MR_SESSION_ATTRS, datasets, warnings))
    # Choice (inferred): the session's modality is the lead modality of its files (an MR
    # study with a secondary-capture series is "MR"), falling back to the common value.
    present = {m for m in modalities if m}
    lead = sop.lead_modality(present) or (present.pop() if len(present) == 1 else None)
    if lead:
        session_fields["modality"] = lead
    custom = {}
    if fields.STUDY_COMMENTS in session_fields:
        custom["studyComments"] = session_fields.pop(fields.STUDY_COMMENTS)
    session_fields["prearchivePath"] = prearchive_path

    return BuiltSession(
        xsi_type=f"xnat:{session_kind}",
        uid=study_uids.pop(),
        fields=session_fields,
        custom=custom,
        scans=tuple(_build_scans(parsed, warnings)),
        warnings=tuple(warnings),
    )


def _build_scans(parsed: Sequence[tuple[SourceFile, Dataset]], warnings: list[str]) -> list[BuiltScan]:
    by_series: dict[str, list[tuple[SourceFile, Dataset]]] = {}
    for f, ds in parsed:
        by_series.setdefault(element_text(ds, "SeriesInstanceUID"), []).append((f, ds))
    keys = [
        SeriesKey(
            uid=uid,
            number=element_text(members[0][1], "SeriesNumber"),
            modalities=frozenset(element_text(ds, "Modality") for _, ds in members),
        )
        for uid, members in by_series.items()
    ]
    scans = []
    for scan_id, key in assign_scan_ids(keys):
        scans.append(_build_scan(scan_id, key.uid, by_series[key.uid], warnings))
    return scans


def _build_scan(scan_id: str, uid: str, members: list[tuple[SourceFile, Dataset]], warnings: list[str]) -> BuiltScan:
    datasets = [ds for _, ds in members]
    kind = sop.scan_type(element_text(ds, "SOPClassUID") for ds in datasets)
    scan_warnings: list[str] = []
    values = fields.evaluate(fields.SCAN_ATTRS, datasets, scan_warnings)
    if kind == "mrScanData":
        values.update(fields.evaluate(fields.MR_SCAN_ATTRS, datasets, scan_warnings))
    warnings.extend(f"scan {scan_id}: {w}" for w in scan_warnings)

    files = sorted(
        (_built_file(f, ds) for f, ds in members),
        key=lambda b: (maybe_numeric_key(b.instance_number), b.name),
    )
    # frames counts the primary objects only (an MR series' secondary captures do not add);
    # a series of secondary objects only counts them all.
    if any(sop.scan_type([b.sop_class_uid]) == kind for b in files):
        files = [replace(b, primary=sop.scan_type([b.sop_class_uid]) == kind) for b in files]
    values["frames"] = str(sum(b.frames for b in files if b.primary))
    return BuiltScan(id=scan_id, xsi_type=f"xnat:{kind}", uid=uid, fields=values, files=tuple(files))


def _built_file(f: SourceFile, ds: Dataset) -> BuiltFile:
    frames = element_text(ds, "NumberOfFrames")
    return BuiltFile(
        name=f.name,
        path=f.path,
        size=f.path.stat().st_size,
        sop_instance_uid=element_text(ds, "SOPInstanceUID"),
        sop_class_uid=element_text(ds, "SOPClassUID"),
        instance_number=element_text(ds, "InstanceNumber"),
        frames=int(frames) if frames.isdigit() and int(frames) > 0 else 1,
    )
