"""Listings over real HTTP (REST-CONTRACT.md §2, §9 row 3): envelope, default columns and URIs,
formats, `columns=` naming, type restriction, filters, paging, and the join columns the xsync
client reads a whole project with."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from tests.integration.emulator_http import h3, rows, session
from xsync.emulator import Emulator
from xsync.xnat.wire import scan_columns, session_columns

P = "/data/projects/P"


@pytest.fixture
def project(emulator: Emulator) -> Emulator:
    """Two subjects; an MR session with three scans (two with a DICOM resource), a CT session
    without scans; custom variables on one subject and the MR session."""
    seed = emulator.seed
    seed.add_subject("P", "sub1", fields={"gender": "female", "age": "25"}, custom={"site": "A", "arm": "x"})
    seed.add_subject("P", "sub2", fields={"gender": "male"})
    seed.add_session(
        "P",
        "sub1",
        "mr1",
        fields={"scanner": "MEDPC", "date": "2020-01-02", "fieldStrength": "3.0"},
        custom={"visit": "v1"},
        scans=[
            {"id": "1", "fields": {"type": "T1w", "series_description": "T1 MPRAGE", "quality": "usable"}, "files": 3},
            {"id": "2", "fields": {"type": "T2w", "quality": "questionable"}, "files": 2},
            {"id": "3", "xsi_type": "xnat:scScanData", "fields": {"type": "SC"}},
        ],
    )
    seed.add_session("P", "sub2", "ct1", xsi_type="xnat:ctSessionData", fields={"date": "2021-05-06"})
    return emulator


def get(emu: Emulator, path: str, **params: str) -> list[dict[str, str]]:
    return rows(session(emu).get(emu.url + path, params=params))


def test_envelope_strings_and_default_subject_columns(project: Emulator) -> None:
    r = session(project).get(project.url + P + "/subjects")
    body = r.json()
    assert r.headers["Content-Type"].startswith("application/json")
    assert body["ResultSet"]["totalRecords"] == "2"
    first = body["ResultSet"]["Result"][0]
    assert set(first) == {"ID", "project", "label", "insert_date", "insert_user", "URI"}
    assert first["URI"] == f"/data/subjects/{first['ID']}"
    assert all(isinstance(v, str) for row in body["ResultSet"]["Result"] for v in row.values())


def test_default_experiment_columns_include_the_root_key(project: Emulator) -> None:
    (mr,) = [r for r in get(project, P + "/experiments") if r["label"] == "mr1"]
    assert set(mr) == {"ID", "project", "date", "xsiType", "label", "insert_date", "xnat:subjectassessordata/id", "URI"}
    assert (mr["date"], mr["xsiType"], mr["xnat:subjectassessordata/id"]) == (
        "2020-01-02",
        "xnat:mrSessionData",
        mr["ID"],
    )
    assert mr["URI"] == f"/data/experiments/{mr['ID']}"


def test_site_wide_subjects_and_experiments(project: Emulator) -> None:
    assert {r["label"] for r in get(project, "/data/subjects")} == {"sub1", "sub2"}
    body = session(project).get(project.url + "/data/experiments", params={"project": "P"}).json()["ResultSet"]
    assert (body["title"], body["totalRecords"]) == ("Matching experiments", "2")
    mr = get(project, "/data/experiments", xsiType="xnat:mrSessionData")
    assert [(r["label"], r["subject_label"]) for r in mr] == [("mr1", "sub1")]
    assert get(project, "/data/experiments", project="OTHER") == []


def test_subject_level_experiment_listing(project: Emulator) -> None:
    assert [r["label"] for r in get(project, P + "/subjects/sub2/experiments")] == ["ct1"]
    r = session(project).get(project.url + P + "/subjects/nobody/experiments")
    assert (r.status_code, h3(r)) == (404, "Unable to identify subject nobody")


def test_csv_and_xml_variants(project: Emulator) -> None:
    text = session(project).get(project.url + P + "/subjects", params={"format": "csv", "columns": "label,gender"}).text
    table = list(csv.DictReader(io.StringIO(text)))
    assert {(r["label"], r["gender"]) for r in table} == {("sub1", "female"), ("sub2", "male")}
    assert text.splitlines()[0] == "ID,label,gender,URI"
    doc = session(project).get(project.url + P + "/subjects", params={"format": "xml", "columns": "label"}).text
    root = ET.fromstring(doc)
    assert root.tag == "ResultSet" and root.get("totalRecords") == "2"
    columns = [c.text for c in root.iter("column")]
    cells = [[c.text or "" for c in row.iter("cell")] for row in root.iter("row")]
    assert columns == ["ID", "label", "URI"]
    assert sorted(c[1] for c in cells) == ["sub1", "sub2"]
    html = session(project).get(project.url + P + "/subjects", params={"format": "html"}).text
    assert "<table>" in html and "sub1" in html


def test_column_keys_shortcut_or_lower_cased_xpath(project: Emulator) -> None:
    (row,) = get(
        project,
        P + "/experiments",
        xsiType="xnat:mrSessionData",
        columns="xnat:imageSessionData/scanner,xnat:mrSessionData/SCANNER,xnat:mrSessionData/fieldStrength,label,bogus",
    )
    assert row["scanner"] == "MEDPC"  # the xpath equals the `scanner` shortcut's path
    assert row["xnat:mrsessiondata/scanner"] == "MEDPC"  # a child type's xpath is not the shortcut's
    assert row["fieldStrength"] == "3.0"
    assert row["xnat:mrsessiondata/id"] == row["ID"]
    assert "bogus" not in row  # unknown names without `/` are ignored


def test_more_specific_column_type_restricts_rows(project: Emulator) -> None:
    assert [r["label"] for r in get(project, P + "/experiments", columns="label,xnat:mrSessionData/scanner")] == ["mr1"]
    assert [r["label"] for r in get(project, P + "/experiments", xsiType="xnat:ctSessionData")] == ["ct1"]


def test_filters_wildcards_or_exact_and_dates(project: Emulator) -> None:
    assert {r["label"] for r in get(project, P + "/subjects", label="sub*")} == {"sub1", "sub2"}
    assert [r["label"] for r in get(project, P + "/subjects", label="sub1,nobody")] == ["sub1"]
    assert get(project, P + "/subjects", label="SUB1") == []  # exact and case-sensitive
    assert [r["label"] for r in get(project, P + "/subjects", label="su_2*")] == ["sub2"]  # LIKE: _ is one char
    assert [r["label"] for r in get(project, P + "/experiments", date="01/01/2020-12/31/2020")] == ["mr1"]
    assert [r["label"] for r in get(project, P + "/experiments", date="05/06/2021")] == ["ct1"]
    assert get(project, P + "/experiments", date="2021-05-06") == []  # ISO is split at its dashes
    assert [r["label"] for r in get(project, P + "/subjects", age="20-30")] == ["sub1"]
    assert [r["label"] for r in get(project, P + "/subjects", gender="male")] == ["sub2"]
    assert len(get(project, P + "/subjects", unknown_parameter="whatever")) == 2


def test_paging_and_sorting(project: Emulator) -> None:
    for i in range(3, 8):
        project.seed.add_subject("P", f"sub{i}")
    body = session(project).get(project.url + P + "/subjects", params={"limit": "2", "offset": "1", "sortBy": "label"})
    result = body.json()["ResultSet"]
    assert "totalRecords" not in result
    assert [r["label"] for r in result["Result"]] == ["sub2", "sub3"]
    desc = get(project, P + "/subjects", sortBy="label", sortOrder="DESC", limit="*")
    assert [r["label"] for r in desc] == [f"sub{i}" for i in range(7, 0, -1)]
    assert len(get(project, P + "/subjects", offset="5")) == 2  # offset alone: limit 100


def test_fields_parameter_lists_shortcuts(project: Emulator) -> None:
    table = {r["key"]: r["xpath"] for r in get(project, P + "/subjects", fields="1")}
    assert table["gender"] == "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender"


def test_scan_join_is_a_left_join_with_one_row_per_scan(project: Emulator) -> None:
    listing = get(project, P + "/experiments", columns="label,xnat:imagescandata/id,xnat:imagescandata/type")
    pairs = sorted((r["label"], r["xnat:imagescandata/id"], r["xnat:imagescandata/type"]) for r in listing)
    assert pairs == [("ct1", "", ""), ("mr1", "1", "T1w"), ("mr1", "2", "T2w"), ("mr1", "3", "SC")]


def test_resource_join_counts_files(project: Emulator) -> None:
    listing = get(
        project,
        P + "/experiments",
        xsiType="xnat:mrSessionData",
        columns="xnat:imagescandata/id,xnat:imagescandata/file/label,xnat:imagescandata/file/file_count,"
        "xnat:imagescandata/file/file_size,xnat:imagescandata/file/format",
    )
    by_scan = {r["xnat:imagescandata/id"]: r for r in listing}
    assert by_scan["1"]["xnat:imagescandata/file/label"] == "DICOM"
    assert (by_scan["1"]["xnat:imagescandata/file/file_count"], by_scan["2"]["xnat:imagescandata/file/file_count"]) == (
        "3",
        "2",
    )
    assert by_scan["1"]["xnat:imagescandata/file/file_size"] == str(3 * 1024)
    assert by_scan["1"]["xnat:imagescandata/file/format"] == "DICOM"
    assert by_scan["3"]["xnat:imagescandata/file/label"] == ""  # a scan without resources stays


def test_specific_scan_type_column_joins_only_that_type(project: Emulator) -> None:
    listing = get(project, P + "/experiments", columns="ID,xnat:mrScanData/ID")
    assert sorted(r["xnat:mrscandata/id"] for r in listing) == ["1", "2"]  # no SC scan, no CT session
    assert get(project, P + "/experiments", xsiType="xnat:ctSessionData", columns="ID,xnat:mrScanData/ID") == []


def test_custom_field_join_and_cross_product(project: Emulator) -> None:
    listing = get(
        project,
        P + "/subjects",
        columns="label,xnat:subjectData/fields/field/name,xnat:subjectData/fields/field/field",
    )
    pairs = sorted(
        (r["label"], r["xnat:subjectdata/fields/field/name"], r["xnat:subjectdata/fields/field/field"]) for r in listing
    )
    assert pairs == [("sub1", "arm", "x"), ("sub1", "site", "A"), ("sub2", "", "")]
    both = get(
        project,
        P + "/experiments",
        xsiType="xnat:mrSessionData",
        columns="xnat:mrSessionData/fields/field/name,xnat:imagescandata/id",
    )
    assert sorted((r["xnat:mrsessiondata/fields/field/name"], r["xnat:imagescandata/id"]) for r in both) == [
        ("visit", "1"),
        ("visit", "2"),
        ("visit", "3"),
    ]


def test_join_filters_keep_matching_children_only(project: Emulator) -> None:
    listing = get(
        project, P + "/experiments", columns="label,xnat:imagescandata/id", **{"xnat:imagescandata/type": "T2*"}
    )
    assert [(r["label"], r["xnat:imagescandata/id"]) for r in listing] == [("mr1", "2")]


def test_subject_columns_on_experiment_listings(project: Emulator) -> None:
    listing = get(
        project,
        P + "/experiments",
        columns="label,subject_label,subject_project,xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender",
    )
    assert {
        (
            r["label"],
            r["subject_label"],
            r["subject_project"],
            r["xnat:subjectdata/demographics[@xsi:type=xnat:demographicdata]/gender"],
        )
        for r in listing
    } == {
        ("mr1", "sub1", "P", "female"),
        ("ct1", "sub2", "P", "male"),
    }


def test_the_xsync_clients_read_requests(project: Emulator) -> None:
    """The exact requests xsync.xnat.read issues, against the keys it parses."""
    subjects = get(
        project,
        P + "/subjects",
        format="json",
        columns="ID,label,gender,age,handedness,dob,yob,education,race,ethnicity,weight,height,group,src,"
        "xnat:subjectData/fields/field/name,xnat:subjectData/fields/field/field",
    )
    assert len(subjects) == 3 and {r["gender"] for r in subjects} == {"female", "male"}
    experiments = get(project, P + "/experiments", format="json", columns="ID,label,xsiType,subject_ID,subject_label")
    assert {(r["label"], r["xsiType"], r["subject_label"]) for r in experiments} == {
        ("mr1", "xnat:mrSessionData", "sub1"),
        ("ct1", "xnat:ctSessionData", "sub2"),
    }
    t = "xnat:mrSessionData"
    sessions = get(project, P + "/experiments", format="json", xsiType=t, columns=",".join(session_columns(t)))
    (mr,) = sessions
    assert (mr["scanner"], mr["fieldStrength"], mr["date"]) == ("MEDPC", "3.0", "2020-01-02")
    assert (mr["xnat:mrsessiondata/fields/field/name"], mr["xnat:mrsessiondata/fields/field/field"]) == ("visit", "v1")
    columns = scan_columns()
    scans = get(project, P + "/experiments", format="json", xsiType=t, columns=",".join(columns))
    assert {r["xnat:imagescandata/id"] for r in scans} == {"1", "2", "3"}
    assert all(set(columns) <= set(r) for r in scans)
    ct = get(
        project,
        P + "/experiments",
        xsiType="xnat:ctSessionData",
        columns=",".join(session_columns("xnat:ctSessionData")),
    )
    assert [r["label"] for r in ct] == ["ct1"]


def test_scan_listing_fixed_columns_on_every_path(project: Emulator) -> None:
    e = project.store.experiment("P", "mr1")
    assert e is not None
    for path in (
        f"/data/experiments/{e.id}/scans",
        f"{P}/subjects/sub1/experiments/mr1/scans",
        f"{P}/experiments/mr1/scans",
        "/data/archive/projects/P/subjects/sub1/experiments/mr1/scans",
        f"/REST/experiments/{e.id}/scans",
    ):
        scans = get(project, path, type="ignored-filter")
        assert [s["ID"] for s in scans] == ["1", "2", "3"], path
    first = scans[0]
    assert set(first) == {
        "xnat_imagescandata_id",
        "ID",
        "type",
        "quality",
        "xsiType",
        "note",
        "series_description",
        "URI",
    }
    assert first["URI"] == f"/data/experiments/{e.id}/scans/1"


def test_projects_listing(project: Emulator) -> None:
    (p,) = get(project, "/data/projects")
    assert p == {
        "ID": "P",
        "secondary_ID": "P",
        "name": "P",
        "description": "",
        "pi_firstname": "",
        "pi_lastname": "",
        "URI": "/data/projects/P",
    }


def test_projects_listing_columns(emulator: Emulator) -> None:
    """QueryOrganizer's `columns=` on the project listing: shortcut names or projectData xpaths
    (keyed by the shortcut, else the lower-cased xpath); ID and URI always; unknown names
    without `/` ignored."""
    s = session(emulator)
    s.put(
        emulator.url + "/data/projects/P",
        params={"keywords": "k1", "alias": "PA", "note": "a note", "pi_lastname": "Doe"},
    )
    (p,) = rows(s.get(emulator.url + "/data/projects", params={"columns": "name,keywords,alias,note,whatever"}))
    assert p == {"ID": "P", "name": "P", "keywords": "k1", "alias": "PA", "note": "a note", "URI": "/data/projects/P"}
    (p,) = rows(s.get(emulator.url + "/data/projects", params={"columns": "xnat:projectData/PI/lastname"}))
    assert p == {"ID": "P", "pi_lastname": "Doe", "URI": "/data/projects/P"}
    (p,) = rows(s.get(emulator.url + "/data/projects", params={"columns": "DEFAULT", "format": "json"}))
    assert set(p) == {"ID", "secondary_ID", "name", "description", "pi_firstname", "pi_lastname", "URI"}
    r = s.get(emulator.url + "/data/projects", params={"columns": "xnat:projectData/shoe_size"})
    assert (r.status_code, h3(r)) == (400, "Invalid column or filter: xnat:projectData/shoe_size")


@pytest.mark.parametrize("columns", ["foo:bar/baz", "xnat:mrSessionData/no_such_field", "xnat:imageScanData/"])
def test_bad_columns_are_400(project: Emulator, columns: str) -> None:
    r = session(project).get(project.url + P + "/experiments", params={"columns": columns})
    assert r.status_code == 400
    assert "Invalid column" in h3(r)


def test_unknown_xsitype_is_400(project: Emulator) -> None:
    r = session(project).get(project.url + P + "/experiments", params={"xsiType": "xnat:noSuchData"})
    assert (r.status_code, h3(r)) == (400, "Unknown data type: xnat:noSuchData")


def test_unknown_project_is_404(project: Emulator) -> None:
    assert session(project).get(project.url + "/data/projects/NOPE/subjects").status_code == 404


def test_custom_variable_column_with_a_name_predicate_is_the_whole_join(project: Emulator) -> None:
    # XFT drops `[name=site]` (only `[@xsi:type=...]` counts), so the column is the
    # custom-variable join: one row per variable of the subject, each with its own value, under
    # the lower-cased xpath as written.
    key = "xnat:subjectdata/fields/field[name=site]/field"
    got = get(project, P + "/subjects", columns="ID,label,xnat:subjectData/fields/field[name=site]/field")
    assert sorted((r["label"], r[key]) for r in got) == [("sub1", "A"), ("sub1", "x"), ("sub2", "")]
    names = get(project, P + "/subjects", columns="label,xnat:subjectData/fields/field[name=arm]/name")
    assert sorted((r["label"], r["xnat:subjectdata/fields/field[name=arm]/name"]) for r in names) == [
        ("sub1", "arm"),
        ("sub1", "site"),
        ("sub2", ""),
    ]
    mr = get(project, P + "/experiments", columns="label,xnat:mrSessionData/fields/field[name=visit]/field")
    assert [(r["label"], r["xnat:mrsessiondata/fields/field[name=visit]/field"]) for r in mr] == [("mr1", "v1")]
