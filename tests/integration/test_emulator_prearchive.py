"""The prearchive over real HTTP: the listing and its columns, the quiet period, auto-archive by
project code and `AA:`, one session's representations and actions, `/services/archive` and the
batch services (REST-CONTRACT.md §6 and §9 row 7, DICOM-IMPORT.md §8 rows 4, 5 and 7)."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.integration.emulator_http import h3, snapshot
from xsync.emulator import Emulator
from xsync.testing.dicomgen import StudySpec, zip_study

QUIET = 0.2
HOLD = 3600.0  # a quiet period nothing reaches: rows stay RECEIVING until a test lets go
COLUMNS = [
    "project", "timestamp", "lastmod", "uploaded", "scan_date", "scan_time", "subject", "folderName", "name",
    "tag", "status", "url", "autoarchive", "prevent_anon", "prevent_auto_commit", "SOURCE", "VISIT", "PROTOCOL",
    "TIMEZONE",
]  # fmt: skip


pytestmark = pytest.mark.parametrize(
    "emulator",
    [{"projects": ("CCF_TEST", "OTHER"), "quiet_seconds": QUIET, "users": {"admin": "admin", "bob": "bob"}}],
    indirect=True,
)


def upload(emulator: Emulator, admin_http: requests.Session, tmp_path: Path, study: StudySpec, **params: str) -> str:
    """Import a study (DICOM-zip, no dest: RECEIVING) and return its prearchive URI."""
    body = zip_study(study, tmp_path / f"{study.seed}-{len(list(tmp_path.iterdir()))}.zip").read_bytes()
    r = admin_http.post(
        emulator.url + "/data/services/import", data=body, params=params, headers={"Content-Type": "application/zip"}
    )
    assert r.status_code == 200, r.text
    return r.text.strip()


def listing(
    emulator: Emulator, admin_http: requests.Session, path: str = "/data/prearchive/projects"
) -> list[dict[str, str]]:
    r = admin_http.get(emulator.url + path, params={"format": "json"})
    assert r.status_code == 200
    return r.json()["ResultSet"]["Result"]


def hold(emulator: Emulator, seconds: float = HOLD) -> None:
    """Set the quiet period while running: HOLD keeps rows RECEIVING, QUIET lets them go."""
    emulator.prearchive_worker.quiet_seconds = seconds


def row_of(emulator: Emulator, admin_http: requests.Session, uri: str) -> dict[str, str]:
    (row,) = admin_http.get(emulator.url + uri, params={"format": "json"}).json()["ResultSet"]["Result"]
    return row


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def archived(emulator: Emulator, admin_http: requests.Session, project: str, label: str) -> dict | None:
    r = admin_http.get(f"{emulator.url}/data/projects/{project}/experiments/{label}", params={"format": "json"})
    return r.json()["items"][0] if r.status_code == 200 else None


def scan_ids(item: dict) -> list[str]:
    scans = next((c["items"] for c in item["children"] if c["field"] == "scans/scan"), [])
    return [s["data_fields"]["ID"] for s in scans]


CCF = StudySpec(patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")


# -- listing -------------------------------------------------------------------------------
def test_listing_columns_statuses_and_filters(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    uri = upload(emulator, admin_http, tmp_path, CCF, prevent_auto_commit="true", SOURCE="script", VISIT="v1")
    upload(emulator, admin_http, tmp_path, StudySpec(seed="u", study_description="nope"))  # Unassigned
    r = admin_http.get(emulator.url + "/data/prearchive/projects", params={"format": "json"})
    assert list(r.json()) == ["ResultSet"] and list(r.json()["ResultSet"]) == ["Result"]  # no totalRecords, no title
    rows = r.json()["ResultSet"]["Result"]
    assert {row["project"] for row in rows} == {"CCF_TEST", "Unassigned"}
    row = next(row for row in rows if row["project"] == "CCF_TEST")
    assert list(row) == COLUMNS
    assert all(isinstance(v, str) for v in row.values())
    assert row["url"] == uri[len("/data") :] and not row["url"].startswith("/data")
    assert (row["status"], row["tag"], row["name"], row["subject"]) == ("RECEIVING", CCF.uid, "session1", "sub1")
    assert (row["scan_date"], row["scan_time"], row["autoarchive"]) == ("2024-01-31", "09:30:00", "Manual")
    assert (row["prevent_auto_commit"], row["prevent_anon"], row["SOURCE"], row["VISIT"]) == (
        "true",
        "false",
        "script",
        "v1",
    )
    assert row["timestamp"] == uri.split("/")[-2] and len(row["timestamp"]) == 18
    assert [x["name"] for x in listing(emulator, admin_http, "/data/prearchive/projects/CCF_TEST")] == ["session1"]
    r = admin_http.get(emulator.url + "/data/prearchive/projects", params={"format": "json", "tag": CCF.uid})
    assert [x["tag"] for x in r.json()["ResultSet"]["Result"]] == [CCF.uid]
    csv_lines = admin_http.get(
        emulator.url + "/data/prearchive/projects/CCF_TEST", params={"format": "csv"}
    ).text.splitlines()
    assert csv_lines[0] == ",".join(COLUMNS) and len(csv_lines) == 2
    xml = admin_http.get(emulator.url + "/data/prearchive/projects/CCF_TEST", params={"format": "xml"}).text
    assert "<column>TIMEZONE</column>" in xml and "<cell>session1</cell>" in xml


def test_visibility(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    upload(emulator, admin_http, tmp_path, CCF)
    bob = requests.Session()
    bob.auth = ("bob", "bob")
    assert listing(emulator, bob) == []  # a project bob is not in, and no Unassigned for non-admins
    assert bob.get(emulator.url + "/data/prearchive/projects/CCF_TEST", params={"format": "json"}).status_code == 403
    assert bob.get(emulator.url + "/data/prearchive/projects/Unassigned", params={"format": "json"}).status_code == 403
    assert admin_http.get(emulator.url + "/data/prearchive/projects/NOPE", params={"format": "json"}).status_code == 404


# -- the quiet period and auto-archive -----------------------------------------------------
def test_receiving_turns_ready_after_the_quiet_period(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    hold(emulator)
    uri = upload(emulator, admin_http, tmp_path, CCF)
    held = upload(
        emulator, admin_http, tmp_path, StudySpec(seed="h", study_description="OTHER"), prevent_auto_commit="true"
    )
    uploader = upload(
        emulator,
        admin_http,
        tmp_path,
        StudySpec(seed="s", study_description="OTHER", patient_id="p2"),
        SOURCE="uploader",
    )
    assert row_of(emulator, admin_http, uri)["status"] == "RECEIVING"
    assert admin_http.get(emulator.url + uri, params={"format": "xml"}).status_code == 404  # no document yet
    hold(emulator, QUIET)
    wait_for(lambda: row_of(emulator, admin_http, uri)["status"] == "READY")
    time.sleep(2 * QUIET)
    assert row_of(emulator, admin_http, held)["status"] == "RECEIVING"
    assert row_of(emulator, admin_http, uploader)["status"] == "RECEIVING"
    assert archived(emulator, admin_http, "CCF_TEST", "session1") is None  # code 0: stays in the prearchive


@pytest.mark.parametrize(
    ("code", "comment", "archives"), [("4", "", True), ("0", "AA:true", True), ("4", "AA:false", False)]
)
def test_auto_archive_by_project_code_and_aa(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path, code: str, comment: str, archives: bool
) -> None:
    assert admin_http.put(emulator.url + f"/data/projects/CCF_TEST/prearchive_code/{code}").status_code == 200
    study = StudySpec(patient_comments=f"{CCF.patient_comments} {comment}".strip())
    hold(emulator)
    uri = upload(emulator, admin_http, tmp_path, study)
    expected = {"4": "AutoArchive", "0": "Manual"}[code] if not comment else ("AutoArchive" if archives else "Manual")
    assert row_of(emulator, admin_http, uri)["autoarchive"] == expected
    hold(emulator, QUIET)
    if archives:
        wait_for(lambda: archived(emulator, admin_http, "CCF_TEST", "session1") is not None)
        assert listing(emulator, admin_http) == []
        item = archived(emulator, admin_http, "CCF_TEST", "session1")
        assert item is not None and scan_ids(item) == ["1", "2"]
    else:
        wait_for(lambda: row_of(emulator, admin_http, uri)["status"] == "READY")
        time.sleep(QUIET)
        assert archived(emulator, admin_http, "CCF_TEST", "session1") is None


# -- one session ---------------------------------------------------------------------------
def test_session_representations(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    uri = upload(emulator, admin_http, tmp_path, CCF)
    assert admin_http.post(emulator.url + uri, params={"action": "build"}).text == uri + "\r\n"
    doc = admin_http.get(emulator.url + uri)  # the default representation is the session document
    assert doc.status_code == 200 and doc.headers["Content-Type"].startswith("text/xml")
    assert "<xnat:MRSession" in doc.text and f'UID="{CCF.uid}"' in doc.text
    assert 'label="session1"' in doc.text
    scans = admin_http.get(emulator.url + uri + "/scans", params={"format": "json"}).json()["ResultSet"]["Result"]
    assert scans == [
        {"ID": "1", "xsiType": "xnat:mrScanData", "series_description": "T1w_MPR"},
        {"ID": "2", "xsiType": "xnat:mrScanData", "series_description": "T2w_SPC"},
    ]
    (res,) = admin_http.get(emulator.url + uri + "/scans/1/resources", params={"format": "json"}).json()["ResultSet"][
        "Result"
    ]
    assert (res["label"], res["format"], res["content"], res["file_count"]) == ("DICOM", "DICOM", "RAW", "3")
    files = admin_http.get(emulator.url + uri + "/scans/1/resources/DICOM/files", params={"format": "json"}).json()[
        "ResultSet"
    ]["Result"]
    assert [f["Name"] for f in files] == ["0001.dcm", "0002.dcm", "0003.dcm"]
    body = admin_http.get(emulator.url + files[0]["URI"]).content
    assert body[128:132] == b"DICM" and len(body) == int(files[0]["Size"])
    with zipfile.ZipFile(io.BytesIO(admin_http.get(emulator.url + uri, params={"format": "zip"}).content)) as zf:
        assert sorted(zf.namelist())[0] == "session1/SCANS/1/DICOM/0001.dcm"
    assert admin_http.get(emulator.url + uri + "/scans/9/resources", params={"format": "json"}).status_code == 404


def test_session_actions(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    uri = upload(emulator, admin_http, tmp_path, CCF)
    r = admin_http.post(emulator.url + uri, params={"action": "commit"})  # Manual project: built, not archived
    assert (r.status_code, r.text) == (200, uri + "\r\n")
    assert row_of(emulator, admin_http, uri)["status"] == "READY"
    r = admin_http.post(emulator.url + uri, params={"action": "set-status", "status": "ERROR"})
    assert r.status_code == 200 and row_of(emulator, admin_http, uri)["status"] == "ERROR"
    assert admin_http.post(emulator.url + uri, params={"action": "set-status", "status": "BOGUS"}).status_code == 400
    assert admin_http.post(emulator.url + uri, params={"action": "reset-status"}).status_code == 200
    assert row_of(emulator, admin_http, uri)["status"] == "READY"
    assert admin_http.post(emulator.url + uri, params={"action": "nope"}).status_code == 400
    assert admin_http.post(emulator.url + uri).status_code == 400
    r = admin_http.post(emulator.url + uri, params={"action": "move", "newProject": "OTHER"}, allow_redirects=False)
    moved = uri.replace("/CCF_TEST/", "/OTHER/")
    assert (r.status_code, r.text) == (301, moved + "\r\n")
    assert admin_http.get(emulator.url + uri, params={"format": "json"}).status_code == 404
    assert row_of(emulator, admin_http, moved)["project"] == "OTHER"
    r = admin_http.post(emulator.url + moved, params={"action": "commit", "AA": "true"}, allow_redirects=False)
    assert (r.status_code, r.text) == (301, "/data/archive/projects/OTHER/subjects/sub1/experiments/session1\r\n")
    assert archived(emulator, admin_http, "OTHER", "session1") is not None and listing(emulator, admin_http) == []


def test_delete_removes_row_and_files(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    uri = upload(emulator, admin_http, tmp_path, CCF)
    folder = emulator.store.root / "prearchive" / "CCF_TEST" / uri.split("/")[-2]
    assert folder.is_dir()
    assert admin_http.delete(emulator.url + uri).status_code == 200
    assert listing(emulator, admin_http) == [] and not folder.exists()
    assert admin_http.delete(emulator.url + uri).status_code == 404


# -- /services/archive and the batch services ----------------------------------------------
def test_archive_service(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    uri = upload(emulator, admin_http, tmp_path, CCF)
    wait_for(lambda: row_of(emulator, admin_http, uri)["status"] == "READY")
    r = admin_http.post(
        emulator.url + "/data/services/archive", data={"src": uri, "subject": "SUBJ_X", "session": "sess_x"}
    )
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/uri-list")
    assert r.text == "/data/archive/projects/CCF_TEST/subjects/SUBJ_X/experiments/sess_x\r\n"
    other = upload(emulator, admin_http, tmp_path, StudySpec(seed="o", study_description="OTHER"))
    ts, folder = other.split("/")[-2:]
    params = {"project": "OTHER", "PREARC_TIMESTAMP": ts, "PREARC_SESSION_FOLDER": folder, "redirect": "true"}
    r = admin_http.post(emulator.url + "/REST/services/archive", params=params, allow_redirects=False)
    assert r.status_code == 303
    assert (
        r.headers["Location"]
        == emulator.url + "/data/archive/projects/OTHER/subjects/Synthetic_Subject/experiments/SYN001"
    )
    unassigned = upload(emulator, admin_http, tmp_path, StudySpec(seed="n", study_description="nowhere"))
    r = admin_http.post(emulator.url + "/data/services/archive", params={"src": unassigned})
    assert r.status_code == 400 and "Cannot archive sessions from the Unassigned folder." in r.text
    r = admin_http.post(emulator.url + "/data/services/archive", params={"src": "/prearchive/projects/CCF_TEST/1/x"})
    assert r.status_code == 404 and "<h3>Unknown prearchive session.</h3>" in r.text


def test_validate_archive_is_a_dry_run_of_the_archive(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    hold(emulator)
    validate, archive = emulator.url + "/data/services/validate-archive", emulator.url + "/data/services/archive"
    uri = upload(emulator, admin_http, tmp_path, CCF)
    before = snapshot(emulator)
    r = admin_http.post(validate, data={"src": uri}, params={"format": "json"})
    assert (r.status_code, r.json()["ResultSet"]["Result"]) == (200, [])
    assert snapshot(emulator) == before  # still RECEIVING, nothing built, nothing archived
    assert admin_http.post(archive, data={"src": uri}).status_code == 200
    # The same instances again: the archive would refuse them, so the dry run answers the same.
    again = upload(emulator, admin_http, tmp_path, CCF)
    before = snapshot(emulator)
    r = admin_http.post(validate, params={"src": again})
    assert (r.status_code, h3(r)) == (409, "Duplicate DICOM file uploaded.")
    assert snapshot(emulator) == before and row_of(emulator, admin_http, again)["status"] == "RECEIVING"
    r = admin_http.post(archive, params={"src": again})
    assert (r.status_code, h3(r)) == (409, "Duplicate DICOM file uploaded.")
    assert row_of(emulator, admin_http, again)["status"] == "CONFLICT"
    other = upload(emulator, admin_http, tmp_path, StudySpec(seed="v", patient_comments="Project:CCF_TEST Session:v"))
    r = admin_http.post(validate, data={"src": [again, other]})
    assert (r.status_code, h3(r)) == (400, "Cannot validate multiple sessions in one request.")
    r = admin_http.post(validate, params={"src": other, "xnat:mrSessionData/note": "n" * 2501})
    assert r.status_code == 400 and "Must Be Less Than 2500 Characters" in h3(r)


def test_archive_service_applies_xpath_overrides(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    hold(emulator)
    uri = upload(emulator, admin_http, tmp_path, CCF)
    archive = emulator.url + "/data/services/archive"
    for key, value, message in (
        ("xnat:mrSessionData/note", "n" * 2501, "xnat:mrSessionData/note : Must Be Less Than 2500 Characters"),
        ("xnat:mrSessionData/shoe_size", "44", "xnat:mrSessionData/shoe_size : Unknown field"),
        ("xnat:imageSessionData/dcmPatientWeight", "NaN", "Must Be A Valid Float"),
    ):
        r = admin_http.post(archive, data={"src": uri, key: value})
        assert r.status_code == 400 and message in h3(r), key
    assert archived(emulator, admin_http, "CCF_TEST", "session1") is None
    assert row_of(emulator, admin_http, uri)["status"] in ("RECEIVING", "READY")  # not ERROR: the request was refused
    overrides = {
        "xnat:mrSessionData/note": "hello",
        "xnat:experimentData/fields/field[name=site]/field": "A",
        "xnat:mrSessionData/scanner": "RENAMED",
        "xnat:ctSessionData/note": "another type: ignored",
    }
    assert admin_http.post(archive, data={"src": uri, **overrides}).status_code == 200
    item = archived(emulator, admin_http, "CCF_TEST", "session1")
    assert item is not None
    assert (item["data_fields"]["note"], item["data_fields"]["scanner"]) == ("hello", "RENAMED")
    fields = next(c["items"] for c in item["children"] if c["field"] == "fields/field")
    assert {f["data_fields"]["name"]: f["data_fields"]["field"] for f in fields}["site"] == "A"


def test_prearchive_refresh_is_for_admins(emulator: Emulator, admin_http: requests.Session) -> None:
    r = admin_http.put(emulator.url + "/data/prearchive")
    assert (r.status_code, r.text) == (200, "")
    r = requests.put(emulator.url + "/data/prearchive", auth=("bob", "bob"))
    assert (r.status_code, h3(r)) == (403, "Only site or data administrators can request a rebuild of the prearchive.")


def test_batch_services(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    a = upload(emulator, admin_http, tmp_path, CCF)
    b = upload(emulator, admin_http, tmp_path, StudySpec(seed="b", patient_comments="Project:CCF_TEST Session:two"))
    r = admin_http.post(emulator.url + "/data/services/prearchive/rebuild", params={"src": a, "format": "json"})
    assert r.status_code == 200 and row_of(emulator, admin_http, a)["status"] == "READY"
    r = admin_http.post(emulator.url + "/data/services/prearchive/move", data={"src": [a, b], "newProject": "OTHER"})
    assert r.status_code == 200 and r.text.startswith("<?xml")  # the batch services answer XML by default
    assert sorted(row["project"] for row in listing(emulator, admin_http)) == ["OTHER", "OTHER"]
    moved = [u.replace("/CCF_TEST/", "/OTHER/") for u in (a, b)]
    r = admin_http.post(emulator.url + "/data/services/prearchive/delete", params={"src": moved, "format": "csv"})
    assert r.status_code == 200 and listing(emulator, admin_http) == []
    r = admin_http.post(emulator.url + "/data/services/prearchive/move", data={"src": moved, "newProject": "OTHER"})
    assert r.status_code == 404
