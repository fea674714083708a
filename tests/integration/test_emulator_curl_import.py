"""The seed's import recipe, run verbatim with the real `/usr/bin/curl`:

    curl -u admin:admin -X POST "http://HOST/REST/services/import?inbody=true&import-handler=DICOM-zip
         &dest=/prearchive/projects/CCF_TEST" --data-binary @dicoms.zip

curl sends the zip as `application/x-www-form-urlencoded`; the emulator recognises the zip by
its bytes. The resulting prearchive row / archived session is then read over HTTP.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from xsync.emulator import Emulator
from xsync.testing.dicomgen import StudySpec, zip_study

CURL = "/usr/bin/curl"

pytestmark = pytest.mark.parametrize("emulator", [{"projects": ("CCF_TEST",), "quiet_seconds": 60}], indirect=True)


@pytest.fixture
def dicoms(tmp_path: Path) -> Path:
    return zip_study(StudySpec(), tmp_path / "dicoms.zip")


def curl_import(emulator: Emulator, dicoms: Path, dest: str) -> str:
    host = emulator.url.removeprefix("http://")
    command = [
        CURL, "-u", "admin:admin", "-X", "POST",
        f"http://{host}/REST/services/import?inbody=true&import-handler=DICOM-zip&dest={dest}",
        "--data-binary", "@dicoms.zip",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=dicoms.parent, capture_output=True, timeout=30, check=True)
    return done.stdout.decode()  # bytes first: text mode would turn the CRLF into LF


def test_curl_import_to_the_prearchive(emulator: Emulator, admin_http: requests.Session, dicoms: Path) -> None:
    body = curl_import(emulator, dicoms, "/prearchive/projects/CCF_TEST")
    assert body.startswith("/data/prearchive/projects/CCF_TEST/") and body.endswith("/SYN001\r\n")
    rows = admin_http.get(emulator.url + "/data/prearchive/projects/CCF_TEST", params={"format": "json"}).json()
    (row,) = rows["ResultSet"]["Result"]
    assert ("/data" + row["url"] + "\r\n", row["status"]) == (body, "READY")
    scans = admin_http.get(emulator.url + body.strip() + "/scans", params={"format": "json"}).json()["ResultSet"][
        "Result"
    ]
    assert [s["ID"] for s in scans] == ["1", "2"]


def test_curl_import_to_the_archive(emulator: Emulator, admin_http: requests.Session, dicoms: Path) -> None:
    dest = "/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
    assert curl_import(emulator, dicoms, dest) == f"/data{dest}\r\n"
    r = admin_http.get(
        emulator.url + "/data/projects/CCF_TEST/subjects/sub1/experiments/session1", params={"format": "json"}
    )
    assert r.status_code == 200
    session = r.json()["items"][0]
    scans = next(c["items"] for c in session["children"] if c["field"] == "scans/scan")
    assert [(s["data_fields"]["ID"], s["data_fields"]["type"]) for s in scans] == [("1", "T1w_MPR"), ("2", "T2w_SPC")]
