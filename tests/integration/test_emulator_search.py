"""The search service over real HTTP: `/data/search/elements[/{type}]` and `POST /data/search`
with search documents shaped as pyxnat and xnatpy send them (display field IDs and xpaths,
criteria sets), answered as XNAT's table (CSV and JSON)."""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

import pytest
import requests

from tests.integration.emulator_http import rows, session
from xsync.emulator import Emulator

Criteria = list["tuple[str, str, str] | Criteria | str"]

TWO_USERS = [
    {
        "projects": ("P", "Q"),
        "users": {"admin": "admin", "alice": "pw"},
        "admins": frozenset({"admin"}),
    }
]


def bundle(root: str, columns: list[tuple[str, str]], where: Criteria | None = None) -> str:
    """A search document: columns as (element, field_ID); `where` as pyxnat writes it, a list of
    (field, comparison, value) tuples, nested lists and one "AND"/"OR"."""
    fields = "".join(
        f"<xdat:search_field><xdat:element_name>{e}</xdat:element_name><xdat:field_ID>{escape(f)}</xdat:field_ID>"
        f"<xdat:sequence>{i}</xdat:sequence><xdat:type>string</xdat:type><xdat:header>{f}</xdat:header>"
        "</xdat:search_field>"
        for i, (e, f) in enumerate(columns)
    )

    def criteria(items: Criteria, tag: str) -> str:
        method = next((x for x in items if isinstance(x, str)), "AND")
        inner = ""
        for x in items:
            if isinstance(x, tuple):
                inner += (
                    '<xdat:criteria override_value_formatting="0">'
                    f"<xdat:schema_field>{x[0]}</xdat:schema_field>"
                    f"<xdat:comparison_type>{escape(x[1])}</xdat:comparison_type>"
                    f"<xdat:value>{escape(x[2])}</xdat:value></xdat:criteria>"
                )
            elif isinstance(x, list):
                inner += criteria(x, "child_set")
        return f'<xdat:{tag} method="{method}">{inner}</xdat:{tag}>'

    where_xml = criteria(where, "search_where") if where is not None else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security" ID="@x" allow-diff-columns="0" secure="false">'
        f"<xdat:root_element_name>{root}</xdat:root_element_name>{fields}{where_xml}</xdat:bundle>"
    )


def search(
    emulator: Emulator, doc: str, fmt: str = "csv", user: str = "admin", pw: str = "admin"
) -> list[dict[str, str]]:
    r = session(emulator, user, pw).post(emulator.url + "/data/search", params={"format": fmt}, data=doc)
    assert r.status_code == 200, r.text[:300]
    if fmt == "json":
        return rows(r)
    return list(csv.DictReader(io.StringIO(r.text)))


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    seed = emulator.seed
    seed.add_subject("P", "sub1", fields={"gender": "female", "dob": "1990-06-01"}, custom={"site": "A"})
    seed.add_subject("P", "sub2", fields={"gender": "male", "age": "40"})
    seed.add_subject("P", "sub3")
    seed.add_session(
        "P",
        "sub1",
        "sub1_MR",
        fields={"date": "2020-06-15", "scanner": "MEDPC"},
        custom={"run": "1"},
        scans=[{"id": "1", "fields": {"type": "T1w", "quality": "usable"}}, {"id": "2", "fields": {"type": "BOLD"}}],
    )
    seed.add_session("P", "sub2", "sub2_MR", fields={"age": "41"}, scans=[{"id": "1", "fields": {"type": "T2w"}}])
    seed.add_session("P", "sub2", "sub2_PET", xsi_type="xnat:petSessionData")
    return emulator


def test_elements_list_the_searchable_types_with_counts(seeded: Emulator) -> None:
    found = {r["ELEMENT_NAME"]: r for r in rows(session(seeded).get(seeded.url + "/data/search/elements"))}
    assert found["xnat:projectData"]["COUNT"] == "1"
    assert found["xnat:subjectData"]["COUNT"] == "3"
    assert (found["xnat:mrSessionData"]["COUNT"], found["xnat:petSessionData"]["COUNT"]) == ("2", "1")
    assert found["xnat:mrScanData"]["COUNT"] == "3"
    assert found["xnat:mrSessionData"]["SINGULAR"] == "MR Session"
    assert found["xnat:ctSessionData"]["COUNT"] == "0"
    used = rows(session(seeded).get(seeded.url + "/data/search/elements", params={"used": "true"}))
    assert "xnat:ctSessionData" not in {r["ELEMENT_NAME"] for r in used}


def test_element_fields_list_display_fields(seeded: Emulator) -> None:
    s = session(seeded)
    subject = {r["FIELD_ID"] for r in rows(s.get(seeded.url + "/data/search/elements/xnat:subjectData"))}
    assert {"SUBJECT_ID", "SUBJECT_LABEL", "PROJECT", "GENDER_TEXT", "AGE", "INSERT_DATE"} <= subject
    mr = rows(s.get(seeded.url + "/data/search/elements/xnat:mrSessionData"))
    ids = {r["FIELD_ID"] for r in mr}
    assert {"SESSION_ID", "EXPT_ID", "SUBJECT_ID", "LABEL", "DATE", "SCANNER", "COIL", "SCANNER_MANUFACTURER"} <= ids
    assert {r["ELEMENT_NAME"] for r in mr} == {"xnat:mrSessionData"}
    assert s.get(seeded.url + "/data/search/elements/xnat:nosuchData").status_code == 400


def test_pyxnat_style_search_with_display_fields(seeded: Emulator) -> None:
    doc = bundle(
        "xnat:subjectData",
        [("xnat:subjectData", "SUBJECT_LABEL"), ("xnat:subjectData", "GENDER_TEXT")],
        [("xnat:subjectData/PROJECT", "=", "P"), ("xnat:subjectData/SUBJECT_LABEL", "LIKE", "SUB%"), "AND"],
    )
    r = session(seeded).post(seeded.url + "/data/search", params={"format": "csv"}, data=doc)
    assert r.text.splitlines()[0] == "subject_label,gender_text,quarantine_status"
    found = search(seeded, doc)
    assert [(x["subject_label"], x["gender_text"]) for x in found] == [
        ("sub1", "female"),
        ("sub2", "male"),
        ("sub3", ""),
    ]


def test_json_answer_describes_columns(seeded: Emulator) -> None:
    doc = bundle(
        "xnat:subjectData",
        [("xnat:subjectData", "SUBJECT_LABEL")],
        [("xnat:subjectData/GENDER_TEXT", "=", "male"), "AND"],
    )
    r = session(seeded).post(seeded.url + "/data/search", params={"format": "json"}, data=doc)
    result = r.json()["ResultSet"]
    assert result["Result"] == [{"subject_label": "sub2", "quarantine_status": "active"}]
    assert (result["totalRecords"], result["rootElementName"]) == ("1", "xnat:subjectData")
    assert result["Columns"][0] == {
        "key": "subject_label",
        "element_name": "xnat:subjectData",
        "id": "SUBJECT_LABEL",
        "xPATH": "xnat:subjectData.SUBJECT_LABEL",
        "header": "Subject",
        "type": "string",
    }
    assert result["Columns"][-1] == {"key": "quarantine_status"}


def test_xnatpy_style_search_with_xpaths(seeded: Emulator) -> None:
    """xnatpy's experiment query: xpath field IDs, shown by the display field of that path."""
    doc = bundle(
        "xnat:mrSessionData",
        [("xnat:mrSessionData", f"xnat:mrSessionData/{p}") for p in ("ID", "project", "subject_ID")],
        [[("xnat:mrSessionData/label", "=", "sub1_MR"), "AND"], "AND"],
    )
    found = search(seeded, doc)
    sub1 = seeded.store.subject("P", "sub1")
    mr = seeded.store.experiment("P", "sub1_MR")
    assert sub1 is not None and mr is not None
    assert found == [{"session_id": mr.id, "project": "P", "subject_id": sub1.id, "quarantine_status": "active"}]


def test_criteria_comparisons_and_or_sets(seeded: Emulator) -> None:
    cols = [("xnat:subjectData", "SUBJECT_LABEL")]

    def labels(where: Criteria) -> list[str]:
        return [x["subject_label"] for x in search(seeded, bundle("xnat:subjectData", cols, where))]

    assert labels([("xnat:subjectData/AGE", ">", "39"), "AND"]) == ["sub2"]
    assert labels([("xnat:subjectData/AGE", ">", "5"), "AND"]) == ["sub2"]  # numeric, not text order
    assert labels([("xnat:subjectData/GENDER_TEXT", "=", ""), "AND"]) == ["sub3"]
    assert labels([("xnat:subjectData/GENDER_TEXT", "!=", "male"), "AND"]) == ["sub1", "sub3"]
    assert labels([("xnat:subjectData/GENDER_TEXT", "=", "*"), "AND"]) == ["sub1", "sub2"]
    assert labels([("xnat:subjectData/DOB", "<", "01/01/2000"), "AND"]) == ["sub1"]
    assert labels([("xnat:subjectData/label", "IN", "sub1,sub3"), "AND"]) == ["sub1", "sub3"]
    either = [("xnat:subjectData/GENDER_TEXT", "=", "female"), [("xnat:subjectData/AGE", "=", "40"), "AND"], "OR"]
    assert labels(either) == ["sub1", "sub2"]
    assert labels([("xnat:subjectData/XNAT_SUBJECTDATA_FIELD_MAP=site", "=", "A"), "AND"]) == ["sub1"]


def test_custom_variable_column(seeded: Emulator) -> None:
    doc = bundle(
        "xnat:mrSessionData",
        [("xnat:mrSessionData", "LABEL"), ("xnat:mrSessionData", "XNAT_MRSESSIONDATA_FIELD_MAP=run")],
        [("xnat:mrSessionData/PROJECT", "=", "P"), "AND"],
    )
    found = search(seeded, doc)
    assert [(x["label"], x["xnat_mrsessiondata_field_map_run"]) for x in found] == [("sub1_MR", "1"), ("sub2_MR", "")]


def test_columns_of_other_types_join(seeded: Emulator) -> None:
    """A type below the root joins one row per child (LEFT JOIN); above it, its one parent."""
    by_subject = bundle("xnat:subjectData", [("xnat:subjectData", "SUBJECT_LABEL"), ("xnat:mrSessionData", "LABEL")])
    assert [(x["subject_label"], x["xnat_mrsessiondata_label"]) for x in search(seeded, by_subject)] == [
        ("sub1", "sub1_MR"),
        ("sub2", "sub2_MR"),
        ("sub3", ""),
    ]
    by_scan = bundle(
        "xnat:mrScanData",
        [("xnat:mrScanData", "ID"), ("xnat:mrScanData", "TYPE"), ("xnat:mrSessionData", "LABEL")],
        [("xnat:mrScanData/TYPE", "LIKE", "t%"), "AND"],
    )
    assert [(x["id"], x["type"], x["xnat_mrsessiondata_label"]) for x in search(seeded, by_scan)] == [
        ("1", "T1w", "sub1_MR"),
        ("1", "T2w", "sub2_MR"),
    ]


@pytest.mark.parametrize("emulator", TWO_USERS, indirect=True)
def test_search_sees_readable_projects_only(emulator: Emulator) -> None:
    emulator.seed.add_subject("P", "p1")
    emulator.seed.add_project("Q", members=["alice"])
    emulator.seed.add_subject("Q", "q1")
    doc = bundle("xnat:subjectData", [("xnat:subjectData", "SUBJECT_LABEL")])
    assert [x["subject_label"] for x in search(emulator, doc)] == ["p1", "q1"]
    assert [x["subject_label"] for x in search(emulator, doc, user="alice", pw="pw")] == ["q1"]


def test_refused_searches(seeded: Emulator) -> None:
    s = session(seeded)
    url = seeded.url + "/data/search"
    assert s.get(url).status_code == 405
    assert s.post(url, data="not xml").status_code == 422
    assert s.post(url, data="<other/>").status_code == 422
    no_columns = bundle("xnat:subjectData", [])
    assert s.post(url, data=no_columns).status_code == 500
    unknown = bundle("xnat:subjectData", [("xnat:subjectData", "LABEL")], [("xnat:subjectData/NOPE", "=", "x"), "AND"])
    assert s.post(url, data=unknown).status_code == 500
    assert requests.post(url, data=no_columns).status_code == 401
