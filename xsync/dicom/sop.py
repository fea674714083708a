"""Session and scan data types from SOP classes and modalities, as XNAT's session builder
chooses them (dicom-xnat `study-sessions.properties`, `series-scans.properties`,
`modality-sessions.properties`, `lead-session-types.txt`, `lead-scan-types.txt`,
`lead-modalities.txt`, `primary-sops.txt`, and the session bean factories the builder tries in
turn: PET/MR, SOP class, modality, generic)."""

from __future__ import annotations

from collections.abc import Iterable

# SOP class UID -> (session type, scan type); None where XNAT has no session type for it.
# Entries of types XNAT 1.8's schema lacks (dermoscopy, photoacoustic, waveforms ...) are left
# out: those series become otherDicomScanData there. So is Encapsulated PDF, which dicom-xnat
# does not list (its `EncapsulatedObjStorage` names no SOP class).
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
    # RT Image and Dose map to rtSessionData, which the lead list does not hold (it says
    # rtImageSessionData): they never decide a session type by SOP class.
    "1.2.840.10008.5.1.4.1.1.481.1": ("rtSessionData", "rtImageScanData"),  # RT Image
    "1.2.840.10008.5.1.4.1.1.481.2": ("rtSessionData", "rtImageScanData"),  # RT Dose
    "1.2.840.10008.5.1.4.1.1.481.3": (None, "rtImageScanData"),  # RT Structure Set
    "1.2.840.10008.5.1.4.1.1.481.4": (None, "rtImageScanData"),  # RT Beams Treatment Record
    "1.2.840.10008.5.1.4.1.1.481.5": (None, "rtImageScanData"),  # RT Plan
    "1.2.840.10008.5.1.4.1.1.481.6": (None, "rtImageScanData"),  # RT Brachy Treatment Record
    "1.2.840.10008.5.1.4.1.1.481.7": (None, "rtImageScanData"),  # RT Treatment Summary Record
    "1.2.840.10008.5.1.4.1.1.481.8": (None, "rtImageScanData"),  # RT Ion Plan
    "1.2.840.10008.5.1.4.1.1.481.9": (None, "rtImageScanData"),  # RT Ion Beams Treatment Record
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
    "1.2.840.10008.5.1.4.1.1.88.50": (None, "srScanData"),  # Mammography CAD SR
    "1.2.840.10008.5.1.4.1.1.88.65": (None, "srScanData"),  # Chest CAD SR
    "1.2.840.10008.5.1.4.1.1.88.67": (None, "srScanData"),  # X-Ray Radiation Dose SR
    "1.2.840.10008.5.1.4.1.1.88.69": (None, "srScanData"),  # Colon CAD SR
    "1.2.840.10008.5.1.4.1.1.88.70": (None, "srScanData"),  # Implantation Plan SR
    "1.2.840.10008.5.1.4.1.1.77.1.6": ("smSessionData", "smScanData"),  # VL Whole Slide Microscopy
    "1.2.840.10008.5.1.4.1.1.77.1.2": ("gmSessionData", "gmScanData"),  # VL Microscopic
    "1.2.840.10008.5.1.4.1.1.9.1.1": ("ecgSessionData", "ecgScanData"),  # 12-lead ECG
    "1.2.840.10008.5.1.4.1.1.9.1.3": ("ecgSessionData", "ecgScanData"),  # Ambulatory ECG
    "1.3.12.2.1107.5.9.1": (None, "otherDicomScanData"),  # Siemens CSA Non-Image
    # Scan types outside XNAT's lead list: a series of these alone is otherDicomScanData.
    "1.2.840.10008.5.1.4.1.1.13.1.2": (None, "dx3DCraniofacialScanData"),  # X-Ray 3D Craniofacial
    "1.2.840.10008.5.1.4.1.1.9.3.1": (None, "epsScanData"),  # Cardiac Electrophysiology
    "1.2.840.10008.5.1.4.1.1.77.1.1.1": (None, "esvScanData"),  # Video Endoscopic
    "1.2.840.10008.5.1.4.1.1.77.1.2.1": (None, "gmvScanData"),  # Video Microscopic
    "1.2.840.10008.5.1.4.1.1.9.2.1": (None, "hdScanData"),  # Hemodynamic Waveform
    "1.2.840.10008.5.1.4.1.1.1.3": (None, "ioScanData"),  # Intra-Oral X-Ray, presentation
    "1.2.840.10008.5.1.4.1.1.1.3.1": (None, "ioScanData"),  # Intra-Oral X-Ray, processing
    "1.2.840.10008.5.1.4.1.1.77.1.5.1": (None, "opScanData"),  # Ophthalmic Photography 8 bit
    "1.2.840.10008.5.1.4.1.1.77.1.5.2": (None, "opScanData"),  # Ophthalmic Photography 16 bit
    "1.2.840.10008.5.1.4.1.1.77.1.4.1": (None, "xcvScanData"),  # Video Photographic
}

# dicom-xnat's primary imaging SOP classes (`primary-sops.txt`): only their files count frames;
# other files of a series are its `secondary` resource.
PRIMARY_SOP_CLASSES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.128",
        "1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1",
        "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.13.1.1", "1.2.840.10008.5.1.4.1.1.13.1.2",
        "1.2.840.10008.5.1.4.1.1.12.2", "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",
        "1.2.840.10008.5.1.4.1.1.481.1", "1.2.840.10008.5.1.4.1.1.481.2", "1.2.840.10008.5.1.4.1.1.1",
        "1.2.840.10008.5.1.4.1.1.77.1.5.4", "1.2.840.10008.5.1.4.1.1.77.1.5.1", "1.2.840.10008.5.1.4.1.1.77.1.5.2",
        "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.1",
        "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.3", "1.2.840.10008.5.1.4.1.1.1.3.1",
        "1.2.840.10008.5.1.4.1.1.20", "1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22",
        "1.2.840.10008.5.1.4.1.1.9.1.1", "1.2.840.10008.5.1.4.1.1.9.1.3", "1.2.840.10008.5.1.4.1.1.9.3.1",
        "1.2.840.10008.5.1.4.1.1.9.2.1", "1.2.840.10008.5.1.4.1.1.77.1.1.1", "1.2.840.10008.5.1.4.1.1.77.1.2.1",
        "1.2.840.10008.5.1.4.1.1.77.1.4.1", "1.2.840.10008.5.1.4.1.1.77.1.6", "1.2.840.10008.5.1.4.1.1.77.1.2",
        # types XNAT 1.8 lacks, whose files still count as primary: confocal, photoacoustic,
        # electromyogram, respiratory and body position waveforms
        "1.2.840.10008.5.1.4.1.1.77.1.8", "1.2.840.10008.5.1.4.1.1.6.3", "1.2.840.10008.5.1.4.1.1.9.7.2",
        "1.2.840.10008.5.1.4.1.1.9.6.1", "1.2.840.10008.5.1.4.1.1.9.8.1",
    }
)  # fmt: skip

# A PET and an MR image class in one study make a PET/MR session (XNAT's default PET/MR handling).
_PET_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.130"})
_MR_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1"})
PETMR_SESSION_TYPE = "petmrSessionData"

# Modality -> session type, tried with the study's lead modality when no SOP class decides.
_MODALITY_SESSION: dict[str, str] = {
    "MR": "mrSessionData", "PT": "petSessionData", "CT": "ctSessionData", "XA": "xaSessionData",
    "US": "usSessionData", "IVUS": "usSessionData", "RT": "rtSessionData", "CR": "crSessionData",
    "OPT": "optSessionData", "MG": "mgSessionData", "DX": "dxSessionData", "NM": "nmSessionData",
    "SR": "srSessionData", "SC": "otherDicomSessionData", "OT": "otherDicomSessionData",
    "SM": "smSessionData", "GM": "gmSessionData", "RF": "rfSessionData", "ES": "esSessionData",
    "XC": "xcSessionData", "RG": "rgSessionData", "ECG": "ecgSessionData", "EEG": "eegSessionData",
    "ANN": "otherDicomSessionData",
}  # fmt: skip

# When a study holds several kinds, the first of these that is present wins.
LEAD_SESSION_TYPES: tuple[str, ...] = (
    "petSessionData", "mrSessionData", "ctSessionData", "xaSessionData", "usSessionData",
    "rtImageSessionData", "crSessionData", "optSessionData", "mgSessionData", "dxSessionData",
    "nmSessionData", "srSessionData", "smSessionData", "gmSessionData", "rfSessionData",
    "esSessionData", "rgSessionData", "ecgSessionData", "eegSessionData", "otherDicomSessionData",
)  # fmt: skip

LEAD_MODALITIES: tuple[str, ...] = (
    "PT", "MR", "CT", "XA", "US", "RT", "CR", "OPT", "MG", "DX", "NM", "EEG", "ECG", "EMG", "EOG",
    "IVUS", "SM", "GM", "RF", "ES", "XC", "RG", "DMS", "CFM", "PA", "RESP", "POS", "OBJ", "OT",
    "SR", "SC", "ANN",
)  # fmt: skip

# A series' scan type is the first of these its SOP classes map to; none: otherDicomScanData.
_LEAD_SCAN_TYPES: tuple[str, ...] = (
    "petScanData", "mrScanData", "ctScanData", "xaScanData", "usScanData", "rtImageScanData",
    "crScanData", "optScanData", "mgScanData", "dxScanData", "nmScanData", "srScanData",
    "segScanData", "scScanData", "smScanData", "gmScanData", "rfScanData", "esScanData",
    "rgScanData", "ecgScanData", "eegScanData", "otherDicomScanData",
)  # fmt: skip

UNKNOWN_MODALITY = "OT"
OTHER_SCAN_TYPE = "otherDicomScanData"
OTHER_SESSION_TYPE = "otherDicomSessionData"


def _first_by_order(candidates: Iterable[str | None], order: tuple[str, ...]) -> str | None:
    present = set(candidates)
    return next((item for item in order if item in present), None)


def lead_modality(modalities: Iterable[str]) -> str | None:
    """The modality that names a set, e.g. MR for {MR, SC, OT}; None when none is known."""
    return _first_by_order(modalities, LEAD_MODALITIES)


def _lead_scan_type(sop_class_uids: Iterable[str]) -> str | None:
    return _first_by_order((_SOP_TYPES[u][1] for u in sop_class_uids if u in _SOP_TYPES), _LEAD_SCAN_TYPES)


def scan_type(sop_class_uids: Iterable[str]) -> str:
    """The scan data type (without `xnat:`) of a series holding these SOP classes."""
    return _lead_scan_type(sop_class_uids) or OTHER_SCAN_TYPE


def is_primary(sop_class_uid: str) -> bool:
    """A file of a primary imaging SOP class (it counts in the scan's `frames`)."""
    return sop_class_uid in PRIMARY_SOP_CLASSES


def session_type(sop_class_uids: Iterable[str], modalities: Iterable[str]) -> str | None:
    """The session data type (without `xnat:`) of a study; None when XNAT could build none.

    Order as the builder tries it: PET with MR images, SOP classes, the study's lead modality,
    then `otherDicomSessionData` when the SOP classes give a scan type.
    """
    sops = set(sop_class_uids)
    if sops & _PET_SOP_CLASSES and sops & _MR_SOP_CLASSES:
        return PETMR_SESSION_TYPE
    by_sop = _first_by_order((_SOP_TYPES[u][0] for u in sops if u in _SOP_TYPES), LEAD_SESSION_TYPES)
    if by_sop:
        return by_sop
    by_modality = _MODALITY_SESSION.get(lead_modality(modalities) or "")
    if by_modality:
        return by_modality
    return OTHER_SESSION_TYPE if _lead_scan_type(sops) else None
