"""The emulator's own DICOM ingest rules against what XNAT's source and NRG's own tests say:
label and file-name characters, `Key:value` assignments, template file names (NRG's golden
names), scan IDs and order, and data types (NRG's TestDicomModalityAssignment and dicom-xnat's
SOPModelTest expectations)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pydicom
import pytest

from xsync.emulator import sopmodel
from xsync.emulator.assignments import assignment, first_of
from xsync.emulator.filenames import (
    FileNameTemplate,
    archive_entry_name,
    base36,
    java_list_hash,
    java_string_hash,
    kept_name,
    scan_directory,
)
from xsync.emulator.headers import first_value
from xsync.emulator.labels import file_name_chars, is_file_name, is_label, label_chars
from xsync.emulator.scan_ids import SeriesIdentity, assign, base_id, compare_maybe_numeric, instance_order, java_int

MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
PET = "1.2.840.10008.5.1.4.1.1.128"
CT = "1.2.840.10008.5.1.4.1.1.2"
SC = "1.2.840.10008.5.1.4.1.1.7"
XA = "1.2.840.10008.5.1.4.1.1.12.1"
XA_3D = "1.2.840.10008.5.1.4.1.1.13.1.1"
CR = "1.2.840.10008.5.1.4.1.1.1"
RT_STRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
RT_IMAGE = "1.2.840.10008.5.1.4.1.1.481.1"
RAW_DATA = "1.2.840.10008.5.1.4.1.1.66"
SIEMENS_CSA = "1.3.12.2.1107.5.9.1"


# -- labels and file names (Labels.java, Files.java) -------------------------------------------
@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("Doe^John", "Doe_John"),
        ("Sample ID", "Sample_ID"),
        ("sub-01_a", "sub-01_a"),
        ("a.b/c", "a_b_c"),
        ("Müller", "M_ller"),  # Java's \w is ASCII only
        ("山田^太郎", "_____"),
        ("a\U0001f600b", "a_b"),  # a surrogate pair is one character to replace
    ],
)
def test_label_characters(raw: str, label: str) -> None:
    assert label_chars(raw) == label
    assert is_label(label) and not (raw != label and is_label(raw))


def test_file_name_characters_keep_dots() -> None:
    assert file_name_chars("IM 0001.dcm") == "IM_0001.dcm"
    assert is_file_name("1.2.dcm") and is_file_name("..") and not is_file_name("") and not is_file_name("a b")


# -- ContainedAssignmentExtractor ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Project:BobsProj Subject:subj001 Session:subj001_MR1", "Subject", "subj001"),
        ("Project: P; Subject: S, Session: E", "session", "E"),  # the key in any case
        ("baz=foo;Project:bar;", "Project", "bar"),
        ("Project:A Project:B", "Project", "B"),  # the greedy `.*`: the last assignment wins
        ("Project:a.b Project:c", "Project", "c"),
        ("Project:a.b", "Project", None),  # a value must end at a separator
        ("xProject:abc", "Project", None),  # the key starts the field or follows a separator
        ("Project:", "Project", ""),  # an empty value matches (a chain skips it)
        ("notes\nProject:P", "Project", "P"),
        ("a\nb Project:P", "Project", None),  # `.` does not cross a line break
        ("Project:P\nmore words", "Project", "P"),
        ("Project:P\nmore\nlines", "Project", None),
        ("PROJECT:X", "project", "X"),
        ("\u017fubject:X", "subject", None),  # no Unicode case folding (long s)
        ("Project:Ünï", "Project", None),  # the value is ASCII word characters
        ("", "Project", None),
    ],
)
def test_contained_assignment(text: str, key: str, value: str | None) -> None:
    assert assignment(text, key) == value


def test_chain_takes_the_first_non_empty_value() -> None:
    assert first_of([None, "", "b", "c"]) == "b"
    assert first_of([None, ""]) is None


# -- file names (TemplatizedDicomFileNamer, getSafeFile, Restructurer) -------------------------
def test_java_hashes() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("a") == 97
    assert java_string_hash("polygenelubricants") == 2**31  # Integer.MIN_VALUE, unsigned
    assert java_string_hash("\U0001f600") == (0xD83D * 31 + 0xDE00)  # UTF-16 code units
    assert java_list_hash([]) == 1 and java_list_hash(["a"]) == 31 + 97
    assert (base36(0), base36(35), base36(36)) == ("0", "z", "10")


def header(**values: str):  # type: ignore[no-untyped-def]
    return lambda keyword: values.get(keyword, "")


def test_template_marks_blank_values_and_appends_the_extension() -> None:
    names = FileNameTemplate()
    name = names.name(header(InstanceNumber="3", SeriesNumber="  ", SOPClassUID=MR, SOPInstanceUID="1.2.3"))
    assert name.startswith("no-value-for-StudyInstanceUID-no-value-for-SeriesNumber-3-")
    assert name.endswith(".dcm")
    assert name.removesuffix(".dcm").rsplit("-", 1)[1] == base36(java_list_hash([MR, "1.2.3"]))


def test_template_variants() -> None:
    assert FileNameTemplate("${SOPInstanceUID}.DCM").template == "${SOPInstanceUID}.DCM"
    assert FileNameTemplate("x.${SOPInstanceUID}").template == "x.${SOPInstanceUID}.dcm"
    three = FileNameTemplate("${HashSeriesNumberWithInstanceNumberWithModality}")
    assert (
        three.name(header(SeriesNumber="4", InstanceNumber="7"))
        == base36(java_list_hash(["4", "7", "no-value-for-Modality"])) + ".dcm"
    )


@pytest.mark.nrg
def test_template_names_of_nrg_samples_match_xnat(nrg_root: Path) -> None:
    golden = json.loads((nrg_root / "rest-tests/filenames/sample1.json").read_text())
    expected = {n for scan in golden for n in scan["resources"]["DICOM"]}
    files = sorted((nrg_root / "sample-mr").glob("*.dcm.gz"))
    assert len(files) == 9
    names = FileNameTemplate()
    for f in files:
        with gzip.open(f) as fh:
            ds = pydicom.dcmread(fh, stop_before_pixels=True)
        assert names.name(lambda keyword, ds=ds: first_value(ds, keyword)) in expected


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ("IM 0001.dcm", "IM_0001.dcm"),
        ("7/0001.dcm", "0001.dcm"),  # an archive entry is named after its last `/` part
        ("a/b/c.dcm", "c.dcm"),
        ("dir\\x+y.dcm", "dir_x_y.dcm"),  # a backslash is no separator for XNAT
        ("dir/", "dir"),
        (".", None),
        ("", None),
    ],
)
def test_kept_names(entry: str, kept: str | None) -> None:
    assert kept_name(entry) == kept


def test_archive_entry_name() -> None:
    assert archive_entry_name("a//b") == "b"
    assert archive_entry_name("/") == ""


@pytest.mark.parametrize(
    ("number", "uid", "directory"),
    [("4", "1.2.3", "4"), ("+4", "1.2.3", "1_2_3"), ("", "1.2.3", "1_2_3"), ("", "", "NA"), ("..", "1.2", "1_2")],
)
def test_scan_directories(number: str, uid: str, directory: str) -> None:
    assert scan_directory(number, uid) == directory


# -- scan IDs and order (DICOMSessionBuilder.call, MaybeNumericStringComparator) --------------
def test_java_int() -> None:
    assert [java_int(t) for t in ("4", "-4", "+4", "04", "\u0664")] == [4, -4, 4, 4, 4]
    assert [java_int(t) for t in (" 4", "4.0", "2147483648", "1_2", "")] == [None] * 5


def test_maybe_numeric_order() -> None:
    assert compare_maybe_numeric("2", "10") < 0  # both ints: numerically
    assert compare_maybe_numeric("04", "4") == 0  # one TreeMap key
    assert compare_maybe_numeric("10", "1_2") < 0  # otherwise as strings
    assert compare_maybe_numeric("1_2", "2") < 0
    assert compare_maybe_numeric("2147483647", "-5") < 0  # `i1 - i2` overflows like a Java int


def series(uid: str, number: str, *modalities: str) -> SeriesIdentity:
    return SeriesIdentity(uid, number, frozenset(modalities))


def ids(*items: SeriesIdentity) -> list[tuple[str, str]]:
    return [(scan_id, s.uid) for scan_id, s in assign(items)]


def test_scan_ids_from_series_numbers() -> None:
    assert ids(series("1.9", "10", "MR"), series("1.8", "2", "MR"), series("1.7", "1", "MR")) == [
        ("1", "1.7"),
        ("2", "1.8"),
        ("10", "1.9"),
    ]
    assert base_id("+5", "1.2") == "_5"
    assert base_id("", "1.2.840-5") == "1_2_840_5"


def test_series_sharing_a_number_are_numbered_per_lead_modality_in_uid_order() -> None:
    got = ids(series("1.3", "4", "OT"), series("1.2", "4", "MR", "OT"), series("1.1", "4", "MR"), series("1.0", "4"))
    assert got == [("4-OT1", "1.0"), ("4-MR1", "1.1"), ("4-MR2", "1.2"), ("4-OT2", "1.3")]


def test_a_series_without_number_sorts_as_a_string() -> None:
    got = ids(series("1.5", "3", "MR"), series("1.2.840", "", "MR"), series("1.4", "1", "MR"), series("1.6", "2"))
    assert got == [("1", "1.4"), ("1_2_840", "1.2.840"), ("2", "1.6"), ("3", "1.5")]


def test_numbers_equal_as_ints_share_one_key() -> None:
    assert ids(series("1.1", "4", "MR"), series("1.2", "04", "MR")) == [("04-MR1", "1.1"), ("04-MR2", "1.2")]


def test_instance_order() -> None:
    numbers = ["10", "", "2", "x", "1"]
    assert sorted(numbers, key=instance_order) == ["1", "2", "10", "", "x"]


# -- data types (SOPModel, the session bean factories) ---------------------------------------
# NRG's TestDicomModalityAssignment (xnat-rest-tests): (series: (SOP classes, modality,
# expected scan type)), expected session type, for XNAT 1.8.5+ with default PET/MR handling.
NRG_MODALITY_CASES = [
    ([([MR], "MR", "mrScanData"), ([MR], "MR", "mrScanData")], "mrSessionData"),
    ([([PET], "PT", "petScanData")], "petSessionData"),
    ([([SC], "CT", "scScanData")], "ctSessionData"),
    ([([SC], "SC", "scScanData")], "otherDicomSessionData"),
    ([([RT_STRUCT], "RTSTRUCT", "rtImageScanData"), ([ENHANCED_MR], "MR", "mrScanData")], "mrSessionData"),
    ([([RAW_DATA, MR], "MR", "mrScanData")], "mrSessionData"),
    ([([XA], "XA", "xaScanData")], "xaSessionData"),
    ([([XA_3D], "XA", "xaScanData")], "xaSessionData"),
    ([([CR], "CR", "crScanData")], "crSessionData"),
    ([([MR], "", "mrScanData")], "mrSessionData"),
    ([([PET], "PT", "petScanData"), ([CT], "CT", "ctScanData")], "petSessionData"),
    ([([RT_STRUCT], "RTSTRUCT", "rtImageScanData"), ([PET], "PT", "petScanData"), ([CT], "CT", "ctScanData")],
     "petSessionData"),
    ([([PET], "PT", "petScanData"), ([MR], "MR", "mrScanData")], "petmrSessionData"),
]  # fmt: skip


@pytest.mark.parametrize(("series_specs", "session"), NRG_MODALITY_CASES)
def test_nrg_modality_assignment_cases(series_specs: list[tuple[list[str], str, str]], session: str) -> None:
    for sops, _, scan in series_specs:
        assert sopmodel.scan_type(sops) == scan
    all_sops = {u for sops, _, _ in series_specs for u in sops}
    assert sopmodel.session_type(all_sops, {m for _, m, _ in series_specs}) == session


def test_sop_model_expectations() -> None:
    # dicom-xnat's SOPModelTest
    assert sopmodel.scan_type([CT, SC]) == "ctScanData"
    assert sopmodel.scan_type([PET, CT]) == "petScanData"
    assert sopmodel.scan_type([SIEMENS_CSA]) == "otherDicomScanData"
    assert sopmodel.lead_scan_type(["NoSuchSOPClass"]) is None
    assert sopmodel.lead_modality({"MR", "SC", "OT"}) == "MR"
    assert sopmodel.lead_modality({"MR", "PT"}) == "PT"
    assert sopmodel.lead_modality(set()) is None
    assert sopmodel.is_primary(MR) and sopmodel.is_primary(CT) and not sopmodel.is_primary(SC)


def test_session_type_fallbacks() -> None:
    # RT image objects map to rtSessionData, which lead-session-types.txt does not list, and
    # RTIMAGE is no listed modality: the default factory's generic session.
    assert sopmodel.session_type([RT_IMAGE], ["RTIMAGE"]) == "otherDicomSessionData"
    assert sopmodel.session_type([SC], ["OT", "SR"]) == "otherDicomSessionData"  # OT leads SR
    assert sopmodel.session_type([SC], ["SR"]) == "srSessionData"
    assert sopmodel.session_type(["1.2.3.4"], ["DOC"]) is None  # nothing known: no session
    assert sopmodel.session_type(["1.2.3.4"], ["MR"]) == "mrSessionData"  # by modality alone


def test_keywords_resolve_as_xnat_resolves_them() -> None:
    assert sopmodel.uid_for("MRImageStorage") == MR
    assert sopmodel.uid_for("SiemensCSANonImageStorage") == SIEMENS_CSA  # XNAT's UID3Addition
    assert sopmodel.uid_for("EncapsulatedObjStorage") is None  # the standard spells it OBJ
    assert sopmodel.uid_for("UID") is None  # a module attribute that is no UID
