"""Direct-to-archive import (`Direct-Archive=true`, XNAT 1.8.3+) over real HTTP: the files go to
the archive folder with no prearchive row, the importer answers the `/xapi/direct-archive` URI,
the session reaches the archive after the quiet period or when triggered, and what falls back
to the prearchive does so as XNAT's source says."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.integration.emulator_http import h3, rows, session
from xsync.emulator import Emulator
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes, zip_study

IMPORT = "/data/services/import"
DIRECT = {"Direct-Archive": "true", "PROJECT_ID": "P", "SUBJECT_ID": "sub1", "EXPT_LABEL": "sess1"}
TWO_USERS = [
    {
        "projects": ("P", "Q"),
        "users": {"admin": "admin", "alice": "pw"},
        "admins": frozenset({"admin"}),
        "quiet_seconds": 60,
    }
]


def post_zip(
    emu: Emulator, body: bytes, user: tuple[str, str] = ("admin", "admin"), **params: str
) -> requests.Response:
    s = session(emu, *user)
    return s.post(emu.url + IMPORT, params=params, data=body, headers={"Content-Type": "application/zip"})


def study(tmp_path: Path, spec: StudySpec | None = None) -> bytes:
    spec = spec or StudySpec()
    return zip_study(spec, tmp_path / f"{spec.patient_id}-{spec.study_date}.zip").read_bytes()


def labels(emu: Emulator, project: str = "P") -> list[str]:
    return [r["label"] for r in rows(session(emu).get(emu.url + f"/data/projects/{project}/experiments"))]


def prearchive_rows(emu: Emulator) -> list[dict[str, str]]:
    return rows(session(emu).get(emu.url + "/data/prearchive/projects", params={"format": "json"}))


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_import_writes_to_the_archive_folder_without_a_prearchive_row(emulator: Emulator, tmp_path: Path) -> None:
    r = post_zip(emulator, study(tmp_path), **DIRECT)
    uid = StudySpec().uid
    assert (r.status_code, r.text) == (200, f"/xapi/direct-archive/P/{uid}/sess1\r\n")
    status = session(emulator).get(emulator.url + r.text.strip())
    assert status.status_code == 200
    data = status.json()
    assert (data["status"], data["project"], data["subject"], data["name"], data["tag"]) == (
        "RECEIVING",
        "P",
        "sub1",
        "sess1",
        uid,
    )
    assert data["url"].endswith("/archive/P/arc001/sess1")
    assert data["externalUrl"] == f"/prearchive/projects/P/{data['timestamp']}/sess1"
    assert len(list(Path(data["url"]).rglob("*.dcm"))) == 6
    assert prearchive_rows(emulator) == []
    assert labels(emulator) == []  # nothing is archived by the request


def test_trigger_archives_the_session(emulator: Emulator, tmp_path: Path) -> None:
    uri = post_zip(emulator, study(tmp_path), **DIRECT).text.strip()
    s = session(emulator)
    assert (s.post(emulator.url + uri).status_code, labels(emulator)) == (200, ["sess1"])
    gone = s.get(emulator.url + uri)
    assert (gone.status_code, gone.text) == (
        404,
        "Unable to find requested file or resource: No matching direct archive session",
    )
    scans = rows(s.get(emulator.url + "/data/projects/P/subjects/sub1/experiments/sess1/scans"))
    assert [(x["ID"], x["type"]) for x in scans] == [("1", "T1w_MPR"), ("2", "T2w_SPC")]
    files = rows(s.get(emulator.url + "/data/projects/P/experiments/sess1/scans/1/resources/DICOM/files"))
    assert len(files) == 3
    assert len(list((emulator.store.root / "archive/P/arc001/sess1/SCANS/1/DICOM").glob("*.dcm"))) == 3
    assert prearchive_rows(emulator) == []


@pytest.mark.parametrize("emulator", [{"quiet_seconds": 0.2}], indirect=True)
def test_archived_after_the_quiet_period(emulator: Emulator, tmp_path: Path) -> None:
    single = to_bytes(make_dataset(StudySpec(), 0, 1))
    r = session(emulator).post(
        emulator.url + IMPORT, params=DIRECT, data=single, headers={"Content-Type": "application/dicom"}
    )
    assert r.text.startswith("/xapi/direct-archive/P/")  # gradual-DICOM honours it too
    wait_for(lambda: labels(emulator) == ["sess1"])
    assert session(emulator).get(emulator.url + r.text.strip()).status_code == 404
    assert prearchive_rows(emulator) == []


def test_more_files_of_the_study_join_the_session(emulator: Emulator, tmp_path: Path) -> None:
    first = StudySpec(series=(SeriesSpec(1, "T1w_MPR"),))
    second = StudySpec(series=(SeriesSpec(1, "T1w_MPR"), SeriesSpec(2, "T2w_SPC")), seed=first.seed)
    uri = post_zip(emulator, study(tmp_path, first), **DIRECT).text
    assert post_zip(emulator, zip_study(second, tmp_path / "second.zip").read_bytes(), **DIRECT).text == uri
    listed = session(emulator).post(emulator.url + "/xapi/direct-archive", json={}).json()
    assert [(x["name"], x["status"]) for x in listed] == [("sess1", "RECEIVING")]
    session(emulator).post(emulator.url + uri.strip())
    scans = rows(session(emulator).get(emulator.url + "/data/projects/P/experiments/sess1/scans"))
    assert [x["ID"] for x in scans] == ["1", "2"]


def test_without_a_project_the_prearchive_takes_it(emulator: Emulator, tmp_path: Path) -> None:
    r = post_zip(emulator, study(tmp_path), **{"Direct-Archive": "true"})
    assert r.text.startswith("/data/prearchive/projects/Unassigned/")
    assert [x["project"] for x in prearchive_rows(emulator)] == ["Unassigned"]


def test_study_sent_again_after_archiving_goes_to_the_prearchive(emulator: Emulator, tmp_path: Path) -> None:
    body = study(tmp_path)
    session(emulator).post(emulator.url + post_zip(emulator, body, **DIRECT).text.strip())
    again = post_zip(emulator, body, overwrite="append", **DIRECT)
    assert again.status_code == 200 and again.text.startswith("/data/prearchive/projects/P/")
    (row,) = prearchive_rows(emulator)
    assert (row["status"], row["name"]) == ("RECEIVING", "sess1")


def test_zip_with_a_dest_fails_the_commit(emulator: Emulator, tmp_path: Path) -> None:
    dest = "/archive/projects/P/subjects/sub1/experiments/sess1"
    r = post_zip(emulator, study(tmp_path), dest=dest, **{"Direct-Archive": "true"})
    assert (r.status_code, h3(r)) == (400, "unable to archive for the Prearchive session")
    listed = session(emulator).post(emulator.url + "/xapi/direct-archive", json={}).json()
    assert [(x["name"], x["subject"], x["status"]) for x in listed] == [("sess1", "sub1", "RECEIVING")]
    assert labels(emulator) == [] and prearchive_rows(emulator) == []


def test_refused_archive_moves_the_files_to_the_prearchive(emulator: Emulator, tmp_path: Path) -> None:
    emulator.seed.add_session("P", "sub1", "sess1")  # same label, no folder: created by a PUT
    uri = post_zip(emulator, study(tmp_path), **DIRECT).text.strip()
    assert session(emulator).post(emulator.url + uri).status_code == 200
    assert session(emulator).get(emulator.url + uri).status_code == 404
    (row,) = prearchive_rows(emulator)
    assert (row["status"], row["name"], row["project"]) == ("ERROR", "sess1", "P")
    files = rows(session(emulator).get(emulator.url + "/data" + row["url"] + "/scans/1/resources/DICOM/files"))
    assert len(files) == 3
    assert not (emulator.store.root / "archive/P/arc001/sess1").exists()


def test_session_importer_ignores_it(emulator: Emulator, tmp_path: Path) -> None:
    r = post_zip(emulator, study(tmp_path), **{"import-handler": "SI", **DIRECT})
    assert r.status_code == 200 and not r.text.startswith("/xapi/")


@pytest.mark.parametrize("emulator", TWO_USERS, indirect=True)
def test_status_api_permissions(emulator: Emulator, tmp_path: Path) -> None:
    emulator.seed.add_project("Q", members=["alice"])
    uri = post_zip(emulator, study(tmp_path), **DIRECT).text.strip()
    alice = session(emulator, "alice", "pw")
    assert alice.get(emulator.url + uri).status_code == 403
    denied = alice.post(emulator.url + uri)
    assert (denied.status_code, denied.text) == (403, "User cannot trigger archive for project P")
    assert alice.post(emulator.url + "/xapi/direct-archive", json={}).json() == []
    sid = session(emulator).get(emulator.url + uri).json()["id"]
    assert alice.delete(emulator.url + f"/xapi/direct-archive/{sid}").status_code == 403
    assert session(emulator).delete(emulator.url + f"/xapi/direct-archive/{sid}").status_code == 200
    assert session(emulator).get(emulator.url + uri).status_code == 404
    assert session(emulator).delete(emulator.url + f"/xapi/direct-archive/{sid}").status_code == 404
    assert (emulator.store.root / "archive/P/arc001/sess1").is_dir()  # deleting forgets, the files stay
    assert requests.get(emulator.url + uri).status_code == 401
