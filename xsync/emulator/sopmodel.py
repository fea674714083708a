"""Session and scan data types from SOP classes and modalities, as XNAT's session builder picks
them. Source: NrgXnat's dicom-xnat library --
- `dicom-xnat-sop/src/main/resources/`: `series-scans.properties`, `study-sessions.properties`,
  `modality-sessions.properties`, `lead-scan-types.txt`, `lead-session-types.txt`,
  `lead-modalities.txt`, `primary-sops.txt`, read by `org/nrg/dcm/SOPModel.java`;
- `dicom-xnat-mx/.../org/nrg/dcm/xnat/`: `DICOMSessionBuilder.makeSessionBean` tries
  `XnatPetmrImagesessiondataBeanFactory`, `SOPMapXnatImagesessiondataBeanFactory`,
  `ModalityMapXnatImagesessiondataBeanFactory` (all `AttributeMapXnatImagesessiondataBeanFactory`)
  and then `DefaultXnatImagesessiondataBeanFactory`; scans use
  `DefaultXnatImagescandataBeanFactory`; `CatalogBuilder` splits primary from secondary files.

The tables below are XNAT's files, entry for entry. XNAT names SOP classes by keyword and
resolves them with dcm4che's `UID.forName`, then its own `UID3Addition`; here pydicom's keyword
constants play dcm4che's part. A keyword neither knows matches no SOP class, as in XNAT:
`DermoscopyImageStorage`, `MicroscopyBulkSimpleAnnotationStorage`, `ElectroocularWaveformStorage`,
`EncapsulatedObjStorage`, `MaterialLibraryStorage`, `ElectroencephalogramWaveformStorage`.

Choice: types XNAT 1.8's schema does not declare (the emulator's `xsd` lacks them: dms, cfm,
pa, ann, emg, eog, resp, pos, obj, mtl ...) came with later dicom-xnat releases; their entries
are left out, and a series whose lead scan type is one of them is `otherDicomScanData`, as
`DefaultXnatImagescandataBeanFactory` answers for a type without a bean class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import pydicom.uid

from xsync.emulator import xsd

# series-scans.properties: SOP class keyword -> scan type.
_SERIES_SCANS = (
    ("MRImageStorage", "mrScanData"), ("EnhancedMRImageStorage", "mrScanData"),
    ("EnhancedMRColorImageStorage", "mrScanData"),
    ("PositronEmissionTomographyImageStorage", "petScanData"), ("EnhancedPETImageStorage", "petScanData"),
    ("CTImageStorage", "ctScanData"), ("EnhancedCTImageStorage", "ctScanData"),
    ("XRayAngiographicImageStorage", "xaScanData"), ("XRay3DAngiographicImageStorage", "xaScanData"),
    ("UltrasoundImageStorage", "usScanData"), ("UltrasoundMultiFrameImageStorage", "usScanData"),
    ("ComputedRadiographyImageStorage", "crScanData"),
    ("OphthalmicTomographyImageStorage", "optScanData"),
    ("XRay3DCraniofacialImageStorage", "dx3DCraniofacialScanData"),
    ("TwelveLeadECGWaveformStorage", "ecgScanData"), ("AmbulatoryECGWaveformStorage", "ecgScanData"),
    ("CardiacElectrophysiologyWaveformStorage", "epsScanData"),
    ("VideoEndoscopicImageStorage", "esvScanData"),
    ("VideoMicroscopicImageStorage", "gmvScanData"),
    ("HemodynamicWaveformStorage", "hdScanData"),
    ("DigitalIntraOralXRayImageStorageForPresentation", "ioScanData"),
    ("DigitalIntraOralXRayImageStorageForProcessing", "ioScanData"),
    ("DigitalMammographyXRayImageStorageForPresentation", "mgScanData"),
    ("DigitalMammographyXRayImageStorageForProcessing", "mgScanData"),
    ("DigitalXRayImageStorageForPresentation", "dxScanData"),
    ("DigitalXRayImageStorageForProcessing", "dxScanData"),
    ("NuclearMedicineImageStorage", "nmScanData"),
    ("OphthalmicPhotography8BitImageStorage", "opScanData"),
    ("OphthalmicPhotography16BitImageStorage", "opScanData"),
    ("XRayRadiofluoroscopicImageStorage", "rfScanData"),
    ("RTImageStorage", "rtImageScanData"), ("RTDoseStorage", "rtImageScanData"),
    ("RTStructureSetStorage", "rtImageScanData"), ("RTPlanStorage", "rtImageScanData"),
    ("RTBeamsTreatmentRecordStorage", "rtImageScanData"), ("RTBrachyTreatmentRecordStorage", "rtImageScanData"),
    ("RTTreatmentSummaryRecordStorage", "rtImageScanData"), ("RTIonPlanStorage", "rtImageScanData"),
    ("RTIonBeamsTreatmentRecordStorage", "rtImageScanData"),
    ("VideoPhotographicImageStorage", "xcvScanData"),
    ("SecondaryCaptureImageStorage", "scScanData"),
    ("SegmentationStorage", "segScanData"),
    ("BasicTextSRStorage", "srScanData"), ("EnhancedSRStorage", "srScanData"),
    ("ComprehensiveSRStorage", "srScanData"), ("MammographyCADSRStorage", "srScanData"),
    ("ChestCADSRStorage", "srScanData"), ("XRayRadiationDoseSRStorage", "srScanData"),
    ("ColonCADSRStorage", "srScanData"), ("ImplantationPlanSRStorage", "srScanData"),
    ("SiemensCSANonImageStorage", "otherDicomScanData"),
    ("VLWholeSlideMicroscopyImageStorage", "smScanData"),
    ("VLMicroscopicImageStorage", "gmScanData"),
    ("DermoscopyImageStorage", "dmsScanData"),
    ("ConfocalMicroscopyImageStorage", "cfmScanData"),
    ("PhotoacousticImageStorage", "paScanData"),
    ("MicroscopyBulkSimpleAnnotationStorage", "annScanData"),
    ("ElectromyogramWaveformStorage", "emgScanData"),
    ("ElectroocularWaveformStorage", "eogScanData"),
    ("RespiratoryWaveformStorage", "respScanData"),
    ("BodyPositionWaveformStorage", "posScanData"),
    ("EncapsulatedObjStorage", "objScanData"),
    ("MaterialLibraryStorage", "mtlScanData"),
    ("ElectroencephalogramWaveformStorage", "eegScanData"),
)  # fmt: skip

# study-sessions.properties: SOP class keyword -> session type.
_STUDY_SESSIONS = (
    ("MRImageStorage", "mrSessionData"), ("EnhancedMRImageStorage", "mrSessionData"),
    ("EnhancedMRColorImageStorage", "mrSessionData"),
    ("PositronEmissionTomographyImageStorage", "petSessionData"), ("EnhancedPETImageStorage", "petSessionData"),
    ("CTImageStorage", "ctSessionData"), ("EnhancedCTImageStorage", "ctSessionData"),
    ("XRayAngiographicImageStorage", "xaSessionData"), ("XRay3DAngiographicImageStorage", "xaSessionData"),
    ("UltrasoundImageStorage", "usSessionData"), ("UltrasoundMultiFrameImageStorage", "usSessionData"),
    ("RTImageStorage", "rtSessionData"), ("RTDoseStorage", "rtSessionData"),
    ("ComputedRadiographyImageStorage", "crSessionData"),
    ("OphthalmicTomographyImageStorage", "optSessionData"),
    ("DigitalMammographyXRayImageStorageForPresentation", "mgSessionData"),
    ("DigitalMammographyXRayImageStorageForProcessing", "mgSessionData"),
    ("DigitalXRayImageStorageForPresentation", "dxSessionData"),
    ("DigitalXRayImageStorageForProcessing", "dxSessionData"),
    ("NuclearMedicineImageStorage", "nmSessionData"),
    ("BasicTextSRStorage", "srSessionData"), ("EnhancedSRStorage", "srSessionData"),
    ("VLWholeSlideMicroscopyImageStorage", "smSessionData"),
    ("VLMicroscopicImageStorage", "gmSessionData"),
    ("DermoscopyImageStorage", "dmsSessionData"),
    ("ConfocalMicroscopyImageStorage", "cfmSessionData"),
    ("PhotoacousticImageStorage", "paSessionData"),
    ("MicroscopyBulkSimpleAnnotationStorage", "otherDicomSessionData"),
    ("ElectromyogramWaveformStorage", "emgSessionData"),
    ("ElectroocularWaveformStorage", "eogSessionData"),
    ("RespiratoryWaveformStorage", "respSessionData"),
    ("BodyPositionWaveformStorage", "posSessionData"),
    ("EncapsulatedObjStorage", "objSessionData"),
    ("TwelveLeadECGWaveformStorage", "ecgSessionData"), ("AmbulatoryECGWaveformStorage", "ecgSessionData"),
    ("ElectroencephalogramWaveformStorage", "eegSessionData"),
)  # fmt: skip

# modality-sessions.properties: Modality -> session type.
_MODALITY_SESSIONS = {
    "MR": "mrSessionData", "PT": "petSessionData", "CT": "ctSessionData", "XA": "xaSessionData",
    "US": "usSessionData", "IVUS": "usSessionData", "RT": "rtSessionData", "CR": "crSessionData",
    "OPT": "optSessionData", "MG": "mgSessionData", "DX": "dxSessionData", "NM": "nmSessionData",
    "SR": "srSessionData", "SC": "otherDicomSessionData", "OT": "otherDicomSessionData",
    "SM": "smSessionData", "GM": "gmSessionData", "RF": "rfSessionData", "ES": "esSessionData",
    "XC": "xcSessionData", "RG": "rgSessionData", "DMS": "dmsSessionData", "CFM": "cfmSessionData",
    "PA": "paSessionData", "ECG": "ecgSessionData", "EMG": "emgSessionData", "EOG": "eogSessionData",
    "RESP": "respSessionData", "POS": "posSessionData", "OBJ": "objSessionData", "EEG": "eegSessionData",
    "ANN": "otherDicomSessionData",
}  # fmt: skip

_LEAD_SCAN_TYPES = tuple(
    f"{p}ScanData"
    for p in (
        "pet", "mr", "ct", "xa", "us", "rtImage", "cr", "opt", "mg", "dx", "nm", "sr", "seg", "sc", "sm", "gm",
        "rf", "es", "rg", "dms", "cfm", "pa", "ecg", "ann", "emg", "eog", "resp", "pos", "obj", "mtl", "eeg",
        "otherDicom",
    )
)  # fmt: skip
# Note: it lists `rtImageSessionData` while the SOP map says `rtSessionData`, so RT image and
# dose objects alone never decide a session type by SOP class.
_LEAD_SESSION_TYPES = tuple(
    f"{p}SessionData"
    for p in (
        "pet", "mr", "ct", "xa", "us", "rtImage", "cr", "opt", "mg", "dx", "nm", "sr", "sm", "gm", "rf", "es",
        "rg", "dms", "cfm", "pa", "ecg", "emg", "eog", "resp", "pos", "obj", "eeg", "otherDicom",
    )
)  # fmt: skip
LEAD_MODALITIES = (
    "PT", "MR", "CT", "XA", "US", "RT", "CR", "OPT", "MG", "DX", "NM", "EEG", "ECG", "EMG", "EOG", "IVUS",
    "SM", "GM", "RF", "ES", "XC", "RG", "DMS", "CFM", "PA", "RESP", "POS", "OBJ", "OT", "SR", "SC", "ANN",
)  # fmt: skip

_PRIMARY_SOPS = (
    "AmbulatoryECGWaveformStorage", "BasicTextSRStorage", "CTImageStorage",
    "CardiacElectrophysiologyWaveformStorage", "ComputedRadiographyImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation", "DigitalIntraOralXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation", "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalXRayImageStorageForPresentation", "DigitalXRayImageStorageForProcessing", "EnhancedCTImageStorage",
    "EnhancedMRImageStorage", "EnhancedPETImageStorage", "EnhancedSRStorage", "HemodynamicWaveformStorage",
    "MRImageStorage", "NuclearMedicineImageStorage", "OphthalmicPhotography16BitImageStorage",
    "OphthalmicPhotography8BitImageStorage", "OphthalmicTomographyImageStorage",
    "PositronEmissionTomographyImageStorage", "RTDoseStorage", "RTImageStorage", "UltrasoundImageStorage",
    "UltrasoundMultiFrameImageStorage", "VideoEndoscopicImageStorage", "VideoMicroscopicImageStorage",
    "VideoPhotographicImageStorage", "XRay3DCraniofacialImageStorage", "XRayAngiographicImageStorage",
    "XRay3DAngiographicImageStorage", "XRayRadiofluoroscopicImageStorage", "TwelveLeadECGWaveformStorage",
    "VLWholeSlideMicroscopyImageStorage", "VLMicroscopicImageStorage", "DermoscopyImageStorage",
    "ConfocalMicroscopyImageStorage", "PhotoacousticImageStorage", "MicroscopyBulkSimpleAnnotationStorage",
    "ElectromyogramWaveformStorage", "ElectroocularWaveformStorage", "RespiratoryWaveformStorage",
    "BodyPositionWaveformStorage", "EncapsulatedObjStorage", "MaterialLibraryStorage",
)  # fmt: skip

# XnatPetmrImagesessiondataBeanFactory: a PET and an MR image class together make PET/MR (the
# site and project setting `separatePETMR` is unset on a fresh XNAT: HandlePetMr.Default).
_PET_SOPS = ("PositronEmissionTomographyImageStorage", "EnhancedPETImageStorage")
_MR_SOPS = ("MRImageStorage", "EnhancedMRImageStorage")
PETMR_SESSION = "petmrSessionData"

UNKNOWN_MODALITY = "OT"  # DICOMSessionBuilder's name for a series without a known modality
OTHER_SCAN = "otherDicomScanData"
OTHER_SESSION = "otherDicomSessionData"

# dicom-xnat-sop's UID3Addition: the one keyword XNAT adds that the standard does not name.
_XNAT_UIDS = {"SiemensCSANonImageStorage": "1.3.12.2.1107.5.9.1"}


def uid_for(keyword: str) -> str | None:
    """The UID a SOP class keyword names (as `UID.forName`, then `UID3Addition.forName`)."""
    value = getattr(pydicom.uid, keyword, None)
    if isinstance(value, pydicom.uid.UID):
        return str(value)
    return _XNAT_UIDS.get(keyword)


def _declared(type_name: str) -> bool:
    return xsd.get(f"xnat:{type_name}") is not None


def _by_uid(entries: Iterable[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for keyword, type_name in entries:
        uid = uid_for(keyword)
        if uid is not None and _declared(type_name):
            out[uid] = type_name
    return out


@cache
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str], frozenset[str]]:
    modality_sessions = {m: t for m, t in _MODALITY_SESSIONS.items() if _declared(t)}
    primary = frozenset(uid for uid in map(uid_for, _PRIMARY_SOPS) if uid is not None)
    return _by_uid(_SERIES_SCANS), _by_uid(_STUDY_SESSIONS), modality_sessions, primary


def _lead(order: Iterable[str], present: Iterable[str | None]) -> str | None:
    """SOPModel.getLead: the first of `order` that is present."""
    found = set(present)
    return next((option for option in order if option in found), None)


def lead_modality(modalities: Iterable[str]) -> str | None:
    """SOPModel.getLeadModality, e.g. MR for {MR, SC, OT}; None when none is listed."""
    return _lead(LEAD_MODALITIES, modalities)


def lead_scan_type(sop_class_uids: Iterable[str]) -> str | None:
    """SOPModel.getScanType: the lead type among those the SOP classes map to."""
    scans = _tables()[0]
    return _lead(_LEAD_SCAN_TYPES, (scans.get(u) for u in sop_class_uids))


def scan_type(sop_class_uids: Iterable[str]) -> str:
    """The scan data type (without `xnat:`) of a series holding these SOP classes."""
    return lead_scan_type(sop_class_uids) or OTHER_SCAN


def is_primary(sop_class_uid: str) -> bool:
    """SOPModel.isPrimaryImagingSOP: files of other classes are the scan's `secondary` files."""
    return sop_class_uid in _tables()[3]


def session_type(sop_class_uids: Iterable[str], modalities: Iterable[str]) -> str | None:
    """The session data type (without `xnat:`) of a study, or None when XNAT builds no session
    ("no session type identified"). `modalities` are the study's Modality values."""
    _, sessions, modality_sessions, _ = _tables()
    sops = {u for u in sop_class_uids if u}
    if _has_any(sops, _PET_SOPS) and _has_any(sops, _MR_SOPS):
        return PETMR_SESSION
    by_sop = _lead(_LEAD_SESSION_TYPES, (sessions.get(u) for u in sops))
    if by_sop is not None:
        return by_sop
    by_modality = _lookup(modality_sessions, lead_modality(m for m in modalities if m))
    if by_modality is not None:
        return by_modality
    # DefaultXnatImagesessiondataBeanFactory: no session type, but a known scan type.
    return OTHER_SESSION if sops and lead_scan_type(sops) else None


def _has_any(sops: set[str], keywords: Iterable[str]) -> bool:
    return any(uid_for(k) in sops for k in keywords)


def _lookup(table: Mapping[str, str], key: str | None) -> str | None:
    return table.get(key) if key is not None else None
