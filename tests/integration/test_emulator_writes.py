"""PUT/POST/DELETE of subjects, sessions and scans over real HTTP (REST-CONTRACT.md §4, §9 row 5)."""

from __future__ import annotations

import pytest

from tests.integration.emulator_http import child, h3, item, rows, session, snapshot
from xsync.emulator import Emulator

P = "/data/projects/P"


def test_subject_put_creates_with_201_and_accession_then_updates_with_200(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(f"{emulator.url}/REST/projects/P/subjects/sub1?xsiType=xnat:subjectData&gender=female&age=25")
    assert (r.status_code, r.text) == (201, "XNAT_S00001")
    assert r.headers["Content-Type"].startswith("text/plain")
    r = s.put(f"{emulator.url}{P}/subjects/sub1", params={"handedness": "left"})
    assert (r.status_code, r.text) == (200, "XNAT_S00001")
    # By accession ID too.
    assert s.put(f"{emulator.url}{P}/subjects/XNAT_S00001", params={"education": "12"}).text == "XNAT_S00001"
    demo = child(item(s.get(f"{emulator.url}{P}/subjects/sub1", params={"format": "json"})), "demographics")
    assert demo[0]["data_fields"] == {"gender": "female", "age": 25, "handedness": "left", "education": 12}


def test_second_subject_gets_the_next_accession(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.put(f"{emulator.url}{P}/subjects/a").text == "XNAT_S00001"
    assert s.put(f"{emulator.url}{P}/subjects/b").text == "XNAT_S00002"


def test_subject_put_to_unknown_project_is_422(emulator: Emulator) -> None:
    r = session(emulator).put(f"{emulator.url}/data/projects/NOPE/subjects/sub1")
    assert r.status_code == 422
    assert h3(r) == "Submitted subject record must include the project attribute."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gender": "woman"}, "'woman' Must Match Pre-Defined Values...(male,female,other,unknown,M,F)"),
        ({"handedness": "both"}, "'both' Must Match Pre-Defined Values...(left,right,ambidextrous,unknown)"),
        ({"age": "twenty"}, "Must Be A Valid Integer"),
        ({"age": "25.5"}, "Must Be A Valid Integer"),
        ({"dob": "2020-13-45"}, "Must Be A Valid Date"),
        ({"education": "31"}, "Must Be Less Than 30"),
        ({"weight": "heavy"}, "Must Be A Valid Float"),
        ({"age": "99999999999999999999"}, "Must Be A Valid Integer"),  # beyond a 32-bit int
        ({"age": "2147483648"}, "Must Be A Valid Integer"),
        ({"age": "1_000"}, "Must Be A Valid Integer"),
        ({"weight": "nan"}, "Must Be A Valid Float"),
        ({"weight": "inf"}, "Must Be A Valid Float"),
        ({"weight": "Infinity"}, "Must Be A Valid Float"),
        ({"height": "1e400"}, "Must Be A Valid Float"),
        ({"height": "3.5e38"}, "Must Be A Valid Float"),  # a Java float overflows
        ({"xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender": "x"}, "Must Match Pre-Defined"),
    ],
)
def test_invalid_subject_values_are_400_and_change_nothing(
    emulator: Emulator, params: dict[str, str], message: str
) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/sub1", params={"gender": "male", "age": "30"})
    r = s.put(f"{emulator.url}{P}/subjects/sub1", params={**params, "race": "should-not-stick"})
    assert r.status_code == 400
    assert message in h3(r)
    demo = child(item(s.get(f"{emulator.url}{P}/subjects/sub1", params={"format": "json"})), "demographics")
    assert demo[0]["data_fields"] == {"gender": "male", "age": 30}
    # A refused create leaves no subject behind either.
    assert s.put(f"{emulator.url}{P}/subjects/other", params=params).status_code == 400
    assert [r["label"] for r in rows(s.get(f"{emulator.url}{P}/subjects"))] == ["sub1"]


def test_numbers_are_stored_as_numbers_at_the_edges_of_their_range(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.put(f"{emulator.url}{P}/subjects/s", params={"age": "2147483647", "weight": "-1.5e3"}).ok
    demo = child(item(s.get(f"{emulator.url}{P}/subjects/s", params={"format": "json"})), "demographics")
    assert demo[0]["data_fields"] == {"age": 2147483647, "weight": -1500}
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    url = f"{emulator.url}{P}/subjects/s/experiments/e/scans/1"
    assert s.put(url, params={"xsiType": "xnat:mrScanData", "xnat:mrScanData/parameters/tr": "2400", "frames": "12"}).ok
    for key, value, message in (
        ("xnat:mrScanData/parameters/tr", "NaN", "xnat:mrScanData/parameters/tr : Must Be A Valid Float"),
        ("xnat:mrScanData/parameters/tr", "1.5f", "Must Be A Valid Float"),
        ("frames", "4294967296", "xnat:imageScanData/frames : Must Be A Valid Integer"),
    ):
        r = s.put(url, params={key: value})
        assert r.status_code == 400 and message in h3(r), (key, value)
    data = item(s.get(url, params={"format": "json"}))["data_fields"]
    assert (data["parameters/tr"], data["frames"]) == (2400, 12)


def test_enumerations_match_case_insensitively_and_are_stored_as_sent(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.put(f"{emulator.url}{P}/subjects/sub1", params={"gender": "Female", "handedness": " LEFT "}).ok
    row = rows(s.get(f"{emulator.url}{P}/subjects", params={"columns": "gender,handedness"}))[0]
    assert (row["gender"], row["handedness"]) == ("Female", " LEFT ")


def test_values_are_xml_escaped_before_storage(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/sub1", params={"src": "a & b <c> \"d\" 'e'"})
    row = rows(s.get(f"{emulator.url}{P}/subjects", params={"columns": "src"}))[0]
    assert row["src"] == "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"


def test_full_xpath_and_parent_type_xpaths_work_and_foreign_types_are_ignored(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/sub1/experiments/e1", params={"xsiType": "xnat:mrSessionData"})
    r = s.put(
        f"{emulator.url}{P}/subjects/sub1/experiments/e1/scans/1",
        params={
            "xsiType": "xnat:mrScanData",
            "xnat:mrScanData/type": "T1w",
            "xnat:imageScanData/note": "parent type",
            "xnat:ctScanData/note": "ignored (XNAT-7176)",
            "xnat:mrScanData/parameters/tr": "2400",
        },
    )
    assert (r.status_code, r.text) == (200, "")
    data = item(s.get(f"{emulator.url}/data/experiments/XNAT_E00001/scans/1", params={"format": "json"}))
    assert data["data_fields"]["note"] == "parent type"
    assert data["data_fields"]["type"] == "T1w"
    assert data["data_fields"]["parameters/tr"] == 2400


def test_unknown_field_of_the_items_own_type_is_400(emulator: Emulator) -> None:
    r = session(emulator).put(f"{emulator.url}{P}/subjects/sub1", params={"xnat:subjectData/shoe_size": "44"})
    assert r.status_code == 400
    assert "xnat:subjectData/shoe_size" in h3(r)


def test_too_long_values_are_400(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"note": "x" * 2501})
    assert r.status_code == 400
    assert "Must Be Less Than 2500 Characters" in h3(r)
    assert s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"note": "x" * 2500}).status_code == 200


def test_subject_rename_with_label_and_clash(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/a")
    s.put(f"{emulator.url}{P}/subjects/b")
    r = s.put(f"{emulator.url}{P}/subjects/a", params={"label": "a2"})
    assert (r.status_code, r.text) == (200, "")
    r = s.put(f"{emulator.url}{P}/subjects/a2", params={"label": "b"})
    assert r.status_code == 409
    assert h3(r) == "Specified label is already in use."
    assert sorted(x["label"] for x in rows(s.get(f"{emulator.url}{P}/subjects"))) == ["a2", "b"]


def test_session_rename_with_label_and_clash(emulator: Emulator) -> None:
    emulator.seed.add_session("P", "s", "e1")
    emulator.seed.add_session("P", "s", "e2")
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"label": "e1b"})
    assert (r.status_code, r.text) == (200, "")
    r = s.put(f"{emulator.url}{P}/experiments/e1b", params={"label": "e2"})
    assert (r.status_code, h3(r)) == (409, "Specified label is already in use.")
    assert sorted(x["label"] for x in rows(s.get(f"{emulator.url}{P}/experiments"))) == ["e1b", "e2"]
    assert s.get(f"{emulator.url}{P}/experiments/e1b", params={"format": "json"}).status_code == 200


def test_a_rename_saves_nothing_else_and_a_repeated_one_changes_nothing(emulator: Emulator) -> None:
    """XNAT's handlePut returns right after a `?label=` request (SubjectResource,
    SubjAssessmentResource): fields sent along are dropped; a label that is already the item's
    is 200 "" too; the old label, PUT again, finds the item by the new label it was sent."""
    emulator.seed.add_session("P", "s", "e1", fields={"note": "before"})
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"label": "e2", "note": "after"})
    assert (r.status_code, r.text) == (200, "")
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"label": "e2"})  # a retry
    assert (r.status_code, r.text) == (200, "")
    r = s.put(f"{emulator.url}{P}/subjects/s", params={"label": "s", "gender": "male"})
    assert (r.status_code, r.text) == (200, "")
    got = rows(s.get(f"{emulator.url}{P}/experiments", params={"columns": "ID,label,note,subject_label"}))
    assert [(x["ID"], x["label"], x["note"], x["subject_label"]) for x in got] == [("XNAT_E00001", "e2", "before", "s")]
    gender = rows(s.get(f"{emulator.url}{P}/subjects", params={"columns": "label,gender"}))
    assert [(x["label"], x["gender"]) for x in gender] == [("s", "")]


def test_a_session_rename_moves_its_folder_and_keeps_its_scans_and_files(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"xsiType": "xnat:mrSessionData"})
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e1/scans/3", params={"xsiType": "xnat:mrScanData"})
    url = f"{emulator.url}{P}/subjects/s/experiments/e1/scans/3/resources/DICOM/files/a.dcm"
    assert s.put(url, data=b"abc", params={"inbody": "true"}).status_code == 200
    old = emulator.store.root / "archive" / "P" / "arc001" / "e1"
    assert (old / "SCANS" / "3" / "DICOM" / "a.dcm").is_file()
    # a folder of the new label holding files stops the rename (Rename.FolderConflictException)
    taken = emulator.store.root / "archive" / "P" / "arc001" / "e2"
    taken.mkdir(parents=True)
    (taken / "stray").write_text("x")
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"label": "e2"})
    assert (r.status_code, h3(r)) == (409, "File system destination contains pre-existing files")
    (taken / "stray").unlink()
    assert s.put(f"{emulator.url}{P}/subjects/s/experiments/e1", params={"label": "e2"}).status_code == 200
    assert not old.exists() and (taken / "SCANS" / "3" / "DICOM" / "a.dcm").read_bytes() == b"abc"
    files = rows(s.get(f"{emulator.url}{P}/subjects/s/experiments/e2/scans/3/resources/DICOM/files"))
    assert [f["Name"] for f in files] == ["a.dcm"]
    got = s.get(f"{emulator.url}{P}/subjects/s/experiments/e2/scans/3/resources/DICOM/files/a.dcm")
    assert got.content == b"abc"


def test_labels_outside_the_safe_alphabet_are_417(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/bad%20label")
    assert (r.status_code, h3(r)) == (417, "Invalid character in subject label.")
    r = s.put(f"{emulator.url}{P}/subjects/ok/experiments/bad.label", params={"xsiType": "xnat:mrSessionData"})
    assert (r.status_code, h3(r)) == (417, "Invalid character in experiment label.")
    assert rows(s.get(f"{emulator.url}{P}/subjects")) == []


def test_changing_id_or_project_through_parameters_is_refused(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/a")
    assert s.put(f"{emulator.url}{P}/subjects/a", params={"ID": "XNAT_S99999"}).status_code == 400
    r = s.put(f"{emulator.url}{P}/subjects/a", params={"project": "OTHER"})
    assert (r.status_code, h3(r)) == (409, "Project must be modified through separate URI.")


def test_session_put_creates_201_updates_200_and_creates_the_subject(emulator: Emulator) -> None:
    s = session(emulator)
    url = f"{emulator.url}/REST/projects/P/subjects/sub1/experiments/session1"
    r = s.put(url, params={"xsiType": "xnat:mrSessionData", "date": "01/02/2020"})
    assert (r.status_code, r.text) == (201, "XNAT_E00001")
    r = s.put(url, params={"xnat:mrSessionData/scanner": "SIEMENS"})
    assert (r.status_code, r.text) == (200, "XNAT_E00001")
    subjects = rows(s.get(f"{emulator.url}{P}/subjects"))
    assert [x["label"] for x in subjects] == ["sub1"]
    row = rows(s.get(f"{emulator.url}{P}/experiments", params={"columns": "date,scanner,subject_label"}))[0]
    assert (row["date"], row["scanner"], row["subject_label"]) == ("2020-01-02", "SIEMENS", "sub1")


def test_existing_session_stays_with_its_subject_when_the_named_subject_does_not_exist(emulator: Emulator) -> None:
    """XNAT's handlePut falls back to the stored subject (SubjAssessmentResource,
    ExperimentResource); nothing is created. A subject that exists takes the session."""
    emulator.seed.add_session("P", "s", "e")
    emulator.seed.add_subject("P", "s2")
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/ghost/experiments/e", params={"note": "kept"})
    assert (r.status_code, r.text) == (200, "XNAT_E00001")
    r = s.put(f"{emulator.url}{P}/experiments/e", params={"subject_ID": "ghost2"})
    assert (r.status_code, r.text) == (200, "XNAT_E00001")
    assert sorted(x["label"] for x in rows(s.get(f"{emulator.url}{P}/subjects"))) == ["s", "s2"]
    (row,) = rows(s.get(f"{emulator.url}{P}/experiments", params={"columns": "subject_label,note"}))
    assert (row["subject_label"], row["note"]) == ("s", "kept")
    assert s.put(f"{emulator.url}{P}/subjects/s2/experiments/e").status_code == 200
    (row,) = rows(s.get(f"{emulator.url}{P}/experiments", params={"columns": "subject_label"}))
    assert row["subject_label"] == "s2"


def test_new_session_without_any_type_is_417_need_put_contents(emulator: Emulator) -> None:
    r = session(emulator).put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"scanner": "X"})
    assert (r.status_code, h3(r)) == (417, "Need PUT Contents")
    assert rows(session(emulator).get(f"{emulator.url}{P}/subjects")) == []


def test_session_type_comes_from_the_first_typed_key(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"xnat:petSessionData/tracer/name": "FDG"})
    assert r.status_code == 201
    assert rows(s.get(f"{emulator.url}{P}/experiments"))[0]["xsiType"] == "xnat:petSessionData"


def test_session_put_on_unknown_project_is_404_on_the_long_path_and_422_on_the_short(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(f"{emulator.url}/data/projects/NOPE/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    assert r.status_code == 404
    r = s.put(f"{emulator.url}/data/projects/NOPE/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    assert r.status_code == 422


def test_short_experiment_path_takes_the_subject_from_subject_id(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/experiments/e1", params={"xsiType": "xnat:ctSessionData", "subject_ID": "subA"})
    assert r.status_code == 201
    row = rows(s.get(f"{emulator.url}{P}/experiments", params={"columns": "subject_label,xsiType"}))[0]
    assert (row["subject_label"], row["xsiType"]) == ("subA", "xnat:ctSessionData")
    r = s.put(f"{emulator.url}{P}/experiments/e2", params={"xsiType": "xnat:ctSessionData"})
    assert r.status_code == 422


def test_existing_session_keeps_its_type(emulator: Emulator) -> None:
    s = session(emulator)
    url = f"{emulator.url}{P}/subjects/s/experiments/e"
    s.put(url, params={"xsiType": "xnat:mrSessionData"})
    r = s.put(url, params={"xsiType": "xnat:petSessionData", "xnat:petSessionData/studyType": "x", "note": "kept"})
    assert r.status_code == 200
    it = item(s.get(url, params={"format": "json"}))
    assert it["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert it["data_fields"]["note"] == "kept"
    assert "studyType" not in it["data_fields"]


def test_custom_variables_by_xpath_raw_and_encoded(emulator: Emulator) -> None:
    s = session(emulator)
    url = f"{emulator.url}{P}/subjects/s/experiments/e"
    s.put(url, params={"xsiType": "xnat:mrSessionData"})
    # Unencoded, as curl users write it: the query parser splits at the first `=`.
    r = s.put(url + "?xnat:mrSessionData/fields/field[name=test01]/field=12")
    assert (r.status_code, r.text) == (200, "XNAT_E00001")
    assert s.put(url, params={"xnat:mrSessionData/fields/field[name=test02]/field": "a&b"}).status_code == 200
    listing = rows(
        s.get(
            f"{emulator.url}{P}/experiments",
            params={"columns": "xnat:mrSessionData/fields/field/field,xnat:mrSessionData/fields/field/name"},
        )
    )
    assert sorted(
        (r["xnat:mrsessiondata/fields/field/name"], r["xnat:mrsessiondata/fields/field/field"]) for r in listing
    ) == [("test01", "12"), ("test02", "a&amp;b")]
    fields = child(item(s.get(url, params={"format": "json"})), "fields/field")
    assert {f["data_fields"]["name"]: f["data_fields"]["field"] for f in fields} == {
        "test01": "12",
        "test02": "a&amp;b",
    }


def test_form_body_is_treated_like_query_parameters_and_the_query_wins(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(
        f"{emulator.url}{P}/subjects/s?gender=male",
        data={"xsiType": "xnat:subjectData", "gender": "female", "age": "40"},
    )
    assert r.status_code == 201
    row = rows(s.get(f"{emulator.url}{P}/subjects", params={"columns": "gender,age"}))[0]
    assert (row["gender"], row["age"]) == ("male", "40")


def test_xml_body_subject_and_session(emulator: Emulator) -> None:
    s = session(emulator)
    doc = (
        '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' label="xs1" group="control"><xnat:demographics xsi:type="xnat:demographicData">'
        "<xnat:gender>female</xnat:gender><xnat:age>33</xnat:age></xnat:demographics>"
        '<xnat:fields><xnat:field name="site">A</xnat:field></xnat:fields></xnat:Subject>'
    )
    r = s.put(f"{emulator.url}{P}/subjects/xs1", data=doc, headers={"Content-Type": "text/xml"})
    assert r.status_code == 201
    row = rows(
        s.get(
            f"{emulator.url}{P}/subjects",
            params={
                "columns": "group,gender,age,xnat:subjectData/fields/field/name,xnat:subjectData/fields/field/field"
            },
        )
    )[0]
    assert (row["group"], row["gender"], row["age"]) == ("control", "female", "33")
    assert (row["xnat:subjectdata/fields/field/name"], row["xnat:subjectdata/fields/field/field"]) == ("site", "A")
    session_doc = (
        '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat">'
        '<xnat:scanner manufacturer="SIEMENS">MEDPC</xnat:scanner></xnat:MRSession>'
    )
    r = s.put(f"{emulator.url}{P}/subjects/xs1/experiments/xe1", data=session_doc, headers={"Content-Type": "text/xml"})
    assert r.status_code == 201
    data = item(s.get(f"{emulator.url}{P}/experiments/xe1", params={"format": "json"}))["data_fields"]
    assert (data["scanner"], data["scanner/manufacturer"]) == ("MEDPC", "SIEMENS")


@pytest.mark.parametrize("body", [b"<xnat:Subject", b"not xml at all", b'<!DOCTYPE x [<!ENTITY a "b">]><x/>'])
def test_unparsable_xml_body_is_422(emulator: Emulator, body: bytes) -> None:
    r = session(emulator).put(f"{emulator.url}{P}/subjects/s", data=body, headers={"Content-Type": "text/xml"})
    assert r.status_code == 422
    assert rows(session(emulator).get(f"{emulator.url}{P}/subjects")) == []


def test_allow_data_deletion_rebuilds_the_session_from_the_parameters(emulator: Emulator) -> None:
    s = session(emulator)
    url = f"{emulator.url}{P}/subjects/s/experiments/e"
    s.put(url, params={"xsiType": "xnat:mrSessionData", "note": "n", "scanner": "X"})
    s.put(url, params={"scanner": "Y", "allowDataDeletion": "true"})
    data = item(s.get(url, params={"format": "json"}))["data_fields"]
    assert data["scanner"] == "Y"
    assert "note" not in data


def test_scan_put_is_200_empty_on_create_and_update(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    url = f"{emulator.url}{P}/subjects/s/experiments/e/scans/1"
    r = s.put(url, params={"xsiType": "xnat:mrScanData", "type": "T1w", "series_description": "Structural"})
    assert (r.status_code, r.text) == (200, "")
    r = s.put(url, params={"quality": "questionable"})  # no xsiType: the stored one is reused
    assert (r.status_code, r.text) == (200, "")
    (scan,) = rows(s.get(f"{emulator.url}/data/experiments/XNAT_E00001/scans"))
    assert (scan["type"], scan["series_description"], scan["quality"], scan["xsiType"]) == (
        "T1w",
        "Structural",
        "questionable",
        "xnat:mrScanData",
    )


def test_scan_xsitype_rules(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(f"{emulator.url}{P}/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    base = f"{emulator.url}/data/experiments/XNAT_E00001/scans"
    assert s.put(f"{base}/1", params={"xsiType": "xnat:mrScanData"}).status_code == 200
    r = s.put(f"{base}/1", params={"xsiType": "xnat:ctScanData"})
    assert (r.status_code, h3(r)) == (409, "Specified xsiType differs from existing xsiType")
    r = s.put(f"{base}/2", params={"xsiType": "xnat:imageScanData"})
    assert r.status_code == 400
    assert h3(r).startswith("Multiple scan modalities can be associated here.")
    assert s.put(f"{base}/3", params={"xsiType": "xnat:mrSessionData"}).status_code == 400
    assert [x["ID"] for x in rows(s.get(base))] == ["1"]


def test_a_new_item_of_another_family_is_refused_and_nothing_changes(emulator: Emulator) -> None:
    emulator.seed.add_session("P", "s", "e", scans=[{"id": "1", "xsi_type": "xnat:mrScanData"}])
    before = snapshot(emulator)
    s = session(emulator)
    for path, xsi_type in (
        (f"{P}/subjects/S1", "xnat:mrSessionData"),
        (f"{P}/subjects/S1", "xnat:mrScanData"),
        (f"{P}/subjects/S2/experiments/E1", "xnat:subjectData"),
        (f"{P}/subjects/S2/experiments/E1", "xnat:mrScanData"),
        (f"{P}/experiments/E1", "xnat:subjectData"),
    ):
        r = s.put(emulator.url + path, params={"xsiType": xsi_type, "subject_ID": "S3"})
        assert (r.status_code, h3(r)) == (422, "Only xnat:Subject documents can be PUT to this address."), path
    # A type XNAT does not know at all is a 400; a scan must be a scan, new or existing.
    assert s.put(f"{emulator.url}{P}/subjects/S1", params={"xsiType": "xnat:noSuchData"}).status_code == 400
    for scan in ("1", "2"):
        r = s.put(f"{emulator.url}{P}/subjects/s/experiments/e/scans/{scan}", params={"xsiType": "xnat:mrSessionData"})
        assert r.status_code == 400, scan
    assert snapshot(emulator) == before  # no subject, session or scan created or changed


def test_an_existing_item_keeps_its_type_whatever_is_sent(emulator: Emulator) -> None:
    """XNAT fills the stored item in as a template; the type sent is not looked at again."""
    emulator.seed.add_subject("P", "s")
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/s", params={"xsiType": "xnat:mrSessionData", "gender": "male"})
    assert (r.status_code, r.text) == (200, "XNAT_S00001")
    it = item(s.get(f"{emulator.url}{P}/subjects/s", params={"format": "json"}))
    assert it["meta"]["xsi:type"] == "xnat:subjectData"
    assert child(it, "demographics")[0]["data_fields"] == {"gender": "male"}


def test_bare_image_scan_may_be_retyped(emulator: Emulator) -> None:
    e = emulator.seed.add_session("P", "s", "e", scans=[{"id": "1", "xsi_type": "xnat:imageScanData"}])
    r = session(emulator).put(f"{emulator.url}/data/experiments/{e.id}/scans/1", params={"xsiType": "xnat:ctScanData"})
    assert r.status_code == 200
    assert e.scans["1"].xsi_type == "xnat:ctScanData"


def test_scan_put_on_missing_or_non_image_session(emulator: Emulator) -> None:
    # No session: the new scan references none, ScanResource's 417 (not a 404).
    s = session(emulator)
    r = s.put(f"{emulator.url}/data/experiments/NOPE/scans/1", params={"xsiType": "xnat:mrScanData"})
    assert (r.status_code, h3(r)) == (417, "Specified scan must reference a valid image session.")
    e = emulator.seed.add_session("P", "s", "v", xsi_type="xnat:subjectAssessorData")
    r = s.put(f"{emulator.url}/data/experiments/{e.id}/scans/1", params={"xsiType": "xnat:mrScanData"})
    assert (r.status_code, h3(r)) == (417, "Specified scan must reference a valid image session.")


def test_post_to_lists_creates_and_answers_the_new_url(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.post(f"{emulator.url}{P}/subjects", params={"label": "ps1", "gender": "male"})
    assert r.status_code == 200
    assert r.text == f"{emulator.url}{P}/subjects/XNAT_S00001" == r.headers["Location"]
    r = s.post(f"{emulator.url}{P}/subjects", params={"label": "ps1"})
    assert (r.status_code, h3(r)) == (409, "Subject already exists.")
    r = s.post(f"{emulator.url}{P}/subjects/ps1/experiments", params={"xsiType": "xnat:mrSessionData", "label": "pe1"})
    assert r.status_code == 200 and r.text.endswith("/XNAT_E00001")
    r = s.post(f"{emulator.url}{P}/subjects/ps1/experiments", params={"xsiType": "xnat:mrSessionData", "label": "pe1"})
    assert (r.status_code, h3(r)) == (409, "Specified experiment already exists.")
    r = s.post(f"{emulator.url}/data/experiments/XNAT_E00001/scans", params={"xsiType": "xnat:mrScanData", "ID": "7"})
    assert r.status_code == 200 and r.text.endswith("/scans/7")
    r = s.post(f"{emulator.url}/data/experiments/XNAT_E00001/scans", params={"xsiType": "xnat:mrScanData", "ID": "7"})
    assert (r.status_code, h3(r)) == (409, "Specified scan already exists.")


def test_delete_subject_cascades_to_its_sessions(emulator: Emulator) -> None:
    emulator.seed.add_session("P", "s1", "e1", scans=[{"id": "1"}])
    emulator.seed.add_session("P", "s2", "e2")
    s = session(emulator)
    r = s.delete(f"{emulator.url}{P}/subjects/s1")
    assert (r.status_code, r.text) == (200, "")
    assert [x["label"] for x in rows(s.get(f"{emulator.url}{P}/experiments"))] == ["e2"]
    assert s.get(f"{emulator.url}/data/experiments/XNAT_E00001/scans").status_code == 404
    r = s.delete(f"{emulator.url}{P}/subjects/s1")
    assert (r.status_code, h3(r)) == (404, "Unable to find the specified subject.")
    # The label is free again; accession IDs are never reused.
    assert s.put(f"{emulator.url}{P}/subjects/s1").text == "XNAT_S00003"


def test_delete_session_and_scan(emulator: Emulator) -> None:
    e = emulator.seed.add_session("P", "s", "e", scans=[{"id": "1"}, {"id": "2"}])
    s = session(emulator)
    r = s.delete(f"{emulator.url}{P}/subjects/s/experiments/e/scans/1")
    assert (r.status_code, r.text) == (200, "")
    assert s.delete(f"{emulator.url}/data/experiments/{e.id}/scans/1").status_code == 404
    assert [x["ID"] for x in rows(s.get(f"{emulator.url}/data/experiments/{e.id}/scans"))] == ["2"]
    assert s.delete(f"{emulator.url}{P}/experiments/e").status_code == 200
    r = s.delete(f"{emulator.url}/data/experiments/{e.id}")
    assert (r.status_code, h3(r)) == (404, "Unable to find the specified experiment.")
    assert rows(s.get(f"{emulator.url}{P}/experiments")) == []
    assert [x["label"] for x in rows(s.get(f"{emulator.url}{P}/subjects"))] == ["s"]


def test_subjects_and_experiments_by_accession_id(emulator: Emulator) -> None:
    """REST-CONTRACT.md §1.1: without a project in the path only accession IDs identify."""
    emulator.seed.add_session("P", "s", "e")
    s = session(emulator)
    r = s.put(f"{emulator.url}/data/experiments/XNAT_E00001", params={"note": "by accession"})
    assert (r.status_code, r.text) == (200, "XNAT_E00001")
    assert item(s.get(f"{emulator.url}{P}/experiments/e", params={"format": "json"}))["data_fields"]["note"] == (
        "by accession"
    )
    # Not an accession ID and no project: XNAT cannot place it.
    r = s.put(f"{emulator.url}/data/experiments/e", params={"xsiType": "xnat:mrSessionData"})
    assert (r.status_code, h3(r)) == (422, "Submitted experiment record must include the project attribute.")
    # With `project=` a new one is created, labelled with the path segment.
    r = s.put(
        f"{emulator.url}/REST/experiments/e2",
        params={"xsiType": "xnat:mrSessionData", "project": "P", "subject_ID": "s"},
    )
    assert (r.status_code, r.text) == (201, "XNAT_E00002")
    assert sorted(x["label"] for x in rows(s.get(f"{emulator.url}{P}/experiments"))) == ["e", "e2"]
    r = s.delete(f"{emulator.url}/data/subjects/s")  # a label is not an accession ID
    assert (r.status_code, h3(r)) == (404, "Unable to find the specified subject.")
    assert s.delete(f"{emulator.url}/data/subjects/XNAT_S00001").status_code == 200
    assert rows(s.get(f"{emulator.url}{P}/subjects")) == []
    assert rows(s.get(f"{emulator.url}{P}/experiments")) == []  # the subject took its sessions along


def test_audit_parameters_are_accepted_and_ignored(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(
        f"{emulator.url}{P}/subjects/s",
        params={"gender": "male", "event_reason": "because", "event_type": "WEB_SERVICE", "req_format": "qs"},
    )
    assert r.status_code == 201
    emulator.seed.add_session("P", "s", "e")
    assert s.delete(f"{emulator.url}{P}/experiments/e", params={"event_reason": "cleanup"}).status_code == 200


def test_another_scan_types_parameter_on_an_existing_scan_is_ignored(emulator: Emulator) -> None:
    # XNAT-7015: ScanResource reads the parameters with the existing scan's type, so
    # `xnat:ctScanData/note` neither retypes an MR scan nor is a 409; it is just not a field.
    e = emulator.seed.add_session("P", "s", "e", scans=[{"id": "1", "fields": {"note": "orig"}}])
    url = f"{emulator.url}/data/experiments/{e.id}/scans/1"
    s = session(emulator)
    r = s.put(url, params={"xnat:ctScanData/note": "x"})
    assert (r.status_code, r.text) == (200, "")
    assert (e.scans["1"].xsi_type, e.scans["1"].fields["note"]) == ("xnat:mrScanData", "orig")
    r = s.put(url, params={"xnat:ctScanData/note": "x", "xnat:mrScanData/coil": "HEAD"})
    assert r.status_code == 200
    assert (e.scans["1"].fields["note"], e.scans["1"].fields["coil"]) == ("orig", "HEAD")
    # `xsiType=` does name the type: changing it is the 409.
    r = s.put(url, params={"xsiType": "xnat:ctScanData", "xnat:ctScanData/note": "x"})
    assert (r.status_code, h3(r)) == (409, "Specified xsiType differs from existing xsiType")
    # A new scan still takes its type from the first typed key.
    assert s.put(url.replace("/scans/1", "/scans/9"), params={"xnat:ctScanData/note": "x"}).status_code == 200
    assert (e.scans["9"].xsi_type, e.scans["9"].fields["note"]) == ("xnat:ctScanData", "x")


def test_scan_type_refusals_carry_xnats_texts(emulator: Emulator) -> None:
    e = emulator.seed.add_session("P", "s", "e")
    url = f"{emulator.url}/data/experiments/{e.id}/scans/1"
    s = session(emulator)
    r = s.put(url, params={"xsiType": "xnat:imageScanData"})
    assert (r.status_code, h3(r)) == (
        400,
        "Multiple scan modalities can be associated here.  Please retry with the specification of a particular "
        "modality (i.e. ?xsiType=xnat:mrScanData).",
    )
    r = s.put(url, params={"xsiType": "xnat:mrSessionData"})
    assert (r.status_code, h3(r)) == (
        400,
        "Only Scan documents can be PUT to this address. Expected: xnat:imageScanData Received: xnat:mrSessionData",
    )
    r = s.put(url, params={"xsiType": "xnat:noSuchScanData"})
    assert (r.status_code, h3(r)) == (
        400,
        "org.nrg.xft.exception.ElementNotFoundException: Element not found: 'xnat:noSuchScanData'",
    )
    assert e.scans == {}
