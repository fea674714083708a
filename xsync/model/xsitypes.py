"""XNAT's data types as xsync needs to know them: which session and scan types exist, which type
extends which (xnat.xsd's `xs:extension base=`), and which scan types a session of a given type
is made of. Pure data; the field catalog (`fields.py`) places every field on these types.

Plugin types (outside the `xnat:` namespace) are unknown here: they are taken to be image
sessions or image scans and nothing more specific [choice: a plugin type's own fields cannot be
known without its schema].
"""

from __future__ import annotations

import re

SUBJECT = "xnat:subjectData"
EXPERIMENT = "xnat:experimentData"
IMAGE_SESSION = "xnat:imageSessionData"
IMAGE_SCAN = "xnat:imageScanData"
MR_SESSION = "xnat:mrSessionData"
PET_SESSION = "xnat:petSessionData"
PETMR_SESSION = "xnat:petmrSessionData"
CT_SESSION = "xnat:ctSessionData"
MR_SCAN = "xnat:mrScanData"
PET_SCAN = "xnat:petScanData"
DEFAULT_SESSION_TYPE = MR_SESSION

# Image session types of xnat.xsd, by the short name a spec may use instead (`mr`, `petmr`).
SESSION_SHORT_NAMES: tuple[str, ...] = (
    "mr", "pet", "ct", "petmr", "us", "xa", "xa3D", "cr", "dx", "dx3DCraniofacial", "mg", "nm",
    "rt", "rf", "sr", "opt", "op", "sm", "gm", "gmv", "es", "esv", "xc", "xcv", "io", "hd", "eps",
    "ecg", "eeg", "meg", "rg", "otherDicom",
)  # fmt: skip
SESSION_TYPES: frozenset[str] = frozenset(f"xnat:{s}SessionData" for s in SESSION_SHORT_NAMES)

_SCAN_STEMS: tuple[str, ...] = (
    "mr", "ct", "pet", "eps", "hd", "ecg", "us", "io", "mg", "dx", "cr", "gmv", "gm", "esv", "es", "nm",
    "sr", "dx3DCraniofacial", "xa3D", "rf", "xa", "sm", "xc", "xcv", "op", "opt", "rtImage", "sc", "seg",
    "mrs", "meg", "eeg", "rg", "voiceAudio", "otherDicom",
)  # fmt: skip
SCAN_TYPES: frozenset[str] = frozenset(f"xnat:{s}ScanData" for s in _SCAN_STEMS)

# Every type's base, as xnat.xsd declares it. Sessions and scans not listed extend the image
# session or image scan directly; PET-MR too: it declares the MR and the PET fields itself.
_BASE: dict[str, str] = {
    IMAGE_SESSION: "xnat:subjectAssessorData",
    "xnat:subjectAssessorData": EXPERIMENT,
}

_PLUGIN_TYPE = re.compile(r"(?!xnat:)[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*")


def is_plugin_type(xsi_type: str) -> bool:
    return _PLUGIN_TYPE.fullmatch(xsi_type) is not None


def base_of(xsi_type: str) -> str | None:
    if xsi_type in _BASE:
        return _BASE[xsi_type]
    if xsi_type in SESSION_TYPES or (is_plugin_type(xsi_type) and xsi_type.endswith("SessionData")):
        return IMAGE_SESSION
    if xsi_type in SCAN_TYPES or (is_plugin_type(xsi_type) and xsi_type.endswith("ScanData")):
        return IMAGE_SCAN
    return None


def lineage(xsi_type: str) -> tuple[str, ...]:
    """The type and its ancestors, most specific first: petmr -> pet -> image session -> ..."""
    out = [xsi_type]
    while (parent := base_of(out[-1])) is not None:
        out.append(parent)
    return tuple(out)


def is_a(xsi_type: str, ancestor: str) -> bool:
    return ancestor in lineage(xsi_type)


def scan_types_in(session_type: str) -> tuple[str, ...]:
    """The scan types a session of this type is made of, for checks made before any DICOM is
    read: its own kind (`mrSessionData` -> `mrScanData`), both kinds for PET-MR. A session may
    also hold secondary captures and the like, which have no type-specific fields."""
    if session_type == PETMR_SESSION:
        return (MR_SCAN, PET_SCAN)
    if not session_type.startswith("xnat:") or not session_type.endswith("SessionData"):
        return ()
    stem = session_type.removeprefix("xnat:").removesuffix("SessionData")
    scan = f"xnat:{'rtImage' if stem == 'rt' else stem}ScanData"
    return (scan,) if scan in SCAN_TYPES else ()
