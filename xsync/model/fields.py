"""The XNAT fields xsync can manage: shortcut names (REST-CONTRACT.md §4.2), where they live,
their XSD types and which data types have them. Pure data; the client uses it to build listing
columns and PUT parameters, the plan to validate and normalise values."""

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
    ENUM = "enum"


@dataclass(frozen=True)
class FieldDef:
    name: str  # the shortcut name, as the spec and PUT parameters spell it
    level: Level
    path: str  # relative to the element, as item JSON and listings (lower-cased) name it
    kind: ValueKind = ValueKind.STRING
    owner: str = ""  # the most general xsi type that has the field (without `xnat:`)
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    phi: bool = False  # patient identifiers: never read or printed unless asked


_D = "demographics"

SUBJECT_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("group", Level.SUBJECT, "group", owner="subjectData"),
    FieldDef("src", Level.SUBJECT, "src", owner="subjectData"),
    FieldDef("pi_firstname", Level.SUBJECT, "investigator/firstname", owner="subjectData"),
    FieldDef("pi_lastname", Level.SUBJECT, "investigator/lastname", owner="subjectData"),
    FieldDef("dob", Level.SUBJECT, f"{_D}/dob", ValueKind.DATE, "subjectData", phi=True),
    FieldDef("yob", Level.SUBJECT, f"{_D}/yob", ValueKind.INT, "subjectData"),
    FieldDef("age", Level.SUBJECT, f"{_D}/age", ValueKind.INT, "subjectData", minimum=0),
    FieldDef(
        "gender", Level.SUBJECT, f"{_D}/gender", ValueKind.ENUM, "subjectData",
        choices=("male", "female", "other", "unknown", "M", "F"),
    ),
    FieldDef(
        "handedness", Level.SUBJECT, f"{_D}/handedness", ValueKind.ENUM, "subjectData",
        choices=("left", "right", "ambidextrous", "unknown"),
    ),
    FieldDef("ses", Level.SUBJECT, f"{_D}/ses", ValueKind.INT, "subjectData"),
    FieldDef("education", Level.SUBJECT, f"{_D}/education", ValueKind.INT, "subjectData", minimum=0, maximum=30),
    FieldDef("educationDesc", Level.SUBJECT, f"{_D}/educationDesc", owner="subjectData"),
    FieldDef("race", Level.SUBJECT, f"{_D}/race", owner="subjectData"),
    FieldDef("ethnicity", Level.SUBJECT, f"{_D}/ethnicity", owner="subjectData"),
    FieldDef("weight", Level.SUBJECT, f"{_D}/weight", ValueKind.FLOAT, "subjectData"),
    FieldDef("height", Level.SUBJECT, f"{_D}/height", ValueKind.FLOAT, "subjectData"),
)  # fmt: skip

SESSION_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("visit_id", Level.SESSION, "visit_id", owner="experimentData"),
    FieldDef("visit", Level.SESSION, "visit", owner="experimentData"),
    FieldDef("protocol", Level.SESSION, "protocol", owner="experimentData"),
    FieldDef("date", Level.SESSION, "date", ValueKind.DATE, "experimentData"),
    FieldDef("time", Level.SESSION, "time", ValueKind.TIME, "experimentData"),
    FieldDef("note", Level.SESSION, "note", owner="experimentData", max_length=2500),
    FieldDef("scanner", Level.SESSION, "scanner", owner="imageSessionData", max_length=255),
    FieldDef("operator", Level.SESSION, "operator", owner="imageSessionData", max_length=255),
    FieldDef("session_type", Level.SESSION, "session_type", owner="imageSessionData"),
    FieldDef("modality", Level.SESSION, "modality", owner="imageSessionData"),
    FieldDef("UID", Level.SESSION, "UID", owner="imageSessionData"),
    FieldDef("coil", Level.SESSION, "coil", owner="mrSessionData", max_length=255),
    FieldDef("fieldStrength", Level.SESSION, "fieldStrength", owner="mrSessionData", max_length=255),
    FieldDef("marker", Level.SESSION, "marker", owner="mrSessionData", max_length=255),
    FieldDef("stabilization", Level.SESSION, "stabilization", owner="mrSessionData", max_length=255),
)

SCAN_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("type", Level.SCAN, "type", owner="imageScanData", max_length=255),
    FieldDef("series_description", Level.SCAN, "series_description", owner="imageScanData"),
    FieldDef("quality", Level.SCAN, "quality", owner="imageScanData"),
    FieldDef("condition", Level.SCAN, "condition", owner="imageScanData"),
    FieldDef("note", Level.SCAN, "note", owner="imageScanData", max_length=2500),
    FieldDef("documentation", Level.SCAN, "documentation", owner="imageScanData", max_length=1000),
    FieldDef("scanner", Level.SCAN, "scanner", owner="imageScanData", max_length=255),
    FieldDef("modality", Level.SCAN, "modality", owner="imageScanData"),
    FieldDef("frames", Level.SCAN, "frames", ValueKind.INT, "imageScanData"),
    FieldDef("UID", Level.SCAN, "UID", owner="imageScanData"),
    FieldDef("coil", Level.SCAN, "coil", owner="mrScanData", max_length=255),
    FieldDef("fieldStrength", Level.SCAN, "fieldStrength", owner="mrScanData", max_length=255),
)

FIELDS: dict[Level, dict[str, FieldDef]] = {
    Level.SUBJECT: {f.name: f for f in SUBJECT_FIELDS},
    Level.SESSION: {f.name: f for f in SESSION_FIELDS},
    Level.SCAN: {f.name: f for f in SCAN_FIELDS},
}


def field_def(level: Level, name: str) -> FieldDef | None:
    return FIELDS[level].get(name)


def has_field(xsi_type: str, definition: FieldDef) -> bool:
    """Whether data type `xsi_type` (with or without `xnat:`) has the field.

    Session types other than the generic ones are image sessions; an MR-only field exists
    only on `mrSessionData`/`mrScanData`.
    """
    t = xsi_type.removeprefix("xnat:")
    owner = definition.owner
    if owner in ("subjectData", "experimentData", "imageScanData"):
        return True
    if owner == "imageSessionData":
        return t.endswith("SessionData")
    return t == owner
