"""Listing rows -> RemoteState, purely."""

from __future__ import annotations

from xsync.model.address import Address, Kind
from xsync.xnat.wire import parse_state

SUBJECT_ROWS = [
    # sub1 has two custom variables: one row per variable (join)
    {"ID": "XNAT_S00001", "label": "sub1", "gender": "female", "age": "25", "handedness": "",
     "xnat:subjectdata/fields/field/name": "site", "xnat:subjectdata/fields/field/field": "LONI &amp; WU"},
    {"ID": "XNAT_S00001", "label": "sub1", "gender": "female", "age": "25", "handedness": "",
     "xnat:subjectdata/fields/field/name": "cohort", "xnat:subjectdata/fields/field/field": "A"},
    # sub2 has none: one row with empty join cells
    {"ID": "XNAT_S00002", "label": "sub2", "gender": "", "age": "",
     "xnat:subjectdata/fields/field/name": "", "xnat:subjectdata/fields/field/field": ""},
]  # fmt: skip
EXPERIMENT_ROWS = [
    {"ID": "XNAT_E00001", "label": "session1", "xsiType": "xnat:mrSessionData", "subject_ID": "XNAT_S00001",
     "subject_label": "sub1"},
]  # fmt: skip
SESSION_ROWS = {
    "xnat:mrSessionData": [
        {"ID": "XNAT_E00001", "label": "session1", "subject_ID": "XNAT_S00001", "scanner": "SIEMENS", "date": "",
         "xnat:mrsessiondata/fields/field/name": "", "xnat:mrsessiondata/fields/field/field": ""},
    ]
}  # fmt: skip
SCAN_ROWS = {
    "xnat:mrSessionData": [
        {"ID": "XNAT_E00001", "label": "session1", "xnat:imagescandata/id": "10", "xnat:imagescandata/type": "rest"},
        {"ID": "XNAT_E00001", "label": "session1", "xnat:imagescandata/id": "1", "xnat:imagescandata/type": "T1w",
         "xnat:imagescandata/series_description": "Structural", "xnat:imagescandata/uid": "1.2.3"},
    ]
}  # fmt: skip
# /data/experiments/XNAT_E00001/scans/ALL/resources: one row per scan resource (cat_id = scan ID)
RESOURCE_ROWS = {
    "XNAT_E00001": [
        {"xnat_abstractresource_id": "11", "label": "DICOM", "cat_id": "1", "file_count": "3", "file_size": "300",
         "format": "DICOM"},
        {"xnat_abstractresource_id": "12", "label": "SNAPSHOTS", "cat_id": "1", "file_count": "2", "file_size": "20",
         "format": "GIF"},
        {"xnat_abstractresource_id": "13", "label": "DICOM", "cat_id": "10", "file_count": "", "file_size": "",
         "format": "DICOM"},
    ]
}  # fmt: skip


def parse(**overrides):  # type: ignore[no-untyped-def]
    args = dict(
        server="http://x",
        project="P",
        subject_rows=SUBJECT_ROWS,
        experiment_rows=EXPERIMENT_ROWS,
        session_rows=SESSION_ROWS,
        scan_rows=SCAN_ROWS,
        typed_scan_rows={
            "xnat:mrSessionData": {
                "xnat:mrScanData": [{"ID": "XNAT_E00001", "xnat:mrscandata/id": "1", "xnat:mrscandata/coil": "HEA"}]
            }
        },
        prearchive_rows=[],
        resource_rows=RESOURCE_ROWS,
    )
    args.update(overrides)
    return parse_state(**args)


def test_subjects_fields_and_joined_custom_variables() -> None:
    state = parse()
    sub1 = state.subjects["sub1"]
    assert sub1.id == "XNAT_S00001"
    assert dict(sub1.fields) == {"gender": "female", "age": "25"}  # empty cells are unset fields
    assert dict(sub1.custom) == {"site": "LONI & WU", "cohort": "A"}  # entities undone
    assert dict(state.subjects["sub2"].custom) == {}
    assert list(state.subjects) == ["sub1", "sub2"]


def test_sessions_scans_resources_and_probed_types() -> None:
    session = parse().subjects["sub1"].sessions["session1"]
    assert session.id == "XNAT_E00001" and session.xsi_type == "xnat:mrSessionData"
    assert dict(session.fields) == {"scanner": "SIEMENS"}
    assert list(session.scans) == ["1", "10"]  # XNAT's maybe-numeric order
    scan1 = session.scans["1"]
    # MR-only fields come from the MR listing (their columns join MR scans only)
    assert dict(scan1.fields) == {"type": "T1w", "series_description": "Structural", "UID": "1.2.3", "coil": "HEA"}
    assert session.resources_read
    assert scan1.dicom_file_count == 3
    assert set(scan1.resources) == {"DICOM", "SNAPSHOTS"}
    assert session.scans["10"].dicom_file_count is None  # the server kept no count: unknown, not 0
    assert scan1.xsi_type == "xnat:mrScanData"
    assert session.scans["10"].xsi_type == ""  # not probed as MR: unknown, not guessed


def test_sessions_whose_resources_were_not_read_have_no_counts() -> None:
    session = parse(resource_rows={}).subjects["sub1"].sessions["session1"]
    assert not session.resources_read and session.scans["1"].resources == {}


def test_session_of_a_subject_outside_the_project_stays_visible() -> None:
    rows = EXPERIMENT_ROWS + [
        {"ID": "XNAT_E00009", "label": "shared1", "xsiType": "xnat:mrSessionData", "subject_ID": "OTHER_S1",
         "subject_label": "visitor"}
    ]  # fmt: skip
    state = parse(experiment_rows=rows)
    assert state.session("shared1") is not None
    assert state.subjects["visitor"].id == "OTHER_S1"


def test_fingerprint_is_stable_and_sensitive() -> None:
    a, b = parse(), parse()
    assert a.fingerprint() == b.fingerprint()
    changed = [dict(r) for r in SUBJECT_ROWS]
    changed[0]["age"] = "26"
    changed[1]["age"] = "26"
    assert parse(subject_rows=changed).fingerprint() != a.fingerprint()


def test_address_round_trip_and_kinds() -> None:
    a = Address("P", "sub1", "session1", "4-MR1")
    assert str(a) == "P/sub1/session1/scan:4-MR1" and a.kind is Kind.SCAN
    assert Address.parse(str(a)) == a
    assert Address.parse("P/sub1").kind is Kind.SUBJECT
    assert a.session_address() == Address("P", "sub1", "session1")
