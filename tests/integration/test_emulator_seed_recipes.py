"""The HCP seed page's metadata PUTs, run verbatim with the real curl against `xsync emulator
serve`-style URLs (the import recipe is covered by the ingest tests)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.integration.emulator_http import item, rows, session
from xsync.emulator import Emulator

CURL = shutil.which("curl")


def curl(*args: str) -> tuple[str, str]:
    assert CURL, "curl is required for these tests"
    done = subprocess.run([CURL, "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
    body, _, code = done.stdout.rpartition("\n")
    return code, body


@pytest.mark.parametrize("emulator", [{"projects": ("CCF_TEST",)}], indirect=True)
def test_seed_metadata_puts_with_curl(emulator: Emulator) -> None:
    u = emulator.url
    code, body = curl(
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{u}/REST/projects/CCF_TEST/subjects/sub1?xsiType=xnat:subjectData&gender=female&age=25",
    )
    assert (code, body) == ("201", "XNAT_S00001")
    code, body = curl(
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{u}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1?xsiType=xnat:mrSessionData&xnat:mrSessionData/scanner=SIEMENS",
    )
    assert (code, body) == ("201", "XNAT_E00001")
    code, body = curl(
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{u}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1/scans/1"
        "?xsiType=xnat:mrScanData&xnat:mrScanData/type=T1w&xnat:mrScanData/series_description=Structural",
    )
    assert (code, body) == ("200", "")
    # The same PUTs with shortcut names instead of xpaths.
    code, body = curl(
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{u}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1?xsiType=xnat:mrSessionData&scanner=SIEMENS",
    )
    assert (code, body) == ("200", "XNAT_E00001")
    code, body = curl(
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{u}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1/scans/1"
        "?xsiType=xnat:mrScanData&type=T1w&series_description=Structural",
    )
    assert (code, body) == ("200", "")
    # Repeating a PUT updates: 200 with the ID.
    code, body = curl(
        "-u", "admin:admin", "-X", "PUT", f"{u}/REST/projects/CCF_TEST/subjects/sub1?xsiType=xnat:subjectData&age=26"
    )
    assert (code, body) == ("200", "XNAT_S00001")
    s = session(emulator)
    (subject,) = rows(s.get(f"{u}/data/projects/CCF_TEST/subjects", params={"columns": "label,gender,age"}))
    assert (subject["gender"], subject["age"]) == ("female", "26")
    sess = item(s.get(f"{u}/data/projects/CCF_TEST/experiments/session1", params={"format": "json"}))
    assert sess["data_fields"]["scanner"] == "SIEMENS"
    (scan,) = rows(s.get(f"{u}/data/experiments/XNAT_E00001/scans"))
    assert (scan["type"], scan["series_description"]) == ("T1w", "Structural")


@pytest.mark.parametrize("emulator", [{"projects": ("CCF_TEST",)}], indirect=True)
def test_curl_custom_variable_unencoded(emulator: Emulator) -> None:
    emulator.seed.add_session("CCF_TEST", "sub1", "session1")
    code, body = curl(
        "-g",
        "-u",
        "admin:admin",
        "-X",
        "PUT",
        f"{emulator.url}/data/projects/CCF_TEST/subjects/sub1/experiments/session1?xnat:mrSessionData/fields/field[name=test01]/field=12",
    )
    assert (code, body) == ("200", "XNAT_E00001")
    assert emulator.store.experiment("CCF_TEST", "session1").custom == {"test01": "12"}  # type: ignore[union-attr]
