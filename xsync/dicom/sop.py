"""Session and scan data types from SOP classes and modalities, as XNAT's session builder
chooses them (dicom-xnat `study-sessions.properties`, `series-scans.properties`,
`lead-session-types.txt`, `lead-modalities.txt`)."""

from __future__ import annotations

from collections.abc import Iterable

# SOP class UID -> (session type, scan type); None where XNAT has no session type for it.
_SOP_TYPES: dict[str, tuple[str | None, str]] = {
    "1.2.840.10008.5.1.4.1.1.4": ("mrSessionData", "mrScanData"),  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1": ("mrSessionData", "mrScanData"),  # Enhanced MR Image
    "1.2.840.10008.5.1.4.1.1.4.3": ("mrSessionData", "mrScanData"),  # Enhanced MR Color Image
    "1.2.840.10008.5.1.4.1.1.128": ("petSessionData", "petScanData"),  # PET Image
    "1.2.840.10008.5.1.4.1.1.130": ("petSessionData", "petScanData"),  # Enhanced PET Image
    "1.2.840.10008.5.1.4.1.1.2": ("ctSessionData", "ctScanData"),  # CT Image
    "1.2.840.10008.5.1.4.1.1.2.1": ("ctSessionData", "ctScanData"),  # Enhanced CT Image
    "1.2.840.10008.5.1.4.1.1.12.1": ("xaSessionData", "xaScanData"),  # X-Ray Angiographic
    "1.2.840.10008.5.1.4.1.1.13.1.1": ("xaSessionData", "xaScanData"),  # X-Ray 3D Angiographic
    "1.2.840.10008.5.1.4.1.1.6.1": ("usSessionData", "usScanData"),  # Ultrasound Image
    "1.2.840.10008.5.1.4.1.1.3.1": ("usSessionData", "usScanData"),  # Ultrasound Multi-frame
    "1.2.840.10008.5.1.4.1.1.481.1": ("rtSessionData", "rtImageScanData"),  # RT Image
    "1.2.840.10008.5.1.4.1.1.481.2": ("rtSessionData", "rtImageScanData"),  # RT Dose
    "1.2.840.10008.5.1.4.1.1.481.3": (None, "rtImageScanData"),  # RT Structure Set
    "1.2.840.10008.5.1.4.1.1.481.5": (None, "rtImageScanData"),  # RT Plan
    "1.2.840.10008.5.1.4.1.1.1": ("crSessionData", "crScanData"),  # Computed Radiography
    "1.2.840.10008.5.1.4.1.1.77.1.5.4": ("optSessionData", "optScanData"),  # Ophthalmic Tomography
    "1.2.840.10008.5.1.4.1.1.1.2": ("mgSessionData", "mgScanData"),  # Mammography, presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1": ("mgSessionData", "mgScanData"),  # Mammography, processing
    "1.2.840.10008.5.1.4.1.1.1.1": ("dxSessionData", "dxScanData"),  # Digital X-Ray, presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1": ("dxSessionData", "dxScanData"),  # Digital X-Ray, processing
    "1.2.840.10008.5.1.4.1.1.20": ("nmSessionData", "nmScanData"),  # Nuclear Medicine
    "1.2.840.10008.5.1.4.1.1.12.2": (None, "rfScanData"),  # X-Ray Radiofluoroscopic
    "1.2.840.10008.5.1.4.1.1.7": (None, "scScanData"),  # Secondary Capture
    "1.2.840.10008.5.1.4.1.1.66.4": (None, "segScanData"),  # Segmentation
    "1.2.840.10008.5.1.4.1.1.88.11": ("srSessionData", "srScanData"),  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22": ("srSessionData", "srScanData"),  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33": (None, "srScanData"),  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.77.1.6": ("smSessionData", "smScanData"),  # VL Whole Slide Microscopy
    "1.2.840.10008.5.1.4.1.1.77.1.2": ("gmSessionData", "gmScanData"),  # VL Microscopic
    "1.2.840.10008.5.1.4.1.1.104.1": ("objSessionData", "objScanData"),  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.9.1.1": ("ecgSessionData", "ecgScanData"),  # 12-lead ECG
    "1.3.12.2.1107.5.9.1": (None, "otherDicomScanData"),  # Siemens CSA Non-Image
}

# Modality -> session type, the builder's fallback when no SOP class decides.
_MODALITY_SESSION: dict[str, str] = {
    "MR": "mrSessionData", "PT": "petSessionData", "CT": "ctSessionData", "XA": "xaSessionData",
    "US": "usSessionData", "RTIMAGE": "rtSessionData", "RTDOSE": "rtSessionData",
    "CR": "crSessionData", "OPT": "optSessionData", "MG": "mgSessionData", "DX": "dxSessionData",
    "NM": "nmSessionData", "SR": "srSessionData", "SM": "smSessionData", "GM": "gmSessionData",
    "RF": "rfSessionData", "ES": "esSessionData", "ECG": "ecgSessionData", "EEG": "eegSessionData",
}  # fmt: skip

# When a study holds several kinds, the first of these that is present wins.
LEAD_SESSION_TYPES: tuple[str, ...] = (
    "petSessionData", "mrSessionData", "ctSessionData", "xaSessionData", "usSessionData",
    "rtSessionData", "crSessionData", "optSessionData", "mgSessionData", "dxSessionData",
    "nmSessionData", "srSessionData", "smSessionData", "gmSessionData", "rfSessionData",
    "esSessionData", "rgSessionData", "dmsSessionData", "cfmSessionData", "paSessionData",
    "ecgSessionData", "emgSessionData", "eogSessionData", "respSessionData", "posSessionData",
    "objSessionData", "eegSessionData", "otherDicomSessionData",
)  # fmt: skip

LEAD_MODALITIES: tuple[str, ...] = (
    "PT", "MR", "CT", "XA", "US", "RT", "CR", "OPT", "MG", "DX", "NM", "EEG", "ECG", "EMG", "EOG",
    "IVUS", "SM", "GM", "RF", "ES", "XC", "RG", "DMS", "CFM", "PA", "RESP", "POS", "OBJ", "OT",
    "SR", "SC", "ANN",
)  # fmt: skip

# Scan types follow the session order, then the non-primary kinds.
_LEAD_SCAN_TYPES: tuple[str, ...] = tuple(
    t.replace("SessionData", "ScanData").replace("rtScanData", "rtImageScanData") for t in LEAD_SESSION_TYPES
) + ("rfScanData", "segScanData", "scScanData", "srScanData")

UNKNOWN_MODALITY = "OT"
OTHER_SCAN_TYPE = "otherDicomScanData"
OTHER_SESSION_TYPE = "otherDicomSessionData"


def _first_by_order(candidates: Iterable[str], order: tuple[str, ...]) -> str | None:
    present = set(candidates)
    for item in order:
        if item in present:
            return item
    return min(present) if present else None


def lead_modality(modalities: Iterable[str]) -> str | None:
    """The modality that names a set, e.g. MR for {MR, SC, OT}; None when none is known."""
    present = {m for m in modalities if m}
    for m in LEAD_MODALITIES:
        if m in present:
            return m
    return None


def scan_type(sop_class_uids: Iterable[str]) -> str:
    """The scan data type (without `xnat:`) of a series holding these SOP classes."""
    known = [_SOP_TYPES[u][1] for u in sop_class_uids if u in _SOP_TYPES]
    return _first_by_order(known, _LEAD_SCAN_TYPES) or OTHER_SCAN_TYPE


def session_type(sop_class_uids: Iterable[str], modalities: Iterable[str]) -> str | None:
    """The session data type (without `xnat:`) of a study; None when XNAT could build none.

    Order as the builder tries it: SOP classes, then modalities, then `otherDicomSessionData`
    when at least one series has a known scan type.
    """
    sops = list(sop_class_uids)
    by_sop = [t for u in sops if u in _SOP_TYPES for t in [_SOP_TYPES[u][0]] if t]
    if by_sop:
        return _first_by_order(by_sop, LEAD_SESSION_TYPES)
    by_modality = [_MODALITY_SESSION[m] for m in modalities if m in _MODALITY_SESSION]
    if by_modality:
        return _first_by_order(by_modality, LEAD_SESSION_TYPES)
    if any(u in _SOP_TYPES for u in sops):
        return OTHER_SESSION_TYPE
    return None
