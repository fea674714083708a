"""The session builder: what XNAT's DICOMSessionBuilder makes of a prearchive session's files
(dicom-xnat-mx `org/nrg/dcm/xnat/DICOMSessionBuilder.java`, `DICOMScanBuilder.java`,
`CatalogBuilder.java`, `ImageURIComparator.java`).

One scan per SeriesInstanceUID, scan IDs and order by `xsync.emulator.scan_ids` (SeriesNumber,
`4-MR1` on clashes), session and scan data types by `xsync.emulator.sopmodel`, fields by
`xsync.emulator.fields`. A scan's files are in instance-number order; those of a primary
imaging SOP class are its `DICOM` files and count its `frames`, the others (a secondary capture
in an MR series, a series of screenshots) are its `secondary` files. Files that do not parse
are left out with a warning (they stay on disk; XNAT's archiver then complains about them).

Choice: XNAT keys a series by (SeriesNumber, SeriesInstanceUID) pairs, so files of one UID that
disagree on their number become several scans sharing that UID and its files; the emulator
keeps one scan per UID, numbered by the number its files agree on, the lowest in XNAT's order
when they disagree, the UID when none has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from pathlib import Path

from pydicom.dataset import Dataset

from xsync.emulator import fields, sopmodel
from xsync.emulator.headers import element_text, first_value, read_dataset
from xsync.emulator.scan_ids import SeriesIdentity, assign, compare_maybe_numeric, instance_order, java_int


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
    frames: int  # NumberOfFrames, 1 when absent or not a number
    primary: bool = True  # of a primary imaging SOP class: in `DICOM`, else in `secondary`


@dataclass(frozen=True)
class BuiltScan:
    id: str
    xsi_type: str  # e.g. xnat:mrScanData
    uid: str  # SeriesInstanceUID
    fields: Mapping[str, str]  # item-JSON paths -> values, including `frames`
    files: tuple[BuiltFile, ...]  # in catalog order; `primary` tells DICOM from secondary


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
    sop_classes = {first_value(ds, "SOPClassUID") for ds in datasets}
    modalities = {first_value(ds, "Modality") for ds in datasets}
    session_kind = sopmodel.session_type(sop_classes, modalities)
    if session_kind is None:
        raise BuildError("no session type identified")

    # `modality` is an ordinary session attribute: kept when every file agrees (an MR study
    # with a secondary-capture series of Modality OT has none), as ImageSessionAttributes has it.
    session_fields = fields.evaluate(fields.SESSION_ATTRS, datasets, warnings)
    if session_kind in ("mrSessionData", sopmodel.PETMR_SESSION):
        session_fields.update(fields.evaluate(fields.MR_SESSION_ATTRS, datasets, warnings))
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


def _series_number(members: Sequence[tuple[SourceFile, Dataset]]) -> str:
    numbers = {first_value(ds, "SeriesNumber") for _, ds in members} - {""}
    return min(numbers, key=cmp_to_key(compare_maybe_numeric)) if numbers else ""


def _build_scans(parsed: Sequence[tuple[SourceFile, Dataset]], warnings: list[str]) -> list[BuiltScan]:
    by_series: dict[str, list[tuple[SourceFile, Dataset]]] = {}
    for f, ds in parsed:
        by_series.setdefault(element_text(ds, "SeriesInstanceUID"), []).append((f, ds))
    identities = [
        SeriesIdentity(
            uid=uid,
            number=_series_number(members),
            modalities=frozenset(first_value(ds, "Modality") for _, ds in members) - {""},
        )
        for uid, members in by_series.items()
    ]
    return [_build_scan(scan_id, s.uid, by_series[s.uid], warnings) for scan_id, s in assign(identities)]


def _build_scan(scan_id: str, uid: str, members: list[tuple[SourceFile, Dataset]], warnings: list[str]) -> BuiltScan:
    datasets = [ds for _, ds in members]
    kind = sopmodel.scan_type({first_value(ds, "SOPClassUID") for ds in datasets})
    scan_warnings: list[str] = []
    values = fields.evaluate(fields.SCAN_ATTRS, datasets, scan_warnings)
    if kind == "mrScanData":
        values.update(fields.evaluate(fields.MR_SCAN_ATTRS, datasets, scan_warnings))
    warnings.extend(f"scan {scan_id}: {w}" for w in scan_warnings)

    files = sorted((_built_file(f, ds) for f, ds in members), key=lambda b: (instance_order(b.instance_number), b.name))
    # CatalogBuilder: the frame count is that of the primary files (0 for a scan of screenshots).
    values["frames"] = str(sum(b.frames for b in files if b.primary))
    return BuiltScan(id=scan_id, xsi_type=f"xnat:{kind}", uid=uid, fields=values, files=tuple(files))


def _built_file(f: SourceFile, ds: Dataset) -> BuiltFile:
    frames = java_int(first_value(ds, "NumberOfFrames"))
    sop_class = first_value(ds, "SOPClassUID")
    return BuiltFile(
        name=f.name,
        path=f.path,
        size=f.path.stat().st_size,
        sop_instance_uid=first_value(ds, "SOPInstanceUID"),
        sop_class_uid=sop_class,
        instance_number=first_value(ds, "InstanceNumber"),
        frames=frames if frames is not None else 1,
        primary=sopmodel.is_primary(sop_class),
    )
