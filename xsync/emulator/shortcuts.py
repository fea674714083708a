"""XNAT's shortcut names (REST-CONTRACT.md §4.2, from XMLPathShortcuts.java): the short keys that
listings accept in `columns=`/filters and item PUTs accept as parameters, each standing for a
full xpath. Read-only shortcuts work in listings only; a PUT ignores them.

XNAT keeps one Hashtable per family (scans, experiments, subjects) and registers some names twice;
the later registration replaces the earlier one, so `stabilization` stands for
xnat:petSessionData/stabilization only (an MR session's is reached by its xpath) and
`tracer_isotope` for the isotope's `half-life` attribute, not its name (XMLPathShortcuts.java,
the constructor's order). A shortcut may still list several candidate xpaths (`xpath_for`).

`meta/...`, `extension_item/element_name`, `xnat_imagescandata_id` and the experiment table's
`xnat:subjectData/...` xpaths are computed columns (the insert date and user, the xsi type, the
scan's primary key, the subject's label and project), not stored fields; the xpaths are XNAT's.
"""

from __future__ import annotations

from dataclasses import dataclass

from xsync.emulator import xsd


@dataclass(frozen=True)
class Shortcut:
    key: str
    xpaths: tuple[str, ...]
    writable: bool = True


def _table(*entries: tuple[str, str | tuple[str, ...], bool]) -> dict[str, Shortcut]:
    out: dict[str, Shortcut] = {}
    for key, xpaths, writable in entries:
        paths = (xpaths,) if isinstance(xpaths, str) else xpaths
        out[key] = Shortcut(key, paths, writable)
    return out


def _rw(key: str, xpath: str | tuple[str, ...]) -> tuple[str, str | tuple[str, ...], bool]:
    return (key, xpath, True)


def _ro(key: str, xpath: str) -> tuple[str, str | tuple[str, ...], bool]:
    return (key, xpath, False)


_SUBJ = "xnat:subjectData/"
_DEMO = "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/"
_DEMO_FIELDS: tuple[str, ...] = (
    "dob",
    "yob",
    "age",
    "gender",
    "handedness",
    "ses",
    "education",
    "educationDesc",
    "race",
)
_DEMO_FIELDS += ("ethnicity", "weight", "height", "gestational_age", "post_menstrual_age", "birth_weight")

SUBJECT = _table(
    *(_rw(k, _SUBJ + k) for k in ("project", "label", "ID", "group", "src")),
    _rw("pi_firstname", _SUBJ + "investigator/firstname"),
    _rw("pi_lastname", _SUBJ + "investigator/lastname"),
    *(_rw(k, _DEMO + k) for k in _DEMO_FIELDS),
    _ro("insert_date", _SUBJ + "meta/insert_date"),
    _ro("insert_user", _SUBJ + "meta/insert_user/login"),
    _ro("last_modified", _SUBJ + "meta/last_modified"),
)

_EXPT = "xnat:experimentData/"
_IMG = "xnat:imageSessionData/"
_MR = "xnat:mrSessionData/"
_PET = "xnat:petSessionData/"

EXPERIMENT = _table(
    *(_rw(k, _EXPT + k) for k in ("ID", "visit_id", "visit", "protocol", "date", "time", "note", "project", "label")),
    _rw("pi_firstname", _EXPT + "investigator/firstname"),
    _rw("pi_lastname", _EXPT + "investigator/lastname"),
    *(_rw(f"validation_{k}", _EXPT + f"validation/{k}") for k in ("method", "status", "date", "notes")),
    *(
        _rw(k, _IMG + k)
        for k in ("scanner", "operator", "dcmAccessionNumber", "dcmPatientId", "dcmPatientName", "session_type")
    ),
    _rw("modality", _IMG + "modality"),
    _rw("UID", _IMG + "UID"),
    _rw("studyInstanceUID", _IMG + "UID"),
    *(_rw(k, _MR + k) for k in ("coil", "fieldStrength", "marker")),
    _rw("stabilization", _PET + "stabilization"),  # registered for MR first, then replaced by PET
    *(_rw(k, _PET + k) for k in ("studyType", "patientID", "patientName")),
    _rw("scan_start_time", _PET + "start_time_scan"),
    _rw("injection_start_time", _PET + "start_time_injection"),
    _rw("tracer_name", _PET + "tracer/name"),
    _rw("tracer_startTime", _PET + "tracer/startTime"),
    _rw("tracer_dose", _PET + "tracer/dose"),
    _rw("tracer_sa", _PET + "tracer/specificActivity"),
    _rw("tracer_totalmass", _PET + "tracer/totalMass"),
    _rw("tracer_intermediate", _PET + "tracer/intermediate"),
    _rw("tracer_isotope", _PET + "tracer/isotope/half-life"),  # the second registration wins
    _rw("tracer_transmissions", _PET + "tracer/transmissions"),
    _rw("tracer_transmissions_start", _PET + "tracer/transmissions_starttime"),
    _rw("subject_ID", "xnat:subjectAssessorData/subject_ID"),
    _ro("subject_label", "xnat:subjectData/label"),
    _ro("subject_project", "xnat:subjectData/project"),
    _ro("insert_date", _EXPT + "meta/insert_date"),
    _ro("insert_user", _EXPT + "meta/insert_user/login"),
    _ro("last_modified", _EXPT + "meta/last_modified"),
    _ro("xsiType", _EXPT + "extension_item/element_name"),
)

_SCAN = "xnat:imageScanData/"
_MRSCAN = "xnat:mrScanData/"
_PETPAR = "xnat:petScanData/parameters/"

SCAN = _table(
    *(
        _rw(k, _SCAN + k)
        for k in (
            "ID",
            "type",
            "UID",
            "note",
            "quality",
            "condition",
            "series_description",
            "documentation",
            "scanner",
            "modality",
            "frames",
        )
    ),
    *(_rw(f"validation_{k}", _SCAN + f"validation/{k}") for k in ("method", "status", "date", "notes")),
    _rw("scanTime", _SCAN + "startTime"),
    *(_rw(k, _MRSCAN + k) for k in ("coil", "fieldStrength", "marker", "stabilization")),
    *(
        _rw(k, _PETPAR + k)
        for k in (
            "orientation",
            "originalFileName",
            "systemType",
            "fileType",
            "transaxialFOV",
            "acqType",
            "facility",
            "numPlanes",
            "numGates",
            "planeSeparation",
            "binSize",
            "dataType",
        )
    ),
    _rw("numFrames", _PETPAR + "frames/numFrames"),
    _ro("xnat_imagescandata_id", _SCAN + "xnat_imagescandata_id"),
    _ro("insert_date", _SCAN + "meta/insert_date"),
    _ro("insert_user", _SCAN + "meta/insert_user/login"),
    _ro("last_modified", _SCAN + "meta/last_modified"),
    _ro("xsiType", _SCAN + "extension_item/element_name"),
)

_PROJ = "xnat:projectData/"
PROJECT = _table(
    *(_rw(k, _PROJ + k) for k in ("ID", "secondary_ID", "name", "description", "keywords")),
    _rw("alias", _PROJ + "aliases/alias"),
    _rw("pi_firstname", _PROJ + "PI/firstname"),
    _rw("pi_lastname", _PROJ + "PI/lastname"),
    _rw("note", _PROJ + "fields/field[name=note]/field"),
)


def xpath_type(xpath: str) -> str:
    return xpath.split("/", 1)[0]


def xpath_for(shortcut: Shortcut, type_name: str | None) -> str:
    """The candidate xpath whose type is related to `type_name` (ancestor or descendant)."""
    if type_name and len(shortcut.xpaths) > 1:
        for xp in shortcut.xpaths:
            t = xpath_type(xp)
            if xsd.is_a(type_name, t) or xsd.is_a(t, type_name):
                return xp
    return shortcut.xpaths[0]


def _normal(xpath: str) -> str:
    return xsd.strip_predicates(xpath).lower()


_KEY_BY_XPATH: dict[int, dict[str, str]] = {}


def key_for_xpath(table: dict[str, Shortcut], xpath: str) -> str:
    """The output key for a listing column given as an xpath: the shortcut whose path equals it
    (case-insensitively), else the lower-cased xpath (REST-CONTRACT.md §2.1)."""
    index = _KEY_BY_XPATH.get(id(table))
    if index is None:
        index = {}
        for sc in table.values():
            for xp in sc.xpaths:
                index.setdefault(_normal(xp), sc.key)
        _KEY_BY_XPATH[id(table)] = index
    return index.get(_normal(xpath), xpath.lower())
