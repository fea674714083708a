"""The field catalog: every XNAT field xsync reads or manages, known once.

For each field: its level (subject, session, scan), the spec key (XNAT's shortcut name where it
has one), the data types that have it and where (`Placement`: owner type and path relative to
it), how XNAT takes its value (kind and bounds), whether the spec may manage it, and whether it
is a patient identifier. Everything else derives from here: the spec's models, type checks and
JSON schema (`spec/`), the listing columns and row keys (`xnat/wire.py`), the PUT parameters
(`xnat/write.py`), and how values compare (`model/values.py`).

Facts from XNAT's source that shape the table (web/.../helpers/xmlpath/XMLPathShortcuts.java):
- Shortcuts are kept in one Hashtable per family (scans, experiments, subjects), so a name
  registered twice keeps its last path: `stabilization` means xnat:petSessionData/stabilization
  and `tracer_isotope` means `.../tracer/isotope/half-life`. An MR session's stabilization and a
  PET session's isotope name are therefore written and read by xpath, never by shortcut.
- A PUT parameter naming a type the item is not (a sibling type) is ignored with 200
  (XNAT-7176), so a parameter is always a shortcut that resolves to the item's own lineage or
  an xpath rooted at the item's own type.
- `acquisition_site` has no shortcut at all.
- xnat:petmrSessionData extends xnat:imageSessionData and declares the MR and the PET session
  fields itself: every shortcut of those names a sibling type, so on PET-MR sessions they are all
  written and read by xpath.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from xsync.model import xsitypes as t


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


JAVA_INT_MIN, JAVA_INT_MAX = -(2**31), 2**31 - 1
# XFT stores an xs:string without maxLength in a varchar(255) column; XNAT escapes a PUT value for
# XML (`&` -> `&amp;`) before it validates and stores it, so lengths count the escaped text.
TEXT_MAX_DEFAULT = 255


@dataclass(frozen=True)
class Bounds:
    """What XNAT's validator accepts: text length (xs:maxLength, else the column's 255, counted
    after XML escaping), whole-number range (xs:integer parsed as a Java int, narrowed where the
    schema narrows it), or an enumeration (compared case-insensitively)."""

    max_length: int = TEXT_MAX_DEFAULT
    low: int = JAVA_INT_MIN
    high: int = JAVA_INT_MAX
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where one data type keeps the field: `owner` (a full type name) and the path relative to
    it, as item JSON and xpaths spell it. `shortcut` says whether the field's shortcut name
    resolves to this placement in XNAT (see the module docstring)."""

    owner: str
    path: str
    shortcut: bool = True

    @property
    def xpath(self) -> str:
        return f"{self.owner}/{self.path}"


@dataclass(frozen=True)
class FieldDef:
    name: str  # the spec key; XNAT's shortcut name where the field has one
    level: Level
    kind: ValueKind
    placements: tuple[Placement, ...]
    bounds: Bounds = field(default_factory=Bounds)
    settable: bool = True  # the spec may manage it (False: read for identity or display only)
    phi: bool = False  # a patient identifier: read only when managed, never shown unless asked

    def placement(self, xsi_type: str) -> Placement | None:
        """Where a `xsi_type` item keeps the field (through its base types); None if it has none."""
        lineage = t.lineage(xsi_type)
        for owner in lineage:
            for p in self.placements:
                if p.owner == owner:
                    return p
        return None

    def applies_to(self, xsi_type: str) -> bool:
        return self.placement(xsi_type) is not None

    @property
    def generic(self) -> bool:
        """Every item of the level has it (subject, experiment, image scan)."""
        return any(p.owner in _LEVEL_ROOTS for p in self.placements)

    def owners(self) -> tuple[str, ...]:
        return tuple(p.owner for p in self.placements)

    def put_parameter(self, xsi_type: str) -> str:
        """The PUT parameter that sets the field on an item of `xsi_type`: the shortcut where it
        resolves to the item's lineage, else the xpath rooted at the item's own type."""
        p = self._required(xsi_type)
        return self.name if p.shortcut else f"{xsi_type}/{p.path}"

    def listing_column(self, xsi_type: str) -> str:
        """The `columns=` entry of a subject or experiment listing rooted at `xsi_type`."""
        p = self._required(xsi_type)
        return self.name if p.shortcut else p.xpath

    def listing_keys(self, xsi_type: str) -> tuple[str, ...]:
        """The keys a row may carry the value under: XNAT names a column by the shortcut whose
        path it is, else by its lower-cased xpath (REST-CONTRACT.md §2.1). Both are accepted, the
        expected one first, so a server whose shortcut table differs still reads right."""
        p = self._required(xsi_type)
        return (self.name, p.xpath.lower()) if p.shortcut else (p.xpath.lower(), self.name)

    def path_in(self, xsi_type: str) -> str:
        """The field's path relative to an item of `xsi_type` (which must have it)."""
        return self._required(xsi_type).path

    def _required(self, xsi_type: str) -> Placement:
        p = self.placement(xsi_type)
        if p is None:
            raise ValueError(f"{xsi_type} has no field {self.name}")
        return p


_LEVEL_ROOTS = frozenset({t.SUBJECT, t.EXPERIMENT, t.IMAGE_SCAN})

S, E, C = Level.SUBJECT, Level.SESSION, Level.SCAN
K = ValueKind
_TEXT255 = Bounds(max_length=255)
_NAME = Bounds(max_length=25)  # xnat:investigatorData first and last names
_NOTE = Bounds(max_length=2500)  # experiment and scan `note`
_VALIDATION_NOTES = Bounds(max_length=500)
GENDERS = ("male", "female", "other", "unknown", "M", "F")
HANDEDNESS = ("left", "right", "ambidextrous", "unknown")


def _on(owner: str, path: str, shortcut: bool = True) -> tuple[Placement, ...]:
    return (Placement(owner, path, shortcut),)


def _f(name: str, level: Level, kind: ValueKind, placements: tuple[Placement, ...], bounds: Bounds | None = None,
       *, settable: bool = True, phi: bool = False) -> FieldDef:  # fmt: skip
    return FieldDef(name, level, kind, placements, bounds or Bounds(), settable, phi)


def _subject(name: str, kind: ValueKind = K.STRING, path: str | None = None, bounds: Bounds | None = None,
             *, phi: bool = False) -> FieldDef:  # fmt: skip
    return _f(name, S, kind, _on(t.SUBJECT, path or name), bounds, phi=phi)


def _demographic(name: str, kind: ValueKind = K.STRING, bounds: Bounds | None = None, *, phi: bool = False) -> FieldDef:
    return _subject(name, kind, f"demographics/{name}", bounds, phi=phi)


_PET_TRACER = "tracer/"


def _mr(path: str, *, shortcut: bool = True) -> tuple[Placement, ...]:
    """An MR session field: by shortcut on MR sessions, by xpath on PET-MR ones."""
    return (Placement(t.MR_SESSION, path, shortcut), Placement(t.PETMR_SESSION, path, shortcut=False))


def _pet(path: str, *, shortcut: bool = True) -> tuple[Placement, ...]:
    """A PET session field: by shortcut on PET sessions, by xpath on PET-MR ones."""
    return (Placement(t.PET_SESSION, path, shortcut), Placement(t.PETMR_SESSION, path, shortcut=False))


CATALOG: tuple[FieldDef, ...] = (
    # -- subjects (xnat:subjectData, demographics as xnat:demographicData)
    _subject("group"),
    _subject("src"),
    _subject("pi_firstname", path="investigator/firstname", bounds=_NAME),
    _subject("pi_lastname", path="investigator/lastname", bounds=_NAME),
    _demographic("dob", K.DATE, phi=True),
    _demographic("yob", K.INT),
    _demographic("age", K.INT),
    _demographic("gender", K.ENUM, Bounds(choices=GENDERS)),
    _demographic("handedness", K.ENUM, Bounds(choices=HANDEDNESS)),
    _demographic("ses", K.INT),
    _demographic("education", K.INT, Bounds(low=0, high=30)),
    _demographic("educationDesc"),
    _demographic("race"),
    _demographic("ethnicity"),
    _demographic("weight", K.FLOAT),
    _demographic("height", K.FLOAT),
    _demographic("gestational_age", K.FLOAT),
    _demographic("post_menstrual_age", K.FLOAT),
    _demographic("birth_weight", K.FLOAT),
    # -- sessions: every experiment, then image sessions, then MR and PET sessions
    _f("date", E, K.DATE, _on(t.EXPERIMENT, "date")),
    _f("time", E, K.TIME, _on(t.EXPERIMENT, "time")),
    _f("visit_id", E, K.STRING, _on(t.EXPERIMENT, "visit_id")),
    _f("protocol", E, K.STRING, _on(t.EXPERIMENT, "protocol")),
    _f("note", E, K.STRING, _on(t.EXPERIMENT, "note"), _NOTE),
    _f("pi_firstname", E, K.STRING, _on(t.EXPERIMENT, "investigator/firstname"), _NAME),
    _f("pi_lastname", E, K.STRING, _on(t.EXPERIMENT, "investigator/lastname"), _NAME),
    _f("validation_method", E, K.STRING, _on(t.EXPERIMENT, "validation/method")),
    _f("validation_status", E, K.STRING, _on(t.EXPERIMENT, "validation/status")),
    _f("validation_date", E, K.DATE, _on(t.EXPERIMENT, "validation/date")),
    _f("validation_notes", E, K.STRING, _on(t.EXPERIMENT, "validation/notes"), _VALIDATION_NOTES),
    _f("scanner", E, K.STRING, _on(t.IMAGE_SESSION, "scanner")),
    _f("operator", E, K.STRING, _on(t.IMAGE_SESSION, "operator"), _TEXT255),
    _f("session_type", E, K.STRING, _on(t.IMAGE_SESSION, "session_type")),
    _f("acquisition_site", E, K.STRING, _on(t.IMAGE_SESSION, "acquisition_site", shortcut=False)),
    _f("coil", E, K.STRING, _mr("coil"), _TEXT255),
    _f("fieldStrength", E, K.STRING, _mr("fieldStrength"), _TEXT255),
    _f("marker", E, K.STRING, _mr("marker"), _TEXT255),
    _f("stabilization", E, K.STRING, _mr("stabilization", shortcut=False) + _pet("stabilization")[:1], _TEXT255),
    _f("studyType", E, K.STRING, _pet("studyType")),
    _f("tracer_name", E, K.STRING, _pet(_PET_TRACER + "name")),
    _f("tracer_isotope", E, K.STRING, _pet(_PET_TRACER + "isotope", shortcut=False)),
    _f("tracer_dose", E, K.FLOAT, _pet(_PET_TRACER + "dose")),
    _f("tracer_sa", E, K.FLOAT, _pet(_PET_TRACER + "specificActivity")),
    _f("tracer_totalmass", E, K.FLOAT, _pet(_PET_TRACER + "totalMass")),
    _f("tracer_intermediate", E, K.FLOAT, _pet(_PET_TRACER + "intermediate")),
    _f("tracer_transmissions", E, K.INT, _pet(_PET_TRACER + "transmissions")),
    _f("tracer_startTime", E, K.DATETIME, _pet(_PET_TRACER + "startTime")),
    _f("tracer_transmissions_start", E, K.DATETIME, _pet(_PET_TRACER + "transmissions_starttime")),
    _f("scan_start_time", E, K.DATETIME, _pet("start_time_scan")),
    _f("injection_start_time", E, K.DATETIME, _pet("start_time_injection")),
    # read for identity and display; XNAT sets them from the DICOM
    _f("visit", E, K.STRING, _on(t.EXPERIMENT, "visit"), settable=False),
    _f("modality", E, K.STRING, _on(t.IMAGE_SESSION, "modality"), settable=False),
    _f("UID", E, K.STRING, _on(t.IMAGE_SESSION, "UID"), settable=False),
    # -- scans: every image scan, then MR scans
    _f("type", C, K.STRING, _on(t.IMAGE_SCAN, "type")),
    _f("series_description", C, K.STRING, _on(t.IMAGE_SCAN, "series_description")),
    _f("quality", C, K.STRING, _on(t.IMAGE_SCAN, "quality")),
    _f("condition", C, K.STRING, _on(t.IMAGE_SCAN, "condition")),
    _f("note", C, K.STRING, _on(t.IMAGE_SCAN, "note"), _NOTE),
    _f("documentation", C, K.STRING, _on(t.IMAGE_SCAN, "documentation"), Bounds(max_length=1000)),
    _f("scanner", C, K.STRING, _on(t.IMAGE_SCAN, "scanner")),
    _f("validation_method", C, K.STRING, _on(t.IMAGE_SCAN, "validation/method")),
    _f("validation_status", C, K.STRING, _on(t.IMAGE_SCAN, "validation/status")),
    _f("validation_date", C, K.DATE, _on(t.IMAGE_SCAN, "validation/date")),
    _f("validation_notes", C, K.STRING, _on(t.IMAGE_SCAN, "validation/notes"), _VALIDATION_NOTES),
    _f("scanTime", C, K.TIME, _on(t.IMAGE_SCAN, "startTime")),
    _f("coil", C, K.STRING, _on(t.MR_SCAN, "coil"), _TEXT255),
    _f("fieldStrength", C, K.STRING, _on(t.MR_SCAN, "fieldStrength"), _TEXT255),
    _f("marker", C, K.STRING, _on(t.MR_SCAN, "marker"), _TEXT255),
    _f("stabilization", C, K.STRING, _on(t.MR_SCAN, "stabilization"), _TEXT255),
    _f("modality", C, K.STRING, _on(t.IMAGE_SCAN, "modality"), settable=False),
    _f("frames", C, K.INT, _on(t.IMAGE_SCAN, "frames"), settable=False),
    _f("UID", C, K.STRING, _on(t.IMAGE_SCAN, "UID"), settable=False),
)

FIELDS: dict[Level, dict[str, FieldDef]] = {level: {f.name: f for f in CATALOG if f.level is level} for level in Level}

# The data type every item of a level is, and whether the level has custom variables
# (`fields/field` in xnat.xsd: subjects and experiments have them, scans do not).
LEVEL_TYPE: dict[Level, str] = {S: t.SUBJECT, E: t.EXPERIMENT, C: t.IMAGE_SCAN}
HAS_CUSTOM_FIELDS: dict[Level, bool] = {S: True, E: True, C: False}


def field_def(level: Level, name: str) -> FieldDef | None:
    return FIELDS[level].get(name)


def fields_of(level: Level, xsi_type: str, *, phi: bool = False) -> Iterator[FieldDef]:
    """The fields an item of `xsi_type` has, in catalog order; patient identifiers only when
    `phi` (the spec manages them)."""
    for f in FIELDS[level].values():
        if (phi or not f.phi) and f.applies_to(xsi_type):
            yield f


def custom_parameter(xsi_type: str, name: str) -> str:
    """The PUT parameter that sets custom variable `name` on an item of `xsi_type`: its own type
    in front, the one spelling every XNAT version stores."""
    return f"{xsi_type}/fields/field[name={name}]/field"


def custom_columns(xsi_type: str) -> tuple[str, str]:
    """The listing join columns of custom variables: (name, value), one row per variable."""
    return (f"{xsi_type}/fields/field/name", f"{xsi_type}/fields/field/field")


def phi_names(level: Level) -> frozenset[str]:
    return frozenset(f.name for f in FIELDS[level].values() if f.phi)
