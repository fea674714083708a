"""XNAT's own expectations (NRG's xnat-rest-tests) for its own sample DICOM, checked through the
emulator's import service and read back as item JSON over real HTTP.

The 9 sample files are a subset of the study NRG's goldens describe. Two golden session fields
come from attributes no file of the subset carries (OperatorsName, StudyComments); for those the
test shows they are absent here for that reason, and the synthetic-data tests cover both fields.
`frames` counts the full series in the golden, so it is compared with the subset's count.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
import requests

from xsync.emulator import Emulator

pytestmark = [
    pytest.mark.nrg,
    pytest.mark.parametrize("emulator", [{"projects": ("NRG",), "quiet_seconds": 60}], indirect=True),
]

DEST = "/archive/projects/NRG/subjects/sample/experiments/sample_mr"
ABSENT_FROM_SUBSET = {"operator": "OperatorsName", "studyComments": "StudyComments"}


def sample_files(nrg_root: Path) -> dict[str, bytes]:
    """The gunzipped sample files by their own names (`1.MR.head_DHead.4.1....dcm`)."""
    return {
        p.name[: -len(".gz")]: gzip.decompress(p.read_bytes())
        for p in sorted((nrg_root / "sample-mr").glob("*.dcm.gz"))
    }


def sample_zip(nrg_root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in sample_files(nrg_root).items():
            zf.writestr(name, data)
    return buf.getvalue()


def import_zip(emulator: Emulator, admin_http: requests.Session, body: bytes, **params: str) -> requests.Response:
    return admin_http.post(
        emulator.url + "/data/services/import", data=body, params=params, headers={"Content-Type": "application/zip"}
    )


def item(admin_http: requests.Session, url: str) -> dict[str, Any]:
    r = admin_http.get(url, params={"format": "json"})
    assert r.status_code == 200, r.text
    return r.json()["items"][0]


def children(node: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return next((c["items"] for c in node["children"] if c["field"] == field), [])


def file_names(admin_http: requests.Session, emulator: Emulator, scan: str) -> set[str]:
    r = admin_http.get(f"{emulator.url}/data{DEST}/scans/{scan}/resources/DICOM/files", params={"format": "json"})
    assert r.status_code == 200
    return {f["Name"] for f in r.json()["ResultSet"]["Result"]}


def test_session_and_scan_fields_match_nrg_goldens(
    emulator: Emulator, admin_http: requests.Session, nrg_root: Path
) -> None:
    r = import_zip(
        emulator, admin_http, sample_zip(nrg_root), **{"import-handler": "DICOM-zip", "dest": DEST, "rename": "true"}
    )
    assert (r.status_code, r.text) == (200, f"/data{DEST}\r\n")
    session = item(admin_http, f"{emulator.url}/data{DEST}")
    assert session["meta"]["xsi:type"] == "xnat:mrSessionData"
    fields = dict(session["data_fields"])
    fields.update({c["data_fields"]["name"]: c["data_fields"]["field"] for c in children(session, "fields/field")})

    golden = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSessionAttributes.json").read_text())
    headers = [pydicom.dcmread(io.BytesIO(d), stop_before_pixels=True) for d in sample_files(nrg_root).values()]
    for key, attribute in ABSENT_FROM_SUBSET.items():
        assert all(attribute not in ds for ds in headers)  # the reason these two are not compared
        assert key not in fields
    expected = {k: v for k, v in golden.items() if k not in ABSENT_FROM_SUBSET}
    assert {k: fields.get(k) for k in expected} == expected

    scan = item(admin_http, f"{emulator.url}/data{DEST}/scans/4")
    golden_scan = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSeriesAttributes.json").read_text())
    got = scan["data_fields"]
    for key, value in golden_scan.items():
        if key == "frames":
            assert got[key] == 5  # the subset holds 5 of series 4's images
        else:
            assert got.get(key) == value, key
            assert type(got[key]) is type(value) or isinstance(value, float), (key, got[key], value)
    assert scan["meta"]["xsi:type"] == "xnat:mrScanData"


def test_file_names_with_and_without_rename(emulator: Emulator, admin_http: requests.Session, nrg_root: Path) -> None:
    renamed = json.loads((nrg_root / "rest-tests/filenames/sample1.json").read_text())
    originals = json.loads((nrg_root / "rest-tests/filenames/sample1_orig_names.json").read_text())
    r = import_zip(emulator, admin_http, sample_zip(nrg_root), dest=DEST, rename="true")
    assert r.status_code == 200
    by_scan: dict[str, set[str]] = {}
    for scan in ("4", "5", "6"):
        by_scan[scan] = file_names(admin_http, emulator, scan)
        golden = next(set(s["resources"]["DICOM"]) for s in renamed if s["scanId"] == scan)
        assert by_scan[scan] and by_scan[scan] <= golden
    assert sum(len(v) for v in by_scan.values()) == 9

    other = DEST.replace("sample_mr", "kept_names")
    assert import_zip(emulator, admin_http, sample_zip(nrg_root), dest=other).status_code == 200
    kept = {
        f["Name"]
        for f in admin_http.get(
            f"{emulator.url}/data{other}/scans/4/resources/DICOM/files", params={"format": "json"}
        ).json()["ResultSet"]["Result"]
    }
    golden_kept = next(set(s["resources"]["DICOM"]) for s in originals if s["scanId"] == "4")
    assert kept <= golden_kept and len(kept) == 5


def test_scan1_scan2_append_and_scan2_diff_uid_is_refused(
    emulator: Emulator, admin_http: requests.Session, nrg_root: Path
) -> None:
    zips = nrg_root / "rest-tests"
    dest = "/archive/projects/NRG/subjects/SPP_0x220790/experiments/SPP_0x220790_MRI"
    assert import_zip(emulator, admin_http, (zips / "scan1.zip").read_bytes(), dest=dest).status_code == 200
    r = import_zip(emulator, admin_http, (zips / "scan2.zip").read_bytes(), dest=dest, overwrite="append")
    assert r.status_code == 200
    session = item(admin_http, emulator.url + "/data" + dest)
    assert sorted(s["data_fields"]["ID"] for s in children(session, "scans/scan")) == ["1", "2"]
    files_before = sorted(p.as_posix() for p in (emulator.store.root / "archive").rglob("*.dcm"))
    assert len(files_before) == 32

    r = import_zip(emulator, admin_http, (zips / "scan2_diffUID.zip").read_bytes(), dest=dest, overwrite="append")
    assert r.status_code == 409
    assert "<h3>Invalid modification of session UID via archive process.</h3>" in r.text
    assert item(admin_http, emulator.url + "/data" + dest) == session
    assert sorted(p.as_posix() for p in (emulator.store.root / "archive").rglob("*.dcm")) == files_before
    (row,) = admin_http.get(emulator.url + "/data/prearchive/projects/NRG", params={"format": "json"}).json()[
        "ResultSet"
    ]["Result"]
    assert row["status"] == "CONFLICT"
