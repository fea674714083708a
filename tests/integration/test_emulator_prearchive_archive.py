"""Archiving into an existing session over real HTTP: appending series, XNAT's conflicts
(different StudyInstanceUID, scan number/UID clashes, another subject, duplicate instances)
and overwriting; a refused archive leaves the archive exactly as it was (DICOM-IMPORT.md §5.5,
§7, §8 rows 5 and 7)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.dicomgen import SeriesSpec, StudySpec, zip_study

DEST = "/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
STUDY = StudySpec()  # series 1 (T1w_MPR) and 2 (T2w_SPC), 3 instances each


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), quiet_seconds=0.2)) as e:
        yield e


@pytest.fixture
def http(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def send(emu: Emulator, http: requests.Session, tmp_path: Path, study: StudySpec, **params: str) -> requests.Response:
    path = zip_study(study, tmp_path / f"{len(list(tmp_path.iterdir()))}.zip")
    return http.post(
        emu.url + "/data/services/import",
        data=path.read_bytes(),
        params=params,
        headers={"Content-Type": "application/zip"},
    )


def only(study: StudySpec, index: int) -> StudySpec:
    """One series of `study`, keeping its UID."""
    return study.with_series(SeriesSpec(**{**study.series[index].__dict__, "uid": study.series_uid(index)}))


def session(emu: Emulator, http: requests.Session) -> dict[str, Any]:
    r = http.get(emu.url + "/data" + DEST, params={"format": "json"})
    assert r.status_code == 200
    return r.json()["items"][0]


def scans(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = next((c["items"] for c in item["children"] if c["field"] == "scans/scan"), [])
    return {s["data_fields"]["ID"]: s["data_fields"] for s in found}


def archive_files(emu: Emulator) -> list[str]:
    root = emu.store.root / "archive"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.dcm"))


def snapshot(emu: Emulator, http: requests.Session) -> tuple[dict[str, Any], list[str]]:
    return session(emu, http), archive_files(emu)


def prearchive(emu: Emulator, http: requests.Session) -> list[dict[str, str]]:
    return http.get(emu.url + "/data/prearchive/projects", params={"format": "json"}).json()["ResultSet"]["Result"]


def test_appending_a_series_merges_into_the_session(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert send(emu, http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    r = http.put(emu.url + "/data" + DEST, params={"xsiType": "xnat:mrSessionData", "scanner": "EDITED"})
    assert r.status_code == 200
    assert send(emu, http, tmp_path, only(STUDY, 1), dest=DEST, overwrite="append").status_code == 200
    item = session(emu, http)
    assert sorted(scans(item)) == ["1", "2"]
    assert item["data_fields"]["scanner"] == "EDITED"  # a merge keeps what was edited since
    t2 = scans(item)["2"]
    assert (t2["type"], t2["series_description"], t2["quality"], t2["frames"]) == ("T2w_SPC", "T2w_SPC", "usable", 3)
    assert len(archive_files(emu)) == 6


def test_a_new_series_under_a_taken_number_is_renumbered(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert send(emu, http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    clash = STUDY.with_series(SeriesSpec(1, "T1w_repeat", uid="2.25.777"))
    assert send(emu, http, tmp_path, clash, dest=DEST, overwrite="append").status_code == 200
    got = scans(session(emu, http))
    assert {k: v["UID"] for k, v in got.items()} == {"1": STUDY.series_uid(0), "1-MR1": "2.25.777"}
    assert "CCF_TEST/arc001/session1/SCANS/1-MR1/DICOM/0001.dcm" in archive_files(emu)


def test_a_different_study_under_the_label_is_refused(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert send(emu, http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emu, http)
    other = StudySpec(seed="other-study").with_series(SeriesSpec(2, "T2w_SPC"))
    r = send(emu, http, tmp_path, other, dest=DEST, overwrite="append")
    assert r.status_code == 409
    assert "<h3>Invalid modification of session UID via archive process.</h3>" in r.text
    assert snapshot(emu, http) == before
    (row,) = prearchive(emu, http)
    assert row["status"] == "CONFLICT"
    # The archive service refuses it too (merging is allowed there, the UID check is not
    # overridden without `overwrite`) and the row stays CONFLICT ...
    r = http.post(emu.url + "/data/services/archive", params={"src": row["url"]})
    assert r.status_code == 409 and "Invalid modification of session UID" in r.text
    assert snapshot(emu, http) == before and prearchive(emu, http)[0]["status"] == "CONFLICT"
    # ... until overwrite=delete overrides the check (XNAT's overrideExceptions).
    r = http.post(emu.url + "/data/services/archive", params={"src": row["url"], "overwrite": "delete"})
    assert r.status_code == 200 and sorted(scans(session(emu, http))) == ["1", "2"]


def test_a_known_series_under_another_number_is_refused(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert send(emu, http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emu, http)
    renumbered = STUDY.with_series(SeriesSpec(5, "T1w_MPR", uid=STUDY.series_uid(0)))
    r = send(emu, http, tmp_path, renumbered, dest=DEST, overwrite="append")
    assert r.status_code == 409
    assert "<h3>Session already contains a scan with the same UID, but a different number (1).</h3>" in r.text
    assert snapshot(emu, http) == before


def test_the_label_taken_by_another_subject_is_refused(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert send(emu, http, tmp_path, only(STUDY, 0), dest=DEST).status_code == 200
    before = snapshot(emu, http)
    r = send(emu, http, tmp_path, only(STUDY, 1), dest=DEST.replace("sub1", "sub2"), overwrite="append")
    assert r.status_code == 409 and "Invalid modification of session subject via archive process." in r.text
    assert snapshot(emu, http) == before
    assert http.get(emu.url + "/data/projects/CCF_TEST/subjects/sub2", params={"format": "json"}).status_code == 404


def test_subjects_match_case_insensitively(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    assert http.put(emu.url + "/data/projects/CCF_TEST/subjects/SUB1").status_code == 201
    r = send(emu, http, tmp_path, STUDY, dest=DEST)
    assert r.text == "/data/archive/projects/CCF_TEST/subjects/SUB1/experiments/session1\r\n"
    subjects = http.get(emu.url + "/data/projects/CCF_TEST/subjects", params={"format": "json"}).json()
    assert [s["label"] for s in subjects["ResultSet"]["Result"]] == ["SUB1"]


def wait_until_gone(emu: Emulator, http: requests.Session, status: str | None = None) -> None:
    deadline = time.monotonic() + 5
    while True:
        rows = prearchive(emu, http)
        if (status is None and not rows) or (status is not None and [r["status"] for r in rows] == [status]):
            return
        assert time.monotonic() < deadline, rows
        time.sleep(0.02)


@pytest.mark.parametrize(("code", "outcome"), [("4", "CONFLICT"), ("5", None)])
def test_a_resent_study_in_an_auto_archive_project(
    emu: Emulator, http: requests.Session, tmp_path: Path, code: str, outcome: str | None
) -> None:
    """Code 4 merges but refuses instances already archived (the row turns CONFLICT, nothing
    changes); code 5 replaces them, so nothing is duplicated either way."""
    assert http.put(emu.url + f"/data/projects/CCF_TEST/prearchive_code/{code}").status_code == 200
    routed = StudySpec(patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")
    assert send(emu, http, tmp_path, routed).status_code == 200
    wait_until_gone(emu, http)
    before = snapshot(emu, http)
    emu.prearchive_worker.quiet_seconds = 3600  # no partial archive while the study arrives
    assert send(emu, http, tmp_path, routed).status_code == 200
    emu.prearchive_worker.quiet_seconds = 0.2
    wait_until_gone(emu, http, outcome)
    item, files = snapshot(emu, http)
    assert files == before[1]
    assert sorted(scans(item)) == ["1", "2"]
    if outcome == "CONFLICT":
        assert item == before[0]
