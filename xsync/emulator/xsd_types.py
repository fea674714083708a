"""The data-type table behind `xsd.py`, transcribed from xnat.xsd (NrgXnat/xnat-web,
src/main/resources/schemas/xnat/xnat.xsd): subjects, experiments and image sessions, image scans,
resources and the sub-items they use. Members appear in schema order; attributes are listed
with the element they belong to. Types whose members the emulator never needs (regions,
reconstructions, assessors, PET frame lists, CT focal spots) are left out; their slots are omitted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    path: str
    xsd_type: str = "string"  # integer, int, long, float, double, boolean, date, time, dateTime, ...
    attribute: bool = False  # an XML attribute of its parent element (else the element's text)
    enum: tuple[str, ...] = ()
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Child:
    """A slot holding other items: a sub-item (`demographics`) or a collection (`scans/scan`).

    `keyed` collections hold name/value pairs (`fields/field`, `parameters/addParam`)."""

    path: str
    item_type: str  # "" for anonymous name/value items
    many: bool = False
    keyed: bool = False


Member = FieldSpec | Child


@dataclass(frozen=True)
class DataType:
    name: str  # canonical, e.g. xnat:mrSessionData
    base: str | None
    element: str | None  # root element name without prefix, e.g. MRSession
    own: tuple[Member, ...]


S, INT, F, D, L, B = "string", "integer", "float", "double", "long", "boolean"
DATE, TIME, DATETIME, DURATION = "date", "time", "dateTime", "duration"


def a(path: str, t: str = S, *, max_length: int | None = None, enum: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(path, t, True, enum, max_length)


def e(
    path: str,
    t: str = S,
    *,
    max_length: int | None = None,
    enum: tuple[str, ...] = (),
    lo: float | None = None,
    hi: float | None = None,
) -> FieldSpec:
    return FieldSpec(path, t, False, enum, max_length, lo, hi)


def sub(path: str, item_type: str) -> Child:
    return Child(path, item_type)


def many(path: str, item_type: str = "", *, keyed: bool = False) -> Child:
    return Child(path, item_type, many=True, keyed=keyed)


def t(name: str, base: str | None, element: str | None, *own: Member) -> DataType:
    return DataType(name, base, element, tuple(own))


def _with_units(path: str, t_: str = F) -> tuple[FieldSpec, FieldSpec]:
    return e(path, t_), a(f"{path}/units")


def _xyz(path: str, t_: str, *axes: str, units: bool = False) -> tuple[FieldSpec, ...]:
    out = [a(f"{path}/units")] if units else []
    return tuple(out + [a(f"{path}/{axis}", t_) for axis in axes])


_255 = 255

SUPPORT = [
    t(
        "xnat:investigatorData",
        None,
        "Investigator",
        a("ID"),
        e("title", max_length=64),
        e("firstname", max_length=25),
        e("lastname", max_length=25),
        e("institution", max_length=255),
        e("department", max_length=128),
        e("email", max_length=64),
        e("phone", max_length=25),
    ),
    t(
        "xnat:validationData",
        None,
        None,
        a("status"),
        e("method"),
        e("date", DATE),
        e("notes", max_length=500),
        e("validated_by"),
    ),
    t("xnat:abstractDemographicData", None, None),
    t(
        "xnat:demographicData",
        "xnat:abstractDemographicData",
        None,
        e("dob", DATE),
        e("yob", INT),
        e("age", INT),
        e("gender", enum=("male", "female", "other", "unknown", "M", "F")),
        e("handedness", enum=("left", "right", "ambidextrous", "unknown")),
        e("ses", INT),
        e("employment", INT, lo=0, hi=3),
        e("education", INT, lo=0, hi=30),
        e("educationDesc"),
        e("race"),
        e("race2"),
        e("race3"),
        e("race4"),
        e("race5"),
        e("race6"),
        e("ethnicity"),
        *_with_units("weight"),
        *_with_units("height"),
        e("gestational_age", F),
        e("post_menstrual_age", F),
        e("birth_weight", F),
    ),
    t(
        "xnat:contrastBolus",
        None,
        None,
        e("agent"),
        e("route"),
        e("volume", F, lo=0),
        e("totalDose", F, lo=0),
        e("flowRate", F, lo=0),
        e("flowDuration", F, lo=0),
        e("activeIngredient"),
        e("concentration", F, lo=0),
    ),
    t(
        "xnat:abstractResource",
        None,
        None,
        a("label"),
        a("file_count", INT),
        a("file_size", L),
        e("note", max_length=10000),
    ),
    t(
        "xnat:resource",
        "xnat:abstractResource",
        None,
        a("URI", "anyURI", max_length=10000),
        a("format"),
        a("description"),
        a("content"),
        a("cachePath", max_length=255),
    ),
    t("xnat:resourceCatalog", "xnat:resource", "ResourceCatalog"),
    t("xnat:addField", None, None, a("name")),
]

SUBJECTS = [
    t(
        "xnat:subjectData",
        None,
        "Subject",
        a("ID"),
        a("project"),
        a("group"),
        a("label"),
        a("src"),
        a("initials"),
        many("sharing/share", "xnat:projectParticipant"),
        many("resources/resource", "xnat:abstractResource"),
        sub("investigator", "xnat:investigatorData"),
        sub("demographics", "xnat:demographicData"),
        many("fields/field", keyed=True),
        many("experiments/experiment", "xnat:subjectAssessorData"),
    ),
]

EXPERIMENTS = [
    t(
        "xnat:experimentData",
        None,
        None,
        a("ID"),
        a("project"),
        a("visit_id"),
        a("visit"),
        a("version", INT),
        a("original"),
        a("protocol"),
        a("label"),
        many("sharing/share", "xnat:experimentData_share"),
        e("date", DATE),
        e("time", TIME),
        e("duration", DURATION),
        e("delay", INT),
        a("delay/ref_expt_id"),
        e("note", max_length=2500),
        sub("investigator", "xnat:investigatorData"),
        sub("validation", "xnat:validationData"),
        many("resources/resource", "xnat:abstractResource"),
        many("fields/field", keyed=True),
        e("acquisition_site"),
    ),
    t(
        "xnat:subjectAssessorData",
        "xnat:experimentData",
        None,
        e("subject_ID"),
        e("age", F),
    ),
    t(
        "xnat:imageSessionData",
        "xnat:subjectAssessorData",
        None,
        a("session_type"),
        a("modality"),
        a("UID"),
        a("study_id"),
        e("scanner"),
        a("scanner/manufacturer"),
        a("scanner/model"),
        e("operator", max_length=_255),
        e("prearchivePath", max_length=_255),
        many("scans/scan", "xnat:imageScanData"),
        e("dcmAccessionNumber"),
        e("dcmPatientId"),
        e("dcmPatientName"),
        e("dcmPatientBirthDate", DATE),
        e("dcmPatientWeight", F),
    ),
]

_MR_SESSION = (
    e("coil", max_length=_255),
    e("fieldStrength", max_length=_255),
    e("marker", max_length=_255),
    e("stabilization", max_length=_255),
)

_PET_SESSION = (
    e("studyType"),
    e("patientID"),
    e("patientName"),
    a("tracer/name"),
    a("tracer/startTime", DATETIME),
    *_with_units("tracer/dose"),
    e("tracer/specificActivity", F),
    *_with_units("tracer/totalMass"),
    *_with_units("tracer/intermediate"),
    e("tracer/isotope"),
    a("tracer/isotope/half-life", F),
    e("tracer/transmissions", INT),
    e("tracer/transmissions_starttime", DATETIME),
    e("start_time", DATETIME),
    e("start_time_scan", DATETIME),
    e("start_time_injection", DATETIME),
    e("blood_glucose", F),
    e("blood_glucose_units"),
    e("blood_glucose_time", DATETIME),
)

# Image session types that add nothing to imageSessionData.
_PLAIN_SESSIONS = {
    "ct": "CTSession",
    "otherDicom": "OtherDicomSession",
    "cr": "CRSession",
    "dx": "DXSession",
    "mg": "MGSession",
    "io": "IOSession",
    "us": "USSession",
    "ecg": "ECGSession",
    "hd": "HDSession",
    "eps": "EPSSession",
    "xa": "XASession",
    "rf": "RFSession",
    "xa3D": "XA3DSession",
    "dx3DCraniofacial": "DX3DCraniofacialSession",
    "nm": "NMSession",
    "sr": "SRSession",
    "rg": "RGSession",
    "es": "ESSession",
    "esv": "ESVSession",
    "gm": "GMSession",
    "gmv": "GMVSession",
    "sm": "SMSession",
    "xc": "XCSession",
    "xcv": "XCVSession",
    "op": "OPSession",
    "opt": "OPTSession",
    "rt": "RTSession",
    "meg": "MEGSession",
}

SESSIONS = [
    t("xnat:mrSessionData", "xnat:imageSessionData", "MRSession", *_MR_SESSION),
    t(
        "xnat:petSessionData",
        "xnat:imageSessionData",
        "PETSession",
        e("stabilization", max_length=_255),
        *_PET_SESSION,
    ),
    t("xnat:petmrSessionData", "xnat:imageSessionData", "PETMRSession", *_MR_SESSION, *_PET_SESSION),
    t(
        "xnat:eegSessionData",
        "xnat:imageSessionData",
        "EEGSession",
        e("dataFormatVersion"),
        e("numberOfChannels", INT),
        *_with_units("samplingRate"),
        *_with_units("samplingInterval"),
    ),
    *(t(f"xnat:{p}SessionData", "xnat:imageSessionData", el) for p, el in _PLAIN_SESSIONS.items()),
]

IMAGE_SCAN = t(
    "xnat:imageScanData",
    None,
    None,
    a("ID"),
    a("type"),
    a("UID"),
    a("project"),
    many("sharing/share", "xnat:imageScanData_share"),
    e("image_session_ID"),
    e("note", max_length=2500),
    e("quality"),
    e("condition"),
    e("series_description"),
    e("series_class"),
    e("documentation", max_length=1000),
    e("scanner"),
    a("scanner/manufacturer"),
    a("scanner/model"),
    a("scanner/softwareVersion"),
    e("modality"),
    e("frames", INT),
    e("operator", max_length=_255),
    many("file", "xnat:abstractResource"),
    sub("validation", "xnat:validationData"),
    e("startTime", TIME),
    e("start_date", DATE),
    e("requestedProcedureDescription"),
    e("protocolName"),
    e("bodyPartExamined"),
)

_DCM_VALIDATION = (e("dcmValidation"), a("dcmValidation/status", B))

MR_SCAN = t(
    "xnat:mrScanData",
    "xnat:imageScanData",
    "MRScan",
    e("coil", max_length=_255),
    e("fieldStrength", max_length=_255),
    e("marker", max_length=_255),
    e("stabilization", max_length=_255),
    e("fileNameUUID"),
    *_xyz("parameters/voxelRes", F, "x", "y", "z", units=True),
    e("parameters/orientation", max_length=5),
    e("parameters/subjectPosition"),
    *_xyz("parameters/fov", INT, "x", "y"),
    *_xyz("parameters/matrix", INT, "x", "y"),
    e("parameters/partitions", INT),
    e("parameters/tr", F),
    e("parameters/te", F),
    e("parameters/deltaTE", F),
    e("parameters/ti", F),
    e("parameters/flip", F),
    e("parameters/sequence", max_length=_255),
    e("parameters/origin", max_length=_255),
    e("parameters/imageType"),
    e("parameters/scanSequence"),
    e("parameters/seqVariant"),
    e("parameters/scanOptions"),
    e("parameters/acqType"),
    e("parameters/readoutSampleSpacing"),
    e("parameters/coil", max_length=_255),
    e("parameters/coilElements"),
    e("parameters/dtiAcqCount", INT),
    e("parameters/pixelBandwidth", D),
    e("parameters/echoSpacing", D),
    e("parameters/phaseEncodingDirection"),
    e("parameters/acqTime"),
    *(
        e(f"parameters/diffusion/{n}")
        for n in ("bValues", "bMax", "directionality", "orientations", "anisotropyType", "refocusFlipAngle")
    ),
    many("parameters/addParam", "xnat:addField", keyed=True),
    *(
        e(f"parameters/inPlanePhaseEncoding/{n}")
        for n in ("direction", "rotation", "polaritySwap", "directionPositive")
    ),
    e("parameters/pmc"),
    *_DCM_VALIDATION,
)

_PET_MATRIX = tuple(e(f"parameters/MT_{r}_{c}", F) for r in (1, 2, 3) for c in (1, 2, 3, 4))


def _filter(path: str) -> tuple[FieldSpec, ...]:
    return (
        a(f"{path}/cutoff", F),
        a(f"{path}/resolution", F),
        a(f"{path}/code", INT),
        a(f"{path}/order", INT),
    )


PET_SCAN = t(
    "xnat:petScanData",
    "xnat:imageScanData",
    "PETScan",
    e("parameters/orientation", INT),
    many("parameters/addParam", "xnat:addField", keyed=True),
    e("parameters/originalFileName"),
    e("parameters/systemType", INT),
    e("parameters/fileType", INT),
    e("parameters/transaxialFOV", F),
    e("parameters/acqType", INT),
    e("parameters/facility"),
    e("parameters/numPlanes", INT),
    a("parameters/frames/numFrames", "int"),
    e("parameters/numGates", INT),
    e("parameters/planeSeparation", F),
    e("parameters/binSize", F),
    e("parameters/dataType", INT),
    *_xyz("parameters/dimensions", INT, "x", "y", "z", "num"),
    *_xyz("parameters/offset", F, "x", "y", "z"),
    e("parameters/reconZoom", F),
    *_xyz("parameters/pixelSize", F, "x", "y", "z"),
    e("parameters/filterCode", INT),
    *_xyz("parameters/resolution", F, "x", "y", "z"),
    e("parameters/numRElements", F),
    e("parameters/numAngles", F),
    e("parameters/ZRotationAngle", F),
    e("parameters/processingCode", INT),
    e("parameters/gateDuration", INT),
    e("parameters/rWaveOffset", INT),
    e("parameters/numAcceptedBeats", INT),
    a("parameters/filter/cutoff", F),
    e("parameters/annotation"),
    *_PET_MATRIX,
    *_filter("parameters/RFilter"),
    *_filter("parameters/ZFilter"),
    e("parameters/scatterType", INT),
    e("parameters/reconType", INT),
    e("parameters/reconViews", INT),
    e("parameters/bedPosition", F),
    e("parameters/ecatCalibrationFactor", F),
    e("ecatValidation"),
    a("ecatValidation/status", B),
)

CT_SCAN = t(
    "xnat:ctScanData",
    "xnat:imageScanData",
    "CTScan",
    *_xyz("parameters/voxelRes", F, "x", "y", "z", units=True),
    e("parameters/orientation"),
    e("parameters/subjectPosition"),
    *_xyz("parameters/fov", INT, "x", "y"),
    e("parameters/rescale/intercept"),
    e("parameters/rescale/slope"),
    e("parameters/kvp", F),
    e("parameters/acquisitionNumber", INT),
    e("parameters/imageType"),
    e("parameters/options", max_length=2500),
    e("parameters/collectionDiameter", F, lo=0),
    e("parameters/distanceSourceToDetector", F, lo=0),
    e("parameters/distanceSourceToPatient", F, lo=0),
    e("parameters/gantryTilt", F),
    e("parameters/tableHeight", F),
    e("parameters/rotationDirection", enum=("CW", "CC")),
    e("parameters/exposureTime", F, lo=0),
    e("parameters/xrayTubeCurrent", F),
    e("parameters/exposure", F),
    e("parameters/filter"),
    e("parameters/generatorPower", F, lo=0),
    e("parameters/convolutionKernel"),
    e("parameters/collimationWidth/single", F, lo=0),
    e("parameters/collimationWidth/total", F, lo=0),
    e("parameters/tableSpeed", F),
    e("parameters/tableFeedPerRotation", F),
    e("parameters/pitchFactor", F),
    e("parameters/estimatedDoseSaving", F),
    a("parameters/estimatedDoseSaving/modulation"),
    e("parameters/ctDIvol", F),
    e("parameters/derivation"),
    sub("parameters/contrastBolus", "xnat:contrastBolus"),
    many("parameters/addParam", "xnat:addField", keyed=True),
    *_DCM_VALIDATION,
)

XA_SCAN = t(
    "xnat:xaScanData",
    "xnat:imageScanData",
    "XAScan",
    *_xyz("parameters/pixelRes", INT, "x", "y", units=True),
    e("parameters/orientation"),
    *_xyz("parameters/fov", INT, "x", "y"),
    e("parameters/imageType"),
    e("parameters/options"),
    e("parameters/derivation"),
    sub("parameters/contrastBolus", "xnat:contrastBolus"),
    many("parameters/addParam", "xnat:addField", keyed=True),
)

OPT_SCAN = t(
    "xnat:optScanData",
    "xnat:imageScanData",
    "OPTScan",
    *_xyz("parameters/voxelRes", F, "x", "y", "z", units=True),
    *_xyz("parameters/fov", INT, "x", "y"),
    e("parameters/laterality"),
    e("parameters/illumination_wavelength"),
    e("parameters/illumination_power"),
    e("parameters/imageType"),
    many("parameters/addParam", "xnat:addField", keyed=True),
    *_DCM_VALIDATION,
)

# Scan types whose only addition is a `parameters/addParam` list.
_ADDPARAM_SCANS = {
    "sc": "SCScan",
    "sr": "SRScan",
    "otherDicom": "OtherDicomScan",
    "cr": "CRScan",
    "dx": "DXScan",
    "mg": "MGScan",
    "io": "IOScan",
    "us": "USScan",
    "ecg": "ECGScan",
    "hd": "HDScan",
    "eps": "EPSScan",
    "rf": "RFScan",
    "xa3D": "XA3DScan",
    "dx3DCraniofacial": "DX3DCraniofacialScan",
    "nm": "NMScan",
    "rg": "RGScan",
    "es": "ESScan",
    "esv": "ESVScan",
    "gm": "GMScan",
    "gmv": "GMVScan",
    "sm": "SMScan",
    "xc": "XCScan",
    "xcv": "XCVScan",
    "op": "OPScan",
    "rtImage": "RTImageScan",
    "seg": "SegScan",
    "mrs": "MRSScan",
    "voiceAudio": "VoiceAudioScan",
    "meg": "MEGScan",
    "eeg": "EEGScan",
}

SCANS = [
    IMAGE_SCAN,
    MR_SCAN,
    PET_SCAN,
    CT_SCAN,
    XA_SCAN,
    OPT_SCAN,
    *(
        t(
            f"xnat:{p}ScanData",
            "xnat:imageScanData",
            el,
            many("parameters/addParam", "xnat:addField", keyed=True),
        )
        for p, el in _ADDPARAM_SCANS.items()
    ),
]

ALL: tuple[DataType, ...] = (*SUPPORT, *SUBJECTS, *EXPERIMENTS, *SESSIONS, *SCANS)
