"""Session data types the spec accepts, and which fields belong to which type.

XNAT silently ignores a PUT parameter that does not belong to the item's type (NRG bug
XNAT-7176: `coil` on a CT session answers 200 and stores nothing), so the spec refuses
such fields instead of letting them vanish on the server.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from xsync.spec.values import kind_of

# Image session types of xnat.xsd, by the short name a spec may use instead (`mr`).
_XNAT_SESSION_SHORT_NAMES = (
    "mr", "pet", "ct", "petmr", "us", "xa", "xa3D", "cr", "dx", "dx3DCraniofacial", "mg", "nm",
    "rt", "rf", "sr", "opt", "op", "sm", "gm", "gmv", "es", "esv", "xc", "xcv", "io", "hd", "eps",
    "ecg", "eeg", "meg", "rg", "otherDicom",
)  # fmt: skip
SESSION_TYPES: dict[str, str] = {s.lower(): f"xnat:{s}SessionData" for s in _XNAT_SESSION_SHORT_NAMES}
KNOWN_SESSION_TYPES = frozenset(SESSION_TYPES.values())
DEFAULT_SESSION_TYPE = "xnat:mrSessionData"
MR_SESSION = "xnat:mrSessionData"
PET_SESSION = "xnat:petSessionData"
PETMR_SESSION = "xnat:petmrSessionData"

# Plugin types live outside the `xnat:` namespace; the spec cannot know them, so it takes any.
_PLUGIN_TYPE = re.compile(r"(?!xnat:)[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*")

# Session fields that XNAT's shortcuts define only for some types. Shortcuts are defined per
# data type in XMLPathShortcuts; PET-MR is left out because whether the MR and PET shortcuts
# resolve for it was not established [uncertain].
MR_SESSION_FIELDS = frozenset({"coil", "fieldStrength", "marker", "stabilization"})
PET_SESSION_FIELDS = frozenset(
    {
        "stabilization", "studyType", "tracer_name", "tracer_isotope", "tracer_dose", "tracer_sa",
        "tracer_totalmass", "tracer_intermediate", "tracer_transmissions", "tracer_startTime",
        "tracer_transmissions_start", "scan_start_time", "injection_start_time",
    }
)  # fmt: skip
_SESSION_TYPE_FIELDS: dict[str, frozenset[str]] = {MR_SESSION: MR_SESSION_FIELDS, PET_SESSION: PET_SESSION_FIELDS}
TYPE_SPECIFIC_SESSION_FIELDS = MR_SESSION_FIELDS | PET_SESSION_FIELDS

# Scan fields of xnat:mrScanData; a scan's type comes from its DICOM, so the spec checks them
# against the session that holds the scan (PET-MR sessions hold MR scans too).
MR_SCAN_FIELDS = frozenset({"coil", "fieldStrength", "marker", "stabilization"})
MR_SCAN_SESSIONS = frozenset({MR_SESSION, PETMR_SESSION})


def session_field_applies(field: str, xsi_type: str) -> bool:
    if field not in TYPE_SPECIFIC_SESSION_FIELDS:
        return True
    return field in _SESSION_TYPE_FIELDS.get(xsi_type, frozenset())


def session_types_of_field(field: str) -> list[str]:
    return sorted(t for t, names in _SESSION_TYPE_FIELDS.items() if field in names)


def scan_field_applies(field: str, session_xsi_type: str) -> bool:
    return field not in MR_SCAN_FIELDS or session_xsi_type in MR_SCAN_SESSIONS


def resolve_session_type(value: str) -> str | None:
    """The full type name for a full or short spelling (`mr`, `MR`, `xnat:mrSessionData`)."""
    if value in KNOWN_SESSION_TYPES or _PLUGIN_TYPE.fullmatch(value):
        return value
    return SESSION_TYPES.get(value.lower())


def _to_session_type(value: Any) -> str:
    resolved = resolve_session_type(value) if isinstance(value, str) else None
    if resolved is None:
        candidates = [*sorted(KNOWN_SESSION_TYPES), *SESSION_TYPES]
        close = difflib.get_close_matches(str(value), candidates, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        message = f"unknown session type {kind_of(value)}{hint}"
        raise PydanticCustomError("session_type", message.replace("{", "{{").replace("}", "}}"))
    return resolved


_SESSION_TYPE_SCHEMA = {
    "anyOf": [
        {"enum": sorted(KNOWN_SESSION_TYPES) + sorted(SESSION_TYPES)},
        {"type": "string", "pattern": "^(?!xnat:)[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$"},
    ],
    "description": "xsiType: a full name (xnat:mrSessionData) or a short one (mr, pet, ct, ...)",
}
SessionType = Annotated[str, BeforeValidator(_to_session_type), WithJsonSchema(_SESSION_TYPE_SCHEMA)]
