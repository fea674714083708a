"""XNAT's display fields: the named columns a search (`POST /data/search`) selects and filters
on, listed per data type by `/data/search/elements/{type}` (DisplayManager, SearchFieldListResource).

XNAT reads them from a display document per data type (`<type>_display.xml`, shipped with the
data models, not with XNAT's source). The emulator builds its own catalogue instead:
- every simple field of the type gets one, its ID the field's SQL name upper-cased
  (`scanner/manufacturer` -> `SCANNER_MANUFACTURER`), its header the field's name: the rule
  XNAT's own generator of display documents follows (`JavaFileGenerator.addDisplayFields`);
- the named fields that generator writes for every experiment (`EXPT_ID`, `SUBJECT_ID`, `DATE`,
  `LABEL`, `PROJECT`, `AGE`, `INSERT_DATE`, `INSERT_USER`, `<TYPE>_FIELD_MAP`) and for other
  types (`INSERT_DATE`, `INSERT_USER`);
- the IDs XNAT's code and the common clients name for the hand-written documents: `SESSION_ID`,
  `SCANNER`, `OPERATOR` for sessions (QuickSearchAction, xnatpy's experiment search), and for
  subjects `SUBJECTID`, `SUBJECT_ID`, `SUBJECT_LABEL`, `GENDER_TEXT`, `HANDEDNESS_TEXT`, `DOB`,
  `YOB`, `EDUC`, `SES`, `RACE`, `ETHNICITY`, `AGE` (QuickSearchAction, the subject listing
  template, pyxnat's documented searches).
When two fields show the same value, the one listed first answers for its xpath (an xpath
column such as `xnat:mrSessionData/ID` is shown as the display field of that path: SESSION_ID).

A `Record` is one row before columns are chosen: a project and, below it, a subject, an
experiment and a scan, as deep as the search's data type goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

from xsync.emulator import xsd
from xsync.emulator.store import Experiment, Project, Scan, Subject
from xsync.emulator.xsd_types import FieldSpec

PROJECT, SUBJECT = "xnat:projectData", "xnat:subjectData"
EXPERIMENT, SCAN = "xnat:experimentData", "xnat:imageScanData"
FIELD_MAP = "_FIELD_MAP"


@dataclass(frozen=True)
class Record:
    project: Project
    subject: Subject | None = None
    experiment: Experiment | None = None
    scan: Scan | None = None


Value = Callable[[Record], str | None]


@dataclass(frozen=True)
class DisplayField:
    id: str
    header: str
    element: str  # the data type it belongs to, e.g. xnat:mrSessionData
    type: str  # string, integer, float, date ...
    value: Value
    path: str | None = None  # the field it shows (relative to the element), for xpath lookups
    needs_value: bool = False  # a field map: `ID=name` picks the custom variable


def level(element: str) -> int:
    """0 project, 1 subject, 2 experiment, 3 scan; -1 for types no search reaches."""
    if element == PROJECT:
        return 0
    if element == SUBJECT:
        return 1
    if xsd.is_a(element, EXPERIMENT):
        return 2
    if xsd.is_a(element, SCAN):
        return 3
    return -1


def searchable_types() -> list[str]:
    """The data types `/data/search/elements` lists: projects, subjects, and every session and
    scan type with a root element (the types XNAT registers element security for)."""
    sessions = sorted(t.name for t in xsd.TYPES.values() if t.element and level(t.name) == 2)
    scans = sorted(t.name for t in xsd.TYPES.values() if t.element and level(t.name) == 3)
    return [PROJECT, SUBJECT, *sessions, *scans]


def canonical(element: str) -> str | None:
    if element.lower() == PROJECT.lower():
        return PROJECT
    name = xsd.canonical(element) or xsd.element_type(element)
    return name if name is not None and level(name) >= 0 else None


def singular(element: str) -> str:
    """`Project`, `Subject`, `MR Session`, `CT Scan` ...: the element name, its kind split off."""
    if element == PROJECT:
        return "Project"
    t = xsd.get(element)
    name = t.element if t is not None and t.element else element.split(":", 1)[-1]
    return re.sub(r"(Session|Scan)$", r" \1", name).strip()


# -- values ---------------------------------------------------------------------------------------
def item_of(record: Record, element: str) -> Project | Subject | Experiment | Scan | None:
    """The record's item of this data type (None when the record has no such item)."""
    lvl = level(element)
    if lvl == 0:
        return record.project
    if lvl == 1:
        return record.subject
    if lvl == 2:
        e = record.experiment
        return e if e is not None and xsd.is_a(e.xsi_type, element) else None
    if lvl == 3:
        s = record.scan
        return s if s is not None and xsd.is_a(s.xsi_type, element) else None
    return None


def stored(record: Record, element: str, path: str) -> str | None:
    """The stored value of a field (a path relative to the element) on the record's item."""
    item = item_of(record, element)
    if item is None:
        return None
    key = path.strip("/")
    if isinstance(item, Project):
        return _project_value(item, key)
    identity: dict[str, str] = {"ID": item.id}
    if isinstance(item, Subject):
        identity.update(project=item.project, label=item.label)
    elif isinstance(item, Experiment):
        identity.update(project=item.project, label=item.label, subject_ID=item.subject_id)
    elif record.experiment is not None:
        identity.update(image_session_ID=record.experiment.id, project=record.experiment.project)
    spec = xsd.field(_type_of(item), key)
    canonical_key = spec.path if spec is not None else xsd.strip_predicates(key)
    for k, v in identity.items():
        if k.lower() == canonical_key.lower():
            return v
    return item.fields.get(canonical_key)


def _type_of(item: Subject | Experiment | Scan) -> str:
    return SUBJECT if isinstance(item, Subject) else item.xsi_type


def _project_value(p: Project, key: str) -> str | None:
    values = {
        "id": p.id,
        "secondary_id": p.secondary_id,
        "name": p.name,
        "description": p.description,
        "keywords": p.keywords,
        "pi/firstname": p.pi_firstname,
        "pi/lastname": p.pi_lastname,
    }
    return values.get(key.lower()) or None


def custom_value(record: Record, element: str, name: str) -> str | None:
    item = item_of(record, element)
    if item is None:
        return None
    for k, v in item.custom.items():
        if k.lower() == name.lower():
            return v
    return None


def _field(element: str, path: str) -> Value:
    return lambda r: stored(r, element, path)


def _insert_date(element: str) -> Value:
    def value(r: Record) -> str | None:
        item = item_of(r, element)
        return item.insert_date if item is not None else None

    return value


def _insert_user(element: str) -> Value:
    def value(r: Record) -> str | None:
        item = item_of(r, element)
        if item is None or isinstance(item, Project):
            return "admin" if item is not None else None
        return item.insert_user

    return value


def _label(element: str) -> Value:
    """COALESCE(label, ID), as the generator's LABEL field."""
    return lambda r: stored(r, element, "label") or stored(r, element, "ID")


def _session_age(element: str) -> Value:
    """The stored age, else the generator's: whole years from the subject's birth date (or year)
    to the session date."""

    def value(r: Record) -> str | None:
        age = stored(r, element, "age")
        if age or r.subject is None:
            return age
        when = _iso_date(stored(r, element, "date"))
        born = _iso_date(r.subject.fields.get("demographics/dob"))
        if when is not None and born is not None:
            return str((when - born).days // 365)
        yob = r.subject.fields.get("demographics/yob", "")
        return str(when.year - int(yob)) if when is not None and yob.isdigit() else None

    return value


def _iso_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _pi(r: Record) -> str | None:
    p = r.project
    names = [n for n in (p.pi_lastname, p.pi_firstname) if n]
    return ", ".join(names) or None


# -- the catalogue --------------------------------------------------------------------------------
def _sql_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", xsd.strip_predicates(path)).strip("_").upper()


def _generic(element: str) -> list[DisplayField]:
    """One field per simple field of the type, the generator's rule."""
    if element == PROJECT:
        paths = [("ID", "string"), ("secondary_ID", "string"), ("name", "string"), ("description", "string")]
        paths.append(("keywords", "string"))
        return [DisplayField(_sql_name(p), p, element, t, _field(element, p), p) for p, t in paths]
    out = []
    for m in xsd.members(element):
        if isinstance(m, FieldSpec):
            header = m.path.rsplit("/", 1)[-1]
            out.append(DisplayField(_sql_name(m.path), header, element, m.xsd_type, _field(element, m.path), m.path))
    return out


def _named(element: str) -> list[DisplayField]:
    f = _field
    lvl = level(element)

    def d(id_: str, header: str, value: Value, path: str | None = None, type_: str = "string") -> DisplayField:
        return DisplayField(id_, header, element, type_, value, path)

    if lvl == 0:
        out = [d("ID", "ID", f(element, "ID"), "ID"), d("PI", "PI", _pi)]
    elif lvl == 1:
        demo = "demographics/"
        out = [
            d("SUBJECTID", "Subject", f(element, "ID"), "ID"),
            d("SUBJECT_ID", "Subject", f(element, "ID"), "ID"),
            d("SUBJECT_LABEL", "Subject", _label(element), "label"),
            d("PROJECT", "Project", f(element, "project"), "project"),
            d("GENDER_TEXT", "M/F", f(element, demo + "gender"), demo + "gender"),
            d("HANDEDNESS_TEXT", "Hand", f(element, demo + "handedness"), demo + "handedness"),
            d("DOB", "DOB", f(element, demo + "dob"), demo + "dob", "date"),
            d("YOB", "YOB", f(element, demo + "yob"), demo + "yob", "integer"),
            d("AGE", "Age", f(element, demo + "age"), demo + "age", "integer"),
            d("EDUC", "Educ", f(element, demo + "education"), demo + "education", "integer"),
            d("SES", "SES", f(element, demo + "ses"), demo + "ses", "integer"),
            d("RACE", "Race", f(element, demo + "race"), demo + "race"),
            d("ETHNICITY", "Ethnicity", f(element, demo + "ethnicity"), demo + "ethnicity"),
        ]
    elif lvl == 2:
        out = []
        if xsd.is_a(element, "xnat:imageSessionData"):
            out.append(d("SESSION_ID", "Session", f(element, "ID"), "ID"))
        out += [d("EXPT_ID", "ID", f(element, "ID"), "ID")]
        if xsd.is_a(element, "xnat:subjectAssessorData"):
            out.append(d("SUBJECT_ID", "Subject", f(element, "subject_ID"), "subject_ID"))
        out += [
            d("DATE", "Date", f(element, "date"), "date", "date"),
            d("LABEL", "Label", _label(element), "label"),
            d("PROJECT", "Project", f(element, "project"), "project"),
        ]
        if xsd.is_a(element, "xnat:subjectAssessorData"):
            out.append(d("AGE", "Age", _session_age(element), "age", "integer"))
        if xsd.is_a(element, "xnat:imageSessionData"):
            out += [d("SCANNER", "Scanner", f(element, "scanner"), "scanner")]
            out += [d("OPERATOR", "Operator", f(element, "operator"), "operator")]
    else:
        out = []
    out += [d("INSERT_DATE", "Inserted", _insert_date(element)), d("INSERT_USER", "Creator", _insert_user(element))]
    return out


def field_map_id(element: str) -> str:
    """`XNAT_SUBJECTDATA_FIELD_MAP`: the custom-variable field (`...=name` picks the variable)."""
    return element.replace(":", "_").upper() + FIELD_MAP


@cache
def fields(element: str) -> tuple[DisplayField, ...]:
    """Every display field of the type, named ones first; IDs are unique."""
    out: dict[str, DisplayField] = {}
    for df in [*_named(element), *_generic(element)]:
        out.setdefault(df.id, df)
    if level(element) > 0:
        fm = field_map_id(element)
        out[fm] = DisplayField(fm, "Field", element, "string", lambda r: None, None, needs_value=True)
    return tuple(out.values())


def find(element: str, field_id: str) -> DisplayField | None:
    for df in fields(element):
        if df.id.lower() == field_id.lower():
            return df
    return None


def for_path(element: str, path: str) -> DisplayField | None:
    """The display field showing this field (relative path, any case, predicates allowed);
    a field without one gets the one XNAT creates on demand, named after the cleaned xpath."""
    key = xsd.strip_predicates(path).strip("/").lower()
    for df in fields(element):
        if df.path is not None and df.path.lower() == key:
            return df
    if element == PROJECT or xsd.field(element, key) is None:
        return None
    full = f"{element}/{path}"
    cleaned = re.sub(r"[/@\[\]]", "", full).replace(":", "_col_")
    cleaned = re.sub(r"[ .!#$%&'()*+\-;<=>?\"\\^`{|}~]", "_", cleaned).upper()
    spec = xsd.field(element, key)
    assert spec is not None
    return DisplayField(cleaned, key.rsplit("/", 1)[-1], element, spec.xsd_type, _field(element, spec.path), spec.path)
