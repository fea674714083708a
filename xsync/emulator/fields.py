"""The session and scan fields XNAT's session builder extracts from DICOM headers
(dicom-xnat `ImageSessionAttributes`, `MRSessionAttributes`, `ImageScanAttributes`,
`MRScanAttributes`), keyed by their path relative to the element, the keys of the item JSON's
`data_fields`: `date`, `scanner/manufacturer`, `parameters/tr`, `parameters/voxelRes/x` ...

A field is written only when every file that carries the attribute agrees on its value (files
without it do not vote); otherwise it is left out and a warning names it, as XNAT writes to
`dcmtoxnat.log`. Warnings name fields only, never values (patient fields are PHI).

Number formats: `Real` attributes are stored as PostgreSQL prints a float8 (`2400`, `3.08`),
which is what XNAT's listings show; `fieldStrength` is an XSD string and keeps Java's
`Double.toString` form (`3.0`), as in NRG's golden files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from xsync.emulator.headers import element_text

FieldValues = dict[str, str]
Extract = Callable[[Dataset], FieldValues | None]

STUDY_COMMENTS = "fields/field[name=studyComments]"  # a custom field, not a column
MULTI_ECHO = "parameters/addParam[name=MultiEcho_TE{}]"
_GAUSS_THRESHOLD = 500.0  # above this the scanner wrote Gauss, not Tesla


# -- value formats ---------------------------------------------------------------------------
def pg_real(x: float) -> str:
    """A float as PostgreSQL prints float8: shortest round-trip form, no trailing `.0`."""
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def java_double(x: float) -> str:
    """`Double.toString` for ordinary magnitudes: `3.0`, `1.5`."""
    return repr(float(x))


def dicom_date(value: str) -> str | None:
    """DA `20061214` (or the old `2006.12.14`) -> `2006-12-14`."""
    digits = value.replace(".", "").replace("-", "").strip()
    if len(digits) != 8 or not digits.isdigit():
        return None
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def dicom_time(value: str) -> str | None:
    """TM `091206.156000` (or `09:12:06`, `0912`) -> `09:12:06`; fractions are dropped."""
    whole = value.replace(":", "").strip().split(".")[0]
    if not whole.isdigit() or len(whole) not in (2, 4, 6):
        return None
    hh, mm, ss = whole[0:2], whole[2:4] or "00", whole[4:6] or "00"
    return f"{hh}:{mm}:{ss}"


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# -- attribute lookup ------------------------------------------------------------------------
def lookup(ds: Dataset, keyword: str, via: str | None = None) -> str:
    """A value at the top level, or (enhanced multi-frame objects) inside the shared, then the
    first per-frame, functional group `via` sequence, as dicom-xnat's chained attributes do."""
    value = element_text(ds, keyword)
    if value or via is None:
        return value
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            item = ds[groups].value[0][via].value[0]
        except (KeyError, IndexError, TypeError, AttributeError):
            continue
        value = element_text(item, keyword)
        if value:
            return value
    return ""


def text(name: str, keyword: str, via: str | None = None) -> Extract:
    def extract(ds: Dataset) -> FieldValues | None:
        value = lookup(ds, keyword, via)
        return {name: value} if value else None

    return extract


def date(name: str, keyword: str) -> Extract:
    def extract(ds: Dataset) -> FieldValues | None:
        value = dicom_date(element_text(ds, keyword))
        return {name: value} if value else None

    return extract


def time(name: str, keyword: str) -> Extract:
    def extract(ds: Dataset) -> FieldValues | None:
        value = dicom_time(element_text(ds, keyword))
        return {name: value} if value else None

    return extract


def real(name: str, keyword: str, via: str | None = None) -> Extract:
    def extract(ds: Dataset) -> FieldValues | None:
        value = _float(lookup(ds, keyword, via))
        return {name: pg_real(value)} if value is not None else None

    return extract


def field_strength(ds: Dataset) -> FieldValues | None:
    """MagneticFieldStrength in Tesla, from Gauss when >= 500, rounded to the nearest 0.5."""
    value = _float(element_text(ds, "MagneticFieldStrength"))
    if value is None:
        return None
    if value >= _GAUSS_THRESHOLD:
        value /= 10000.0
    return {"fieldStrength": java_double(_java_round(value * 2.0) / 2.0)}


def _java_round(x: float) -> int:
    """`Math.round`: halves round up (towards positive infinity)."""
    return math.floor(x + 0.5)


def voxel_res(ds: Dataset) -> FieldValues | None:
    """x, y from PixelSpacing and z from SliceThickness; nothing unless all three are there."""
    spacing = lookup(ds, "PixelSpacing", "PixelMeasuresSequence").split("\\")
    thickness = _float(lookup(ds, "SliceThickness", "PixelMeasuresSequence"))
    if len(spacing) != 2 or thickness is None:
        return None
    x, y = _float(spacing[0]), _float(spacing[1])
    if x is None or y is None:
        return None
    return {
        "parameters/voxelRes/x": pg_real(x),
        "parameters/voxelRes/y": pg_real(y),
        "parameters/voxelRes/z": pg_real(thickness),
    }


def orientation(ds: Dataset) -> FieldValues | None:
    """Sag/Cor/Tra from the image plane normal (ImageOrientationPatient cross product)."""
    parts = lookup(ds, "ImageOrientationPatient", "PlaneOrientationSequence").split("\\")
    values = [_float(p) for p in parts]
    if len(values) != 6 or any(v is None for v in values):
        return None
    o = [float(v) for v in values if v is not None]
    if abs(o[0] * o[3] + o[1] * o[4] + o[2] * o[5]) > 0.001:
        return None  # not orthogonal: XNAT refuses the value
    if abs(1.0 - o[0] ** 2 - o[1] ** 2 - o[2] ** 2) > 0.001 or abs(1.0 - o[3] ** 2 - o[4] ** 2 - o[5] ** 2) > 0.001:
        return None  # not unit vectors
    nx = abs(o[1] * o[5] - o[2] * o[4])
    ny = abs(o[2] * o[3] - o[0] * o[5])
    nz = abs(o[0] * o[4] - o[1] * o[3])
    # The normal's dominant axis: x -> sagittal, y -> coronal, z -> transverse.
    if nx > ny:
        return {"parameters/orientation": "Sag" if nx > nz else "Tra"}
    return {"parameters/orientation": "Cor" if ny > nz else "Tra"}


def fov(ds: Dataset) -> FieldValues | None:
    """The matrix size (not millimetres): x = Columns, y = Rows."""
    rows, cols = element_text(ds, "Rows"), element_text(ds, "Columns")
    if not rows.isdigit() or not cols.isdigit():
        return None
    return {"parameters/fov/x": str(int(cols)), "parameters/fov/y": str(int(rows))}


def echo_time(ds: Dataset) -> FieldValues | None:
    """One entry per echo number (0 when EchoNumbers is absent); combined by `echo_times`."""
    te = _float(lookup(ds, "EchoTime", "MREchoSequence"))
    if te is None:
        return None
    number = element_text(ds, "EchoNumbers").split("\\")[0]
    return {number if number.isdigit() else "0": pg_real(te)}


# -- combining the files' values ---------------------------------------------------------------
def unique(name: str, values: list[FieldValues], warnings: list[str]) -> FieldValues | None:
    distinct = {tuple(sorted(v.items())) for v in values}
    if len(distinct) == 1:
        return values[0]
    warnings.append(f"{name}: no unique value across {len(distinct)} variants; left out")
    return None


def joined(name: str, values: list[FieldValues], warnings: list[str]) -> FieldValues | None:
    """Several StationNames are joined with `,` (dicom-xnat's ValueJoiningAttrDef)."""
    distinct = sorted({v[name] for v in values})
    return {name: ",".join(distinct)}


def echo_times(name: str, values: list[FieldValues], warnings: list[str]) -> FieldValues | None:
    """A single echo gives `parameters/te`; several give `MultiEcho_TE<n>` additional
    parameters; two TEs for one echo number leave everything out."""
    by_echo: dict[str, str] = {}
    for v in values:
        for number, te in v.items():
            if by_echo.setdefault(number, te) != te:
                warnings.append(f"{name}: no unique value for echo {number}; left out")
                return None
    if len(by_echo) == 1:
        return {name: next(iter(by_echo.values()))}
    return {MULTI_ECHO.format(n): te for n, te in sorted(by_echo.items(), key=lambda kv: int(kv[0]))}


Combine = Callable[[str, list[FieldValues], list[str]], FieldValues | None]


@dataclass(frozen=True)
class Attr:
    name: str
    extract: Extract
    combine: Combine = unique


def _attr(name: str, extract: Extract, combine: Combine = unique) -> Attr:
    return Attr(name, extract, combine)


SESSION_ATTRS: tuple[Attr, ...] = (
    _attr("date", date("date", "StudyDate")),
    _attr("time", time("time", "StudyTime")),
    _attr("acquisition_site", text("acquisition_site", "InstitutionName")),
    _attr(STUDY_COMMENTS, text(STUDY_COMMENTS, "StudyComments")),
    _attr("UID", text("UID", "StudyInstanceUID")),
    _attr("session_type", text("session_type", "StudyDescription")),
    _attr("modality", text("modality", "Modality")),
    _attr("scanner", text("scanner", "StationName"), joined),
    _attr("scanner/manufacturer", text("scanner/manufacturer", "Manufacturer")),
    _attr("scanner/model", text("scanner/model", "ManufacturerModelName")),
    _attr("operator", text("operator", "OperatorsName")),
    _attr("dcmAccessionNumber", text("dcmAccessionNumber", "AccessionNumber")),
    _attr("study_id", text("study_id", "StudyID")),
    _attr("dcmPatientId", text("dcmPatientId", "PatientID")),
    _attr("dcmPatientName", text("dcmPatientName", "PatientName")),
    _attr("dcmPatientBirthDate", date("dcmPatientBirthDate", "PatientBirthDate")),
    _attr("dcmPatientWeight", text("dcmPatientWeight", "PatientWeight")),
)

MR_SESSION_ATTRS: tuple[Attr, ...] = (_attr("fieldStrength", field_strength),)

SCAN_ATTRS: tuple[Attr, ...] = (
    _attr("UID", text("UID", "SeriesInstanceUID")),
    _attr("series_description", text("series_description", "SeriesDescription")),
    _attr("modality", text("modality", "Modality")),
    _attr("scanner", text("scanner", "StationName")),
    _attr("scanner/manufacturer", text("scanner/manufacturer", "Manufacturer")),
    _attr("scanner/model", text("scanner/model", "ManufacturerModelName")),
    _attr("startTime", time("startTime", "SeriesTime")),
    _attr("start_date", date("start_date", "SeriesDate")),
    _attr("protocolName", text("protocolName", "ProtocolName")),
    _attr("bodyPartExamined", text("bodyPartExamined", "BodyPartExamined")),
)

MR_SCAN_ATTRS: tuple[Attr, ...] = (
    _attr("parameters/voxelRes", voxel_res),
    _attr("parameters/orientation", orientation),
    _attr("coil", text("coil", "ReceiveCoilName", "MRReceiveCoilSequence")),
    _attr("fieldStrength", field_strength),
    _attr("parameters/tr", real("parameters/tr", "RepetitionTime", "MRTimingAndRelatedParametersSequence")),
    _attr("parameters/te", echo_time, echo_times),
    _attr("parameters/ti", real("parameters/ti", "InversionTime", "MRTimingAndRelatedParametersSequence")),
    _attr("parameters/flip", real("parameters/flip", "FlipAngle", "MRTimingAndRelatedParametersSequence")),
    _attr("parameters/sequence", text("parameters/sequence", "SequenceName")),
    _attr("parameters/imageType", text("parameters/imageType", "ImageType")),
    _attr("parameters/scanSequence", text("parameters/scanSequence", "ScanningSequence")),
    _attr("parameters/seqVariant", text("parameters/seqVariant", "SequenceVariant")),
    _attr("parameters/scanOptions", text("parameters/scanOptions", "ScanOptions")),
    _attr("parameters/acqType", text("parameters/acqType", "MRAcquisitionType")),
    _attr(
        "parameters/pixelBandwidth", real("parameters/pixelBandwidth", "PixelBandwidth", "MRImagingModifierSequence")
    ),
    _attr("parameters/fov", fov),
)


def evaluate(attrs: Iterable[Attr], datasets: Sequence[Dataset], warnings: list[str]) -> FieldValues:
    """Every attribute's combined value over `datasets`; attributes no file carries are absent."""
    out: FieldValues = {}
    for attr in attrs:
        values = [v for v in (attr.extract(ds) for ds in datasets) if v]
        if not values:
            continue
        combined = attr.combine(attr.name, values, warnings)
        if combined:
            out.update(combined)
    return out


_INVALID_PREFIX = re.compile(r"^INVALID: ")


def archive_scan_type(series_description: str) -> str:
    """The `type` XNAT fills in at archive time: the SeriesDescription without a leading
    `INVALID: `, `unknown` when there is none."""
    value = _INVALID_PREFIX.sub("", series_description)
    return value or "unknown"
