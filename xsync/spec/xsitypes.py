"""Session data types as the spec spells them (`mr`, `MR`, `xnat:mrSessionData`, or a plugin
type), and which of the spec's fields a type has: both from the model's type table and field
catalog, so that the spec refuses exactly what XNAT would silently drop (NRG bug XNAT-7176:
`coil` on a CT session answers 200 and stores nothing).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from xsync.model import xsitypes as t
from xsync.model.fields import FieldDef
from xsync.spec.values import kind_of

SESSION_TYPES: dict[str, str] = {s.lower(): f"xnat:{s}SessionData" for s in t.SESSION_SHORT_NAMES}
KNOWN_SESSION_TYPES = t.SESSION_TYPES
DEFAULT_SESSION_TYPE = t.DEFAULT_SESSION_TYPE


def owners_text(definition: FieldDef) -> str:
    """The types that have a field, as messages name them: `xnat:mrSessionData, xnat:petSessionData`."""
    return ", ".join(definition.owners())


def session_types_with(definition: FieldDef) -> list[str]:
    """The known session types that have a session field (PET-MR has the PET ones by extension)."""
    return sorted(s for s in KNOWN_SESSION_TYPES if definition.applies_to(s))


def scan_field_may_apply(definition: FieldDef, session_xsi_type: str) -> bool:
    """Whether a scan of a session of this type can have the scan field, judged before any DICOM
    is read: generic fields always; type-specific ones when the session's own scan kinds have
    them (`coil` in MR and PET-MR sessions, never in CT ones)."""
    if definition.generic:
        return True
    return any(definition.applies_to(scan_type) for scan_type in t.scan_types_in(session_xsi_type))


def session_types_holding(definition: FieldDef) -> list[str]:
    return sorted(s for s in KNOWN_SESSION_TYPES if scan_field_may_apply(definition, s))


def resolve_session_type(value: str) -> str | None:
    """The full type name for a full or short spelling (`mr`, `MR`, `xnat:mrSessionData`)."""
    if value in KNOWN_SESSION_TYPES or t.is_plugin_type(value):
        return value
    return SESSION_TYPES.get(value.lower())


def _to_session_type(value: Any) -> str:
    resolved = resolve_session_type(value) if isinstance(value, str) else None
    if resolved is None:
        candidates = [*sorted(KNOWN_SESSION_TYPES), *SESSION_TYPES]
        close = difflib.get_close_matches(str(value), candidates, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        message = f"unknown session type {kind_of(value)}{hint}"
        raise PydanticCustomError("session_type", message)
    return resolved


_SESSION_TYPE_SCHEMA = {
    "anyOf": [
        {"enum": sorted(KNOWN_SESSION_TYPES) + sorted(SESSION_TYPES)},
        {"type": "string", "pattern": "^(?!xnat:)[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$"},
    ],
    "description": "xsiType: a full name (xnat:mrSessionData) or a short one (mr, pet, ct, ...)",
}
SessionType = Annotated[str, BeforeValidator(_to_session_type), WithJsonSchema(_SESSION_TYPE_SCHEMA)]
