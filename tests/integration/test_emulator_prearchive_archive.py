"""Archiving into an existing session over real HTTP: appending series, XNAT's conflicts
(different StudyInstanceUID, scan number/UID clashes, another subject, duplicate instances)
and overwriting; a refused archive leaves the archive exactly as it was (DICOM-IMPORT.md §5.5,
§7, §8 rows 5 and 7)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from xsync.emulator import Emulator
from xsync.testing.dicomgen import SeriesSpec, StudySpec, zip_study

DEST = "/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
STUDY = StudySpec()  # series 1 (T1w_MPR) and 2 (T2w_SPC), 3 instances each


pytestmark = pytest.mark.parametrize("emulator", [{"projects": ("CCF_TEST",), "quiet_seconds": 0.2}], indirect=True)


def send(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path, study: StudySpec, **params: str
) -> requests.Response:
    path = zip_study(study, tmp_path / f"{len(list(tmp_path.iterdir()))}.zip")
    return admin_http.post(
        emulator.url + "/data/services/import",
        data=path.read_bytes(),
        params=params,
        headers={"Content-Type": "application/zip"},
    )


def only(study: StudySpec, index: int) -> StudySpec:
    """One series of `study`, keeping its UID."""
    return study.with_series(SeriesSpec(**{**study.series[index].__dict__, "uid": study.series_uid(index)}))


def session(emulator: Emulator, admin_http: requests.Session) -> dict[str, Any]:
    r = admin_http.get(emulator.url + "/data" + DEST, params={"format": "json"})
    assert r.status_code == 200
    return r.json()["items"][0]


def scans(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = next((c["items"] for c in item["children"] if c["field"] == "scans/scan"), [])
    return {s["data_fields"]["ID"]: s["data_fields"] for s in found}


def archive_files(emulator: Emulator) -> list[str]:
    root = emulator.store.root / "archive"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.dcm"))


def snapshot(emulator: Emulator, admin_http: requests.Session) -> tuple[dict[str, Any], list[str]]:
    return session(emulator, admin_http), archive_files(emulator)


def prearchive(emulator: Emulator, admin_http: requests.Session) -> list[dict[str, str]]:
    return admin_http.get(emulator.url + "/data/prearchive/projects", params={"format": "json"}).json()["ResultSet"][
        "Result"
    ]


def test_appending_a_series_merges_into_the_session(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    assert send(emulator, admin_http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    r = admin_http.put(emulator.url + "/data" + DEST, params={"xsiType": "xnat:mrSessionData", "scanner": "EDITED"})
    assert r.status_code == 200
    assert send(emulator, admin_http, tmp_path, only(STUDY, 1), dest=DEST, overwrite="append").status_code == 200
    item = session(emulator, admin_http)
    assert sorted(scans(item)) == ["1", "2"]
    assert item["data_fields"]["scanner"] == "EDITED"  # a merge keeps what was edited since
    t2 = scans(item)["2"]
    assert (t2["type"], t2["series_description"], t2["quality"], t2["frames"]) == ("T2w_SPC", "T2w_SPC", "usable", 3)
    assert len(archive_files(emulator)) == 6


def test_a_new_series_under_a_taken_number_is_renumbered(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    assert send(emulator, admin_http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    clash = STUDY.with_series(SeriesSpec(1, "T1w_repeat", uid="2.25.777"))
    assert send(emulator, admin_http, tmp_path, clash, dest=DEST, overwrite="append").status_code == 200
    got = scans(session(emulator, admin_http))
    assert {k: v["UID"] for k, v in got.items()} == {"1": STUDY.series_uid(0), "1-MR1": "2.25.777"}
    assert "CCF_TEST/arc001/session1/SCANS/1-MR1/DICOM/0001.dcm" in archive_files(emulator)


def test_a_different_study_under_the_label_is_refused(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    assert send(emulator, admin_http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emulator, admin_http)
    other = StudySpec(seed="other-study").with_series(SeriesSpec(2, "T2w_SPC"))
    r = send(emulator, admin_http, tmp_path, other, dest=DEST, overwrite="append")
    assert r.status_code == 409
    assert "<h3>Invalid modification of session UID via archive process.</h3>" in r.text
    assert snapshot(emulator, admin_http) == before
    (row,) = prearchive(emulator, admin_http)
    assert row["status"] == "CONFLICT"
    # The archive service refuses it too (merging is allowed there, the UID check is not
    # overridden without `overwrite`) and the row stays CONFLICT ...
    r = admin_http.post(emulator.url + "/data/services/archive", params={"src": row["url"]})
    assert r.status_code == 409 and "Invalid modification of session UID" in r.text
    assert snapshot(emulator, admin_http) == before and prearchive(emulator, admin_http)[0]["status"] == "CONFLICT"
    # `override` is not a value Archiver.initialize knows (only append and delete): no override ...
    r = admin_http.post(emulator.url + "/data/services/archive", params={"src": row["url"], "overwrite": "override"})
    assert r.status_code == 409 and snapshot(emulator, admin_http) == before
    # ... until overwrite=delete overrides the check (XNAT's overrideExceptions).
    r = admin_http.post(emulator.url + "/data/services/archive", params={"src": row["url"], "overwrite": "delete"})
    assert r.status_code == 200 and sorted(scans(session(emulator, admin_http))) == ["1", "2"]


def test_a_known_series_under_another_number_is_refused(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    assert send(emulator, admin_http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emulator, admin_http)
    renumbered = STUDY.with_series(SeriesSpec(5, "T1w_MPR", uid=STUDY.series_uid(0)))
    r = send(emulator, admin_http, tmp_path, renumbered, dest=DEST, overwrite="append")
    assert r.status_code == 409
    assert "<h3>Session already contains a scan with the same UID, but a different number (1).</h3>" in r.text
    assert snapshot(emulator, admin_http) == before


def test_the_label_taken_by_another_subject_is_refused(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    assert send(emulator, admin_http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emulator, admin_http)
    r = send(emulator, admin_http, tmp_path, only(STUDY, 1), dest=DEST.replace("sub1", "sub2"), overwrite="append")
    assert r.status_code == 409 and "Invalid modification of session subject via archive process." in r.text
    assert snapshot(emulator, admin_http) == before
    assert (
        admin_http.get(emulator.url + "/data/projects/CCF_TEST/subjects/sub2", params={"format": "json"}).status_code
        == 404
    )


def test_subjects_match_case_insensitively(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    assert admin_http.put(emulator.url + "/data/projects/CCF_TEST/subjects/SUB1").status_code == 201
    r = send(emulator, admin_http, tmp_path, STUDY, dest=DEST)
    assert r.text == "/data/archive/projects/CCF_TEST/subjects/SUB1/experiments/session1\r\n"
    subjects = admin_http.get(emulator.url + "/data/projects/CCF_TEST/subjects", params={"format": "json"}).json()
    assert [s["label"] for s in subjects["ResultSet"]["Result"]] == ["SUB1"]


def wait_until_gone(emulator: Emulator, admin_http: requests.Session, status: str | None = None) -> None:
    deadline = time.monotonic() + 5
    while True:
        rows = prearchive(emulator, admin_http)
        if (status is None and not rows) or (status is not None and [r["status"] for r in rows] == [status]):
            return
        assert time.monotonic() < deadline, rows
        time.sleep(0.02)


@pytest.mark.parametrize(("code", "outcome"), [("4", "CONFLICT"), ("5", None)])
def test_a_resent_study_in_an_auto_archive_project(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path, code: str, outcome: str | None
) -> None:
    """Code 4 merges but refuses instances already archived (the row turns CONFLICT, nothing
    changes); code 5 replaces them, so nothing is duplicated either way."""
    assert admin_http.put(emulator.url + f"/data/projects/CCF_TEST/prearchive_code/{code}").status_code == 200
    routed = StudySpec(patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")
    assert send(emulator, admin_http, tmp_path, routed).status_code == 200
    wait_until_gone(emulator, admin_http)
    before = snapshot(emulator, admin_http)
    emulator.prearchive_worker.quiet_seconds = 3600  # no partial archive while the study arrives
    assert send(emulator, admin_http, tmp_path, routed).status_code == 200
    emulator.prearchive_worker.quiet_seconds = 0.2
    wait_until_gone(emulator, admin_http, outcome)
    item, files = snapshot(emulator, admin_http)
    assert files == before[1]
    assert sorted(scans(item)) == ["1", "2"]
    if outcome == "CONFLICT":
        assert item == before[0]
