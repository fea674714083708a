"""XNAT's DICOM rules shared by the inventory and the emulator."""

from __future__ import annotations

import gzip
import json

import pydicom
import pytest

from xsync.dicom.labels import clean_label, contained_assignment, is_valid_label
from xsync.dicom.naming import base36, java_string_hash, safe_incoming_name, sop_hash, template_file_name
from xsync.dicom.scanids import SeriesKey, assign_scan_ids, series_number_label
from xsync.dicom.sop import is_primary, lead_modality, scan_type, session_type

MR = "1.2.840.10008.5.1.4.1.1.4"
SC = "1.2.840.10008.5.1.4.1.1.7"
PET = "1.2.840.10008.5.1.4.1.1.128"
CT = "1.2.840.10008.5.1.4.1.1.2"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("Doe^John", "Doe_John"), ("Sample ID", "Sample_ID"), ("sub-01_a", "sub-01_a"), ("a.b/c", "a_b_c")],
)
def test_clean_label(raw: str, cleaned: str) -> None:
    assert clean_label(raw) == cleaned
    assert is_valid_label(cleaned)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Project:CCF_TEST Subject:sub1 Session:session1", "subject", "sub1"),
        ("Project: P; Subject: S, Session: E", "Session", "E"),
        ("project:abc", "PROJECT", "abc"),
        ("xProject:abc", "Project", None),  # key must start a word
        ("Project:a.b", "Project", None),  # value with a dot does not match
        ("Project:has space", "Project", "has"),
        ("Project:A Project:B", "Project", "B"),  # XNAT's greedy prefix: the last one wins
        ("Project:A Project:", "Project", None),  # ... even when it is empty
        ("a\nb Project:P", "Project", None),  # Java's `.` does not cross a line break
        ("notes\nProject:P", "Project", "P"),
        ("", "Project", None),
        (None, "Project", None),
    ],
)
def test_contained_assignment(text: str | None, key: str, value: str | None) -> None:
    assert contained_assignment(text, key) == value


def test_java_hash_matches_java_semantics() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("a") == 97
    # "polygenelubricants".hashCode() == Integer.MIN_VALUE in Java
    assert java_string_hash("polygenelubricants") == -(2**31)
    assert base36(0) == "0" and base36(35) == "z" and base36(36) == "10"


def test_nrg_sample_file_hash() -> None:
    # The value DICOM-IMPORT.md verified against NRG's sample1.json.
    assert sop_hash(MR, "1.3.12.2.1107.5.2.32.35177.3.2006121409365951632817982") == "1qs88hj"


def test_template_name_marks_missing_values() -> None:
    name = template_file_name(None, "", "3", MR, "1.2.3")
    assert name.startswith("no-value-for-StudyInstanceUID-no-value-for-SeriesNumber-3-")
    assert name.endswith(".dcm")


def test_safe_incoming_name() -> None:
    assert safe_incoming_name("dir/sub dir/IM 0001.dcm") == "IM_0001.dcm"
    assert safe_incoming_name("C:\\x\\a+b.dcm") == "C__x_a_b.dcm"  # XNAT splits at `/` only
    assert safe_incoming_name("Müller.dcm") == "M_ller.dcm"  # Java's \\w is ASCII


@pytest.mark.nrg
def test_template_names_match_nrg_golden(nrg_root) -> None:
    golden = json.loads((nrg_root / "rest-tests/filenames/sample1.json").read_text())
    expected = {n for scan in golden for n in scan["resources"]["DICOM"]}
    files = sorted((nrg_root / "sample-mr").glob("*.dcm.gz"))
    assert len(files) == 9
    for f in files:
        with gzip.open(f) as fh:
            ds = pydicom.dcmread(fh)
        name = template_file_name(
            ds.StudyInstanceUID, str(ds.SeriesNumber), str(ds.InstanceNumber), ds.SOPClassUID, ds.SOPInstanceUID
        )
        assert name in expected


def test_lead_modality() -> None:
    assert lead_modality({"MR", "SC", "OT"}) == "MR"
    assert lead_modality({"MR", "PT"}) == "PT"
    assert lead_modality(set()) is None


def test_session_and_scan_types() -> None:
    assert session_type([MR, SC], ["MR", "OT"]) == "mrSessionData"
    assert session_type([PET, CT], ["PT", "CT"]) == "petSessionData"
    assert session_type([SC], ["OT"]) == "otherDicomSessionData"
    assert session_type(["1.2.3.unknown"], ["MR"]) == "mrSessionData"
    assert session_type(["1.2.3.unknown"], ["XX"]) is None
    assert scan_type([CT, SC]) == "ctScanData"
    assert scan_type([PET, CT]) == "petScanData"
    assert scan_type([SC]) == "scScanData"
    assert scan_type(["1.2.3.unknown"]) == "otherDicomScanData"


def test_sop_table_uids_are_the_named_classes() -> None:
    from pydicom.uid import UID

    assert UID(MR).name == "MR Image Storage"
    assert UID(SC).name == "Secondary Capture Image Storage"
    assert UID("1.2.840.10008.5.1.4.1.1.88.11").name == "Basic Text SR Storage"
    assert UID("1.2.840.10008.5.1.4.1.1.481.1").name == "RT Image Storage"


def test_series_number_label() -> None:
    assert series_number_label("4", "1.2") == "4"
    assert series_number_label("+4", "1.2") == "_4"
    assert series_number_label("", "1.2.3") == "1_2_3"
    assert series_number_label("  ", "1.2") == "1_2"


def test_scan_ids_numeric_order_and_clash_rule() -> None:
    series = [
        SeriesKey("1.9", "9", frozenset({"MR"})),
        SeriesKey("1.5", "4", frozenset({"MR"})),
        SeriesKey("1.3", "4", frozenset({"MR"})),
        SeriesKey("1.4", "4", frozenset({"OT"})),
        SeriesKey("1.2", "2", frozenset({"MR"})),
        SeriesKey("1.7", "", frozenset({"MR"})),
    ]
    ids = [(scan_id, s.uid) for scan_id, s in assign_scan_ids(series)]
    # XNAT's comparator orders a UID-derived ID among the numbers as text: "1_7" < "2".
    assert ids == [
        ("1_7", "1.7"),
        ("2", "1.2"),
        ("4-MR1", "1.3"),
        ("4-OT1", "1.4"),
        ("4-MR2", "1.5"),
        ("9", "1.9"),
    ]


def test_scan_numbers_equal_as_integers_are_one_number() -> None:
    series = [SeriesKey("1.1", "4", frozenset({"MR"})), SeriesKey("1.2", "04", frozenset({"MR"}))]
    assert [(i, s.uid) for i, s in assign_scan_ids(series)] == [("04-MR1", "1.1"), ("04-MR2", "1.2")]
    assert [i for i, _ in assign_scan_ids([SeriesKey("1.1", "10"), SeriesKey("1.2", "2")])] == ["2", "10"]


def test_pet_mr_and_primary_classes() -> None:
    assert session_type([PET, MR], ["PT", "MR"]) == "petmrSessionData"  # XNAT's default PET/MR handling
    assert session_type(["1.2.840.10008.5.1.4.1.1.481.1"], ["RTIMAGE"]) == "otherDicomSessionData"
    assert is_primary(MR) and is_primary(CT) and not is_primary(SC)
