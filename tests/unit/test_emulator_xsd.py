"""The XSD registry and shortcut tables (pure)."""

from __future__ import annotations

import pytest

from xsync.emulator import shortcuts, xsd


@pytest.mark.parametrize(
    ("type_name", "path", "xsd_type", "attribute"),
    [
        ("xnat:mrScanData", "parameters/voxelRes/x", "float", True),
        ("xnat:mrscandata", "PARAMETERS/TR", "float", False),  # any case
        ("xnat:mrScanData", "frames", "integer", False),  # inherited from imageScanData
        ("xnat:mrSessionData", "fieldStrength", "string", False),
        ("xnat:mrSessionData", "scanner/manufacturer", "string", True),
        ("xnat:subjectData", "demographics[@xsi:type=xnat:demographicData]/age", "integer", False),
        ("xnat:ctScanData", "parameters/rescale/intercept", "string", False),
        ("xnat:petSessionData", "tracer/isotope/half-life", "float", True),
    ],
)
def test_field_lookup(type_name: str, path: str, xsd_type: str, attribute: bool) -> None:
    spec = xsd.field(type_name, path)
    assert spec is not None
    assert (spec.xsd_type, spec.attribute) == (xsd_type, attribute)


def test_unknown_or_foreign_fields_are_none() -> None:
    assert xsd.field("xnat:ctScanData", "parameters/tr") is None
    assert xsd.field("xnat:subjectData", "scanner") is None
    assert xsd.field("xnat:noSuchType", "ID") is None


def test_enumerations_and_lengths() -> None:
    gender = xsd.field("xnat:subjectData", "demographics/gender")
    assert gender is not None and gender.enum == ("male", "female", "other", "unknown", "M", "F")
    note = xsd.field("xnat:mrScanData", "note")
    assert note is not None and note.max_length == 2500
    education = xsd.field("xnat:subjectData", "demographics/education")
    assert education is not None and (education.min_value, education.max_value) == (0, 30)


def test_type_hierarchy_and_elements() -> None:
    assert xsd.ancestors("xnat:mrSessionData") == (
        "xnat:mrSessionData",
        "xnat:imageSessionData",
        "xnat:subjectAssessorData",
        "xnat:experimentData",
    )
    assert xsd.is_a("xnat:scScanData", "xnat:imageScanData")
    assert not xsd.is_a("xnat:mrSessionData", "xnat:petSessionData")
    assert xsd.element_type("xnat:MRSession") == "xnat:mrSessionData"
    assert xsd.element_type("OtherDicomSession") == "xnat:otherDicomSessionData"
    assert xsd.root_element("xnat:ctScanData") == "xnat:CTScan"


@pytest.mark.parametrize(
    ("type_name", "path", "stored", "typed"),
    [
        ("xnat:mrScanData", "parameters/tr", "2400.0", 2400),
        ("xnat:mrScanData", "parameters/te", "3.08", 3.08),
        ("xnat:mrScanData", "frames", "176", 176),
        ("xnat:mrSessionData", "fieldStrength", "3.0", "3.0"),
        ("xnat:mrScanData", "frames", "not a number", "not a number"),
        ("xnat:mrScanData", "parameters/tr", "NaN", "NaN"),
        ("xnat:mrScanData", "dcmValidation/status", "true", True),
        ("xnat:mrScanData", "unknown/path", "x", "x"),
    ],
)
def test_typed_json_values(type_name: str, path: str, stored: str, typed: object) -> None:
    value = xsd.typed(type_name, path, stored)
    assert value == typed and type(value) is type(typed)


def test_output_key_is_the_shortcut_when_the_xpath_is_its_path() -> None:
    assert shortcuts.key_for_xpath(shortcuts.EXPERIMENT, "xnat:imageSessionData/scanner") == "scanner"
    assert shortcuts.key_for_xpath(shortcuts.EXPERIMENT, "XNAT:ImageSessionData/Scanner") == "scanner"
    assert shortcuts.key_for_xpath(shortcuts.EXPERIMENT, "xnat:mrSessionData/scanner") == "xnat:mrsessiondata/scanner"
    assert shortcuts.key_for_xpath(shortcuts.SUBJECT, "xnat:subjectData/demographics/gender") == "gender"


def test_names_registered_twice_keep_their_last_path() -> None:
    # XMLPathShortcuts puts both into one Hashtable: the PET registration replaces the MR one
    stabilization = shortcuts.EXPERIMENT["stabilization"]
    assert shortcuts.xpath_for(stabilization, "xnat:petSessionData") == "xnat:petSessionData/stabilization"
    assert shortcuts.xpath_for(stabilization, "xnat:mrSessionData") == "xnat:petSessionData/stabilization"
    assert shortcuts.EXPERIMENT["tracer_isotope"].xpaths == ("xnat:petSessionData/tracer/isotope/half-life",)
