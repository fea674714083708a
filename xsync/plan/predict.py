"""What XNAT will store from the DICOM headers when it imports a study (DICOM-IMPORT.md §2):
the session and scan fields it sets, so the plan can show the PUTs that follow an import
as `predicted -> desired` in the same plan."""

from __future__ import annotations

from dataclasses import replace

from xsync.model.inventory import Series, Study
from xsync.spec.remap import HeaderChange

_INVALID_PREFIX = "INVALID: "


def _iso_date(dicom_date: str) -> str:
    d = dicom_date.strip()
    return f"{d[0:4]}-{d[4:6]}-{d[6:8]}" if len(d) >= 8 and d[:8].isdigit() else ""


def _iso_time(dicom_time: str) -> str:
    t = dicom_time.strip().replace(":", "")
    digits = t.split(".")[0]
    if len(digits) < 4 or not digits.isdigit():
        return ""
    digits = (digits + "00")[:6]
    return f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}"


def field_strength(value: str) -> str:
    """MagneticFieldStrength as XNAT stores it: Tesla (from Gauss when >= 500), to 0.5 T."""
    try:
        tesla = float(value)
    except ValueError:
        return ""
    if tesla >= 500:
        tesla /= 10000
    return f"{round(tesla * 2) / 2:.1f}"


def session_fields(study: Study) -> dict[str, str]:
    out = {
        "UID": study.uid,
        "date": _iso_date(study.date),
        "time": _iso_time(study.time),
        "scanner": ",".join(study.station_names),
        "session_type": study.description,
        "acquisition_site": study.institution,
        "operator": study.operators,
    }
    if len(study.modalities) == 1:
        out["modality"] = study.modalities[0]
    if study.session_xsi_type == "xnat:mrSessionData" and study.magnetic_field_strength:
        out["fieldStrength"] = field_strength(study.magnetic_field_strength)
    return {k: v for k, v in out.items() if v}


def scan_type_from(description: str) -> str:
    """The `type` XNAT gives a new scan: its SeriesDescription without a leading `INVALID: `,
    or `unknown` when there is none."""
    text = description.removeprefix(_INVALID_PREFIX)
    return text or "unknown"


def scan_fields(series: Series, study: Study) -> dict[str, str]:
    """Scan fields XNAT sets on import. The inventory keeps StationName and the field strength
    per study, so they are predicted when the study has one value; SeriesTime (scanTime) and
    the coil are not kept, so a spec that manages those sees them as unset until imported."""
    out = {
        "UID": series.uid,
        "type": scan_type_from(series.description),
        "series_description": series.description,
        "quality": "usable",
        "frames": str(series.frames) if series.frames else "",
        "modality": series.modality,
        "scanner": study.station_names[0] if len(study.station_names) == 1 else "",
    }
    if series.scan_xsi_type == "xnat:mrScanData" and study.magnetic_field_strength:
        out["fieldStrength"] = field_strength(study.magnetic_field_strength)
    return {k: v for k, v in out.items() if v}


# The headers the predictions read, by DICOM keyword: (level, attribute of Study or Series).
_PREDICTED_FROM = {
    "StudyDate": ("study", "date"),
    "StudyTime": ("study", "time"),
    "StudyDescription": ("study", "description"),
    "StationName": ("study", "station_names"),
    "InstitutionName": ("study", "institution"),
    "OperatorsName": ("study", "operators"),
    "MagneticFieldStrength": ("study", "magnetic_field_strength"),
    "SeriesDescription": ("series", "description"),
}


def remapped(study: Study, changes: tuple[HeaderChange, ...]) -> Study:
    """The study as XNAT will read it once the header edits are made, for the predictions:
    a set value replaces the local one, a blank or removed attribute reads as absent."""
    study_values: dict[str, object] = {}
    series_values: dict[str, object] = {}
    for change in changes:
        place = _PREDICTED_FROM.get(change.keyword)
        if place is None:
            continue
        level, name = place
        value: object = change.value if change.action in ("set", "route") else ""
        if name == "station_names":
            value = (value,) if value else ()
        (study_values if level == "study" else series_values)[name] = value
    if not study_values and not series_values:
        return study
    series = tuple(replace(s, **series_values) for s in study.series) if series_values else study.series  # type: ignore[arg-type]
    return replace(study, series=series, **study_values)  # type: ignore[arg-type]
