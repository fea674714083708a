"""The XNAT fields xsync can manage: shortcut names (REST-CONTRACT.md §4.2), where they live,
their XSD types and which data types have them. Pure data; the client uses it to build listing
columns, the plan to normalise values before comparing them.

The names are the spec's keys and the PUT parameters (`gender`, `series_description`,
`fieldStrength`); custom variables are kept apart and never listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    SUBJECT = "subject"
    SESSION = "session"
    SCAN = "scan"


class ValueKind(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    ENUM = "enum"


@dataclass(frozen=True)
class FieldDef:
    name: str  # the shortcut name, as the spec and PUT parameters spell it
    level: Level
    path: str  # relative to the element, as item JSON and (lower-cased) join columns name it
    kind: ValueKind = ValueKind.STRING
    owner: str = ""  # the data type that defines it (without `xnat:`)
    shortcut: bool = True  # False: not a listing shortcut, read by its xpath
    phi: bool = False  # a patient identifier: never read or printed unless asked


def _f(name: str, level: Level, path: str | None = None, kind: ValueKind = ValueKind.STRING, owner: str = "",
       **kw: bool) -> FieldDef:  # fmt: skip
    return FieldDef(name, level, path or name, kind, owner, **kw)


S, E, C = Level.SUBJECT, Level.SESSION, Level.SCAN
K = ValueKind
D = "demographics/"

SUBJECT_FIELDS: tuple[FieldDef, ...] = (
    _f("group", S, owner="subjectData"),
    _f("src", S, owner="subjectData"),
    _f("pi_firstname", S, "investigator/firstname", owner="subjectData"),
    _f("pi_lastname", S, "investigator/lastname", owner="subjectData"),
    _f("dob", S, D + "dob", K.DATE, "subjectData", phi=True),
    _f("yob", S, D + "yob", K.INT, "subjectData"),
    _f("age", S, D + "age", K.INT, "subjectData"),
    _f("gender", S, D + "gender", K.ENUM, "subjectData"),
    _f("handedness", S, D + "handedness", K.ENUM, "subjectData"),
    _f("ses", S, D + "ses", K.INT, "subjectData"),
    _f("education", S, D + "education", K.INT, "subjectData"),
    _f("educationDesc", S, D + "educationDesc", owner="subjectData"),
    _f("race", S, D + "race", owner="subjectData"),
    _f("ethnicity", S, D + "ethnicity", owner="subjectData"),
    _f("weight", S, D + "weight", K.FLOAT, "subjectData"),
    _f("height", S, D + "height", K.FLOAT, "subjectData"),
    _f("gestational_age", S, D + "gestational_age", K.FLOAT, "subjectData"),
    _f("post_menstrual_age", S, D + "post_menstrual_age", K.FLOAT, "subjectData"),
    _f("birth_weight", S, D + "birth_weight", K.FLOAT, "subjectData"),
)

_PET = "petSessionData"
SESSION_FIELDS: tuple[FieldDef, ...] = (
    _f("date", E, kind=K.DATE, owner="experimentData"),
    _f("time", E, kind=K.TIME, owner="experimentData"),
    _f("visit_id", E, owner="experimentData"),
    _f("visit", E, owner="experimentData"),
    _f("protocol", E, owner="experimentData"),
    _f("note", E, owner="experimentData"),
    _f("pi_firstname", E, "investigator/firstname", owner="experimentData"),
    _f("pi_lastname", E, "investigator/lastname", owner="experimentData"),
    _f("validation_method", E, "validation/method", owner="experimentData"),
    _f("validation_status", E, "validation/status", owner="experimentData"),
    _f("validation_date", E, "validation/date", K.DATE, "experimentData"),
    _f("validation_notes", E, "validation/notes", owner="experimentData"),
    _f("scanner", E, owner="imageSessionData"),
    _f("operator", E, owner="imageSessionData"),
    _f("session_type", E, owner="imageSessionData"),
    _f("modality", E, owner="imageSessionData"),
    _f("UID", E, owner="imageSessionData"),
    _f("acquisition_site", E, owner="imageSessionData", shortcut=False),
    _f("coil", E, owner="mrSessionData"),
    _f("fieldStrength", E, owner="mrSessionData"),
    _f("marker", E, owner="mrSessionData"),
    _f("stabilization", E, owner="mrSessionData"),
    _f("studyType", E, owner=_PET),
    _f("tracer_name", E, "tracer/name", owner=_PET),
    _f("tracer_isotope", E, "tracer/isotope", owner=_PET),
    _f("tracer_dose", E, "tracer/dose", K.FLOAT, _PET),
    _f("tracer_sa", E, "tracer/specificActivity", K.FLOAT, _PET),
    _f("tracer_totalmass", E, "tracer/totalMass", K.FLOAT, _PET),
    _f("tracer_intermediate", E, "tracer/intermediate", K.FLOAT, _PET),
    _f("tracer_transmissions", E, "tracer/transmissions", K.INT, _PET),
    _f("tracer_startTime", E, "tracer/startTime", K.DATETIME, _PET),
    _f("tracer_transmissions_start", E, "tracer/transmissions_starttime", K.DATETIME, _PET),
    _f("scan_start_time", E, "start_time_scan", K.DATETIME, _PET),
    _f("injection_start_time", E, "start_time_injection", K.DATETIME, _PET),
)

SCAN_FIELDS: tuple[FieldDef, ...] = (
    _f("type", C, owner="imageScanData"),
    _f("series_description", C, owner="imageScanData"),
    _f("quality", C, owner="imageScanData"),
    _f("condition", C, owner="imageScanData"),
    _f("note", C, owner="imageScanData"),
    _f("documentation", C, owner="imageScanData"),
    _f("scanner", C, owner="imageScanData"),
    _f("modality", C, owner="imageScanData"),
    _f("frames", C, kind=K.INT, owner="imageScanData"),
    _f("UID", C, owner="imageScanData"),
    _f("validation_method", C, "validation/method", owner="imageScanData"),
    _f("validation_status", C, "validation/status", owner="imageScanData"),
    _f("validation_date", C, "validation/date", K.DATE, "imageScanData"),
    _f("validation_notes", C, "validation/notes", owner="imageScanData"),
    _f("scanTime", C, "startTime", K.TIME, "imageScanData"),
    _f("coil", C, owner="mrScanData"),
    _f("fieldStrength", C, owner="mrScanData"),
    _f("marker", C, owner="mrScanData"),
    _f("stabilization", C, owner="mrScanData"),
)

FIELDS: dict[Level, dict[str, FieldDef]] = {
    Level.SUBJECT: {f.name: f for f in SUBJECT_FIELDS},
    Level.SESSION: {f.name: f for f in SESSION_FIELDS},
    Level.SCAN: {f.name: f for f in SCAN_FIELDS},
}

_GENERIC_OWNERS = frozenset({"subjectData", "experimentData", "imageScanData"})


def field_def(level: Level, name: str) -> FieldDef | None:
    return FIELDS[level].get(name)


def has_field(xsi_type: str, definition: FieldDef) -> bool:
    """Whether data type `xsi_type` (with or without `xnat:`) has the field: generic fields
    everywhere, image-session fields on every `...SessionData`, type-specific ones on their
    type only."""
    t = xsi_type.removeprefix("xnat:")
    if definition.owner in _GENERIC_OWNERS:
        return True
    if definition.owner == "imageSessionData":
        return t.endswith("SessionData")
    return t == definition.owner
