"""Pure logic behind the search service, the schema documents and strict uploads: criteria
comparisons as DisplayCriteria writes its SQL, display-field lookup by xpath, every type the
generated schema refers to being declared, and XNAT's file-name formats."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from xsync.emulator import display
from xsync.emulator.archive_entries import xnat_format
from xsync.emulator.schemas import xnat_schema
from xsync.emulator.search_criteria import compare

XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.mark.parametrize(
    ("value", "op", "target", "type_", "expected"),
    [
        ("Sub1", "LIKE", "sub%", "string", True),  # LOWER(a) LIKE LOWER(b)
        ("sub1", "LIKE", "s_b1", "string", True),
        ("sub1", " LIKE ", "sub", "string", False),  # xnatpy pads the operator
        (None, "LIKE", "%", "string", False),
        ("sub1", "NOT LIKE", "x%", "string", True),
        ("Sub1", "=", "sub1", "string", False),  # `=` is exact
        (None, "=", "", "string", True),
        ("a", "=", "", "string", False),
        (None, "!=", "a", "string", True),  # ... OR a IS NULL
        ("a", "!=", "a", "string", False),
        ("a", "=", "*", "string", True),
        (None, "=", "*", "string", False),
        ("10", ">", "9", "integer", True),  # numbers as numbers
        ("10", ">", "9", "string", False),  # text as text
        (None, "<", "9", "integer", False),
        ("2020-06-15", "<", "01/01/2021", "date", True),
        ("2020-06-15", ">=", "2020-06-15", "date", True),
        ("b", "IN", "a, b,'c'", "string", True),
        ("5", "BETWEEN", "1 AND 9", "integer", True),
        ("10", "BETWEEN", "1 and 9", "integer", False),
        (None, "IS NULL", "", "string", True),
        ("a", "IS", "NOT NULL", "string", True),
        ("a", "IS NOT NULL", "", "string", True),
    ],
)
def test_compare(value: str | None, op: str, target: str, type_: str, expected: bool) -> None:
    assert compare(value, op, target, type_) is expected


def test_display_field_for_an_xpath() -> None:
    session = display.for_path("xnat:mrSessionData", "ID")
    assert session is not None and session.id == "SESSION_ID"
    subject = display.for_path("xnat:subjectData", "ID")
    assert subject is not None and subject.id == "SUBJECTID"
    gender = display.for_path("xnat:subjectData", "demographics[@xsi:type=xnat:demographicData]/gender")
    assert gender is not None and gender.id == "GENDER_TEXT"
    nested = display.for_path("xnat:mrScanData", "parameters/voxelRes/x")
    assert nested is not None and (nested.id, nested.type) == ("PARAMETERS_VOXELRES_X", "float")
    assert display.for_path("xnat:subjectData", "nosuch") is None


def test_every_referenced_type_is_declared() -> None:
    doc = ET.fromstring(xnat_schema())
    declared = {f"xnat:{ct.get('name')}" for ct in doc.findall(f"{XS}complexType")}
    referenced = {e.get("type") for e in doc.iter(f"{XS}element") if (e.get("type") or "").startswith("xnat:")}
    referenced |= {x.get("base") for x in doc.iter(f"{XS}extension") if (x.get("base") or "").startswith("xnat:")}
    assert referenced <= declared
    assert {"xnat:projectData", "xnat:subjectData", "xnat:mrSessionData", "xnat:mrScanData"} <= declared


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("upload.zip", "ZIP"),
        ("x.zar", "ZIP"),
        ("upload.tar", "TAR"),
        ("a.xar", "TAR"),
        ("upload.tar.gz", "TGZ"),
        ("a.tgz", "TGZ"),
        ("a.gz", "GZ"),
        ("upload.gzip", "UNKNOWN"),
        ("UPLOAD.ZIP", "UNKNOWN"),  # Format's patterns are case-sensitive
        ("upload", "UNKNOWN"),
        ("upload.unsupported", "UNKNOWN"),
    ],
)
def test_xnat_format(name: str, fmt: str) -> None:
    assert xnat_format(name) == fmt
