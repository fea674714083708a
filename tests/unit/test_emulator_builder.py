"""The emulator's session builder and its parts: value formats, field rules, scan IDs and types,
routing, and the checks on received objects. Files are real DICOM written to tmp_path."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from xsync.emulator import fields
from xsync.emulator.builder import BuildError, SourceFile, build_session
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.headers import ReceivedObject, receive_object
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.identify import identify
from xsync.emulator.store import Project, Store
from xsync.testing.dicomgen import SECONDARY_CAPTURE, SeriesSpec, StudySpec, make_dataset, to_bytes

Tweak = Callable[[Dataset, int, int], None]  # (dataset, series index, instance)


def write(tmp_path: Path, study: StudySpec, tweak: Tweak | None = None) -> list[SourceFile]:
    out = []
    for si, s in enumerate(study.series):
        for n in range(1, s.instances + 1):
            ds = make_dataset(study, si, n)
            if tweak:
                tweak(ds, si, n)
            path = tmp_path / f"s{si}_{n}.dcm"
            path.write_bytes(to_bytes(ds))
            out.append(SourceFile(path.name, path))
    return out


# -- value formats -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"), [("20061214", "2006-12-14"), ("2006.12.14", "2006-12-14"), ("2006", None), ("", None)]
)
def test_dicom_date(raw: str, expected: str | None) -> None:
    assert fields.dicom_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("091206.156000", "09:12:06"), ("09:12:06", "09:12:06"), ("0912", "09:12:00"), ("9", None), ("x", None)],
)
def test_dicom_time(raw: str, expected: str | None) -> None:
    assert fields.dicom_time(raw) == expected


def test_number_formats() -> None:
    assert fields.pg_real(2400.0) == "2400"
    assert fields.pg_real(3.08) == "3.08"
    assert fields.java_double(3.0) == "3.0"


@pytest.mark.parametrize(
    ("raw", "tesla"), [("3", "3.0"), ("2.89", "3.0"), ("15000", "1.5"), ("1.2", "1.0"), ("0.25", "0.5")]
)
def test_field_strength_degauss_and_half_tesla(raw: str, tesla: str) -> None:
    ds = Dataset()
    ds.MagneticFieldStrength = raw
    assert fields.field_strength(ds) == {"fieldStrength": tesla}


@pytest.mark.parametrize(
    ("iop", "expected"),
    [
        ([0, 1, 0, 0, 0, -1], "Sag"),
        ([1, 0, 0, 0, 0, -1], "Cor"),
        ([1, 0, 0, 0, 1, 0], "Tra"),
        ([1, 0, 0, 1, 0, 0], None),  # not orthogonal: no value
    ],
)
def test_orientation(iop: list[float], expected: str | None) -> None:
    ds = Dataset()
    ds.ImageOrientationPatient = iop
    result = fields.orientation(ds)
    assert (result or {}).get("parameters/orientation") == expected


def test_archive_scan_type() -> None:
    assert fields.archive_scan_type("INVALID: T1w") == "T1w"
    assert fields.archive_scan_type("T1w") == "T1w"
    assert fields.archive_scan_type("") == "unknown"


# -- the builder ---------------------------------------------------------------------------
def test_session_and_scan_fields(tmp_path: Path) -> None:
    study = StudySpec(operators_name="FIRST^OP\\SECOND^OP", study_comments="COMMENTS OF THE STUDY")
    built = build_session(write(tmp_path, study), "/pre/P/ts/S")
    assert built.xsi_type == "xnat:mrSessionData"
    assert built.uid == study.uid
    f = built.fields
    assert (f["date"], f["time"], f["scanner"], f["fieldStrength"]) == ("2024-01-31", "09:30:00", "SYNSTATION", "3.0")
    assert f["operator"] == "FIRST^OP\\SECOND^OP"
    assert (f["dcmPatientName"], f["dcmPatientId"], f["dcmPatientBirthDate"]) == (
        "Synthetic^Subject",
        "SYN001",
        "1990-01-01",
    )
    assert (f["modality"], f["prearchivePath"], f["session_type"]) == ("MR", "/pre/P/ts/S", "SYNTHETIC")
    assert built.custom == {"studyComments": "COMMENTS OF THE STUDY"}
    assert [s.id for s in built.scans] == ["1", "2"]
    t1 = built.scans[0]
    assert t1.xsi_type == "xnat:mrScanData"
    assert t1.fields["series_description"] == "T1w_MPR"
    assert (t1.fields["parameters/tr"], t1.fields["parameters/te"], t1.fields["parameters/ti"]) == (
        "2400",
        "3.08",
        "1000",
    )
    assert (t1.fields["parameters/voxelRes/x"], t1.fields["parameters/voxelRes/z"]) == ("1", "1")
    assert (t1.fields["parameters/fov/x"], t1.fields["parameters/fov/y"]) == ("8", "8")
    assert t1.fields["parameters/orientation"] == "Sag"
    assert t1.fields["frames"] == "3"
    assert "type" not in t1.fields and "quality" not in t1.fields  # set at archive time
    assert [b.instance_number for b in t1.files] == ["1", "2", "3"]


def test_disagreeing_files_leave_a_field_out_with_a_warning(tmp_path: Path) -> None:
    def tweak(ds: Dataset, si: int, n: int) -> None:
        ds.RepetitionTime = "2400" if n == 1 else "2500"

    built = build_session(write(tmp_path, StudySpec(), tweak), "/p")
    assert "parameters/tr" not in built.scans[0].fields
    assert any("parameters/tr" in w for w in built.warnings)
    assert not any("2500" in w for w in built.warnings)  # warnings name fields, not values


def test_several_station_names_are_joined(tmp_path: Path) -> None:
    def tweak(ds: Dataset, si: int, n: int) -> None:
        ds.StationName = f"ST{si}"

    built = build_session(write(tmp_path, StudySpec(), tweak), "/p")
    assert built.fields["scanner"] == "ST0,ST1"
    assert "scanner" in built.scans[0].fields and built.scans[0].fields["scanner"] == "ST0"


def test_multi_echo_becomes_additional_parameters(tmp_path: Path) -> None:
    study = StudySpec().with_series(SeriesSpec(3, "ME", instances=4))

    def tweak(ds: Dataset, si: int, n: int) -> None:
        ds.EchoNumbers = 1 + n % 2
        ds.EchoTime = "2.5" if n % 2 == 0 else "5"

    scan = build_session(write(tmp_path, study, tweak), "/p").scans[0]
    assert "parameters/te" not in scan.fields
    assert scan.fields["parameters/addParam[name=MultiEcho_TE1]"] == "2.5"
    assert scan.fields["parameters/addParam[name=MultiEcho_TE2]"] == "5"


def test_series_sharing_a_number_get_modality_suffixes(tmp_path: Path) -> None:
    study = StudySpec().with_series(SeriesSpec(4, "A", instances=1), SeriesSpec(4, "B", instances=1))
    built = build_session(write(tmp_path, study), "/p")
    ids = {s.fields["series_description"]: s.id for s in built.scans}
    # Within a shared number, series are taken in UID order.
    first, second = sorted(["A", "B"], key=lambda d: study.series_uid("AB".index(d)))
    expected = {first: "4-MR1", second: "4-MR2"}
    assert ids == expected


def test_frames_count_primary_objects(tmp_path: Path) -> None:
    study = StudySpec().with_series(SeriesSpec(1, "MF", instances=2, frames=5))
    (tmp_path / "mf").mkdir()
    assert build_session(write(tmp_path / "mf", study), "/p").scans[0].fields["frames"] == "10"

    def secondary(ds: Dataset, si: int, n: int) -> None:
        if n == 3:
            ds.SOPClassUID = SECONDARY_CAPTURE
            ds.Modality = "OT"

    (tmp_path / "sc").mkdir()
    built = build_session(write(tmp_path / "sc", StudySpec(), secondary), "/p")
    assert built.scans[0].xsi_type == "xnat:mrScanData"
    assert built.scans[0].fields["frames"] == "2"
    assert [b.primary for b in built.scans[0].files] == [True, True, False]  # the SC file is secondary
    # Modality is an ordinary session attribute: MR and OT files leave it out, with a warning.
    assert "modality" not in built.fields
    assert any(w.startswith("modality:") for w in built.warnings)


def test_a_secondary_capture_only_study_is_other_dicom(tmp_path: Path) -> None:
    study = StudySpec().with_series(SeriesSpec(9, "SC", modality="OT", sop_class_uid=SECONDARY_CAPTURE))
    built = build_session(write(tmp_path, study), "/p")
    assert built.xsi_type == "xnat:otherDicomSessionData"
    assert built.scans[0].xsi_type == "xnat:scScanData"


def test_build_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError):
        build_session([], "/p")
    a = write(tmp_path, StudySpec(seed="a").with_series(SeriesSpec(1, "x", instances=1)))
    (tmp_path / "b").mkdir()
    b = write(tmp_path / "b", StudySpec(seed="b").with_series(SeriesSpec(1, "x", instances=1)))
    with pytest.raises(BuildError, match="Study Instance UIDs"):
        build_session(a + b, "/p")


def test_unreadable_files_are_left_out(tmp_path: Path) -> None:
    files = write(tmp_path, StudySpec())
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    built = build_session([*files, SourceFile("junk.dcm", junk)], "/p")
    assert sum(len(s.files) for s in built.scans) == len(files)
    assert any("junk.dcm" in w for w in built.warnings)


# -- received objects ----------------------------------------------------------------------
def test_bare_dataset_gets_file_meta() -> None:
    data = to_bytes(make_dataset(StudySpec(), 0, 1), transfer_syntax="implicit-le", preamble=False)
    obj = receive_object(data, "x.dcm")
    assert obj.data[128:132] == b"DICM"
    assert obj.data.endswith(data)
    assert b"1.2.840.10008.1.2\x00" in obj.data[132:400]  # implicit VR little endian, as read
    assert "SourceApplicationEntityTitle" not in dcmread(io.BytesIO(obj.data)).file_meta


def test_the_sender_ae_title_is_the_source_application_entity_title() -> None:
    bare = to_bytes(make_dataset(StudySpec(), 0, 1), preamble=False)
    meta = dcmread(io.BytesIO(receive_object(bare, None, None, "STORESCU").data)).file_meta
    assert meta.SourceApplicationEntityTitle == "STORESCU"
    # A Part-10 file keeps the file meta it came with (XNAT writes its own only for bare datasets).
    part10 = to_bytes(make_dataset(StudySpec(), 0, 1))
    assert receive_object(part10, "x.dcm", None, "STORESCU").data == part10


def test_a_bare_dataset_is_read_in_the_transfer_syntax_it_came_in() -> None:
    # Deflated data cannot be recognised by its bytes: only the announced syntax reads it.
    deflated = to_bytes(make_dataset(StudySpec(), 0, 1), transfer_syntax="deflated")
    bare = deflated[132 + 12 + int.from_bytes(deflated[140:144], "little") :]  # after the file meta group
    with pytest.raises(XnatHTTPError, match="unable to read DICOM object null"):
        receive_object(bare, None)
    obj = receive_object(bare, None, "1.2.840.10008.1.2.1.99")
    assert obj.data.endswith(bare) and obj.sop_instance_uid == make_dataset(StudySpec(), 0, 1).SOPInstanceUID
    assert dcmread(io.BytesIO(obj.data)).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, this is a README", "unable to read DICOM object n.dcm"),
        (to_bytes(make_dataset(StudySpec(), 0, 1))[:703], "unable to read DICOM object n.dcm"),  # in a header
        (to_bytes(make_dataset(StudySpec(), 0, 1))[:-20], "unable to read DICOM object n.dcm"),
    ],
)
def test_unreadable_objects(data: bytes, message: str) -> None:
    with pytest.raises(XnatHTTPError) as e:
        receive_object(data, "n.dcm")
    assert (e.value.status, e.value.message) == (400, message)


def test_objects_without_sop_uids() -> None:
    ds = make_dataset(StudySpec(), 0, 1)
    ds.SOPInstanceUID = ""
    with pytest.raises(XnatHTTPError, match="object n.dcm contains no SOP Instance UID"):
        receive_object(to_bytes(ds, preamble=False), "n.dcm")
    ds = make_dataset(StudySpec(), 0, 1)
    del ds.SOPClassUID
    with pytest.raises(XnatHTTPError, match="object null contains no SOP Class UID"):
        receive_object(to_bytes(ds, preamble=False), None)


# -- routing -------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path)
    s.projects["PROJ1"] = Project(id="PROJ1", aliases=["ALIAS1"])
    s.projects["OTHER"] = Project(id="OTHER")
    return s


def received(**headers: str) -> ReceivedObject:
    ds = make_dataset(StudySpec(), 0, 1)
    for keyword, value in headers.items():
        setattr(ds, keyword, value)
    return receive_object(to_bytes(ds), "x.dcm")


def route(
    store: Store, obj: ReceivedObject, user: str = "admin", **params: str
) -> tuple[str | None, str, str, bool | None]:
    i = identify(store, EmulatorConfig(users={"admin": "a", "bob": "b"}), user, obj, params)
    return i.project, i.subject, i.session, i.auto_archive


def test_routing_by_headers(store: Store) -> None:
    # The contract's example: Study Description names an existing project.
    obj = received(PatientName="Doe^John", PatientID="MR 001", StudyDescription="PROJ1")
    assert route(store, obj) == ("PROJ1", "Doe_John", "MR_001", None)
    # Comments win over names; an alias resolves to the project's ID; AA: is read.
    obj = received(StudyComments="Project: ALIAS1; Subject: s1, Session: e1 AA:true", StudyDescription="OTHER")
    assert route(store, obj) == ("PROJ1", "s1", "e1", True)
    obj = received(AdditionalPatientHistory="project:OTHER aa:f")
    assert route(store, obj)[0::3] == ("OTHER", False)
    # Nothing names a project: Unassigned; a description that is no project is skipped for
    # the accession number.
    assert route(store, received(StudyDescription="nope", AccessionNumber="NOPE"))[0] is None
    assert route(store, received(StudyDescription="nope", AccessionNumber="PROJ1"))[0] == "PROJ1"
    assert route(store, received(PatientID=""))[2] == "dicom_upload"


def test_explicit_parameters_win(store: Store) -> None:
    obj = received(StudyComments="Project:OTHER Subject:s Session:e")
    assert route(store, obj, PROJECT_ID="PROJ1", SUBJECT_ID="raw subj", EXPT_LABEL="raw.e") == (
        "PROJ1",
        "raw subj",  # used verbatim
        "raw.e",
        None,
    )
    # An explicit project that does not exist, or that the user may not use, is ignored.
    assert route(store, obj, PROJECT_ID="MISSING")[0] == "OTHER"
    assert route(store, obj, user="bob", PROJECT_ID="PROJ1")[0] == "OTHER"
