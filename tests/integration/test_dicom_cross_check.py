"""The tool's predictions against what the emulator (an independent reading of XNAT's source)
ends up with, and both against NRG's goldens.

For each study the same files are (1) scanned by `xsync.inventory` and turned into predictions
(`xsync.plan.predict`), and (2) imported into the emulator over HTTP (the import service with a
zip, archive dest), then read back as item JSON and through the tool's own reader. Compared:
session xsi type, scan IDs in order, series -> scan mapping, scan xsi types, frames, every
session and scan field the tool predicts, and the instance counts the plan compares.
"""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from xsync.emulator import Emulator
from xsync.inventory import scan as scan_inventory
from xsync.model.inventory import Study
from xsync.plan.predict import scan_fields, session_fields
from xsync.testing.dicomgen import (
    CT_IMAGE,
    PET_IMAGE,
    SECONDARY_CAPTURE,
    SeriesSpec,
    StudySpec,
    make_uid,
    write_study,
    zip_studies,
)
from xsync.xnat.client import XnatClient
from xsync.xnat.read import SCAN_TYPE_PROBES, read_project
from xsync.xnat.settings import ConnectionSettings, Credentials


@dataclass(frozen=True)
class ScanView:
    id: str
    uid: str
    xsi_type: str
    frames: int
    fields: dict[str, str]  # the fields compared (predicted ones, or the server's values of those)


@dataclass(frozen=True)
class SessionView:
    uid: str
    xsi_type: str
    fields: dict[str, str]
    scans: tuple[ScanView, ...]  # in order


def predicted(study: Study) -> SessionView:
    return SessionView(
        uid=study.uid,
        xsi_type=study.session_xsi_type,
        fields=session_fields(study),
        scans=tuple(ScanView(s.scan_id, s.uid, s.scan_xsi_type, s.frames, scan_fields(s, study)) for s in study.series),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def served(item: dict[str, Any], like: SessionView) -> SessionView:
    """The server's session in the shape of `like`, keeping the fields `like` has."""
    fields = item["data_fields"]
    scans_items = next((c["items"] for c in item["children"] if c["field"] == "scans/scan"), [])
    predicted_scans = {s.uid: s for s in like.scans}
    scans = []
    for it in scans_items:
        f = it["data_fields"]
        wanted = predicted_scans.get(f["UID"])
        keep = wanted.fields if wanted else {}
        scans.append(
            ScanView(
                f["ID"],
                f["UID"],
                it["meta"]["xsi:type"],
                int(f.get("frames", 0)),
                {k: _text(f[k]) for k in keep if k in f},
            )
        )
    return SessionView(
        uid=fields["UID"],
        xsi_type=item["meta"]["xsi:type"],
        fields={k: _text(fields[k]) for k in like.fields if k in fields},
        scans=tuple(scans),
    )


def import_zip(emulator: Emulator, http: requests.Session, body: bytes, dest: str) -> list[str]:
    r = http.post(
        emulator.url + "/data/services/import",
        params={"import-handler": "DICOM-zip", "dest": dest},
        data=body,
        headers={"Content-Type": "application/zip"},
    )
    assert r.status_code == 200, r.text[:500]
    return r.text.split()


def session_item(emulator: Emulator, http: requests.Session, uri: str) -> dict[str, Any]:
    r = http.get(emulator.url + uri, params={"format": "json"})
    assert r.status_code == 200, r.text[:300]
    items: list[dict[str, Any]] = r.json()["items"]
    return items[0]


def remote_counts(emulator: Emulator) -> dict[str, dict[str, int]]:
    """Study UID -> scan ID -> the instance count the plan compares, as the tool reads it."""
    with XnatClient(ConnectionSettings(emulator.url, Credentials("admin", "admin"))) as client:
        state = read_project(client, "P", probe_scan_types=SCAN_TYPE_PROBES, count_sessions="all")
    return {
        se.fields["UID"]: {sc.id: sc.dicom_file_count for sc in se.scans.values()}
        for s in state.subjects.values()
        for se in s.sessions.values()
    }


def check_import(emulator: Emulator, http: requests.Session, root: Path, body: bytes) -> list[SessionView]:
    """Import `body` (the files under `root`) and compare the server with the predictions."""
    inventory = scan_inventory([root])
    assert [d for d in inventory.diagnostics if d.severity.name == "ERROR"] == []
    uris = import_zip(emulator, http, body, "/archive/projects/P")
    assert len(uris) == len(inventory.studies)
    expected = {study.uid: predicted(study) for study in inventory.studies}
    views = []
    for uri in uris:
        item = session_item(emulator, http, uri)
        want = expected[item["data_fields"]["UID"]]
        got = served(item, want)
        assert got == want
        views.append(got)
    counts = remote_counts(emulator)
    for study in inventory.studies:
        assert counts[study.uid] == {s.scan_id: s.n_instances for s in study.series}
    return views


def zipped(tmp_path: Path, *studies: StudySpec) -> tuple[Path, bytes]:
    """The studies as files under a folder (for the inventory) and as one zip (for the import)."""
    root = tmp_path / "dicom"
    for study in studies:
        write_study(study, root / study.patient_id)
    return root, zip_studies(list(studies), tmp_path / "upload.zip").read_bytes()


# -- generated studies -----------------------------------------------------------------------
BASE = StudySpec(patient_id="XC001", patient_name="Cross^Check", seed="cross-check")


def scan_ids(view: SessionView) -> list[str]:
    return [s.id for s in view.scans]


def test_multi_echo_as_series_sharing_a_number(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    study = BASE.with_series(
        SeriesSpec(1, "T1w", 2),
        SeriesSpec(5, "ME_e1", 2, echo_time=2.5, uid=make_uid("xc", "e1")),
        SeriesSpec(5, "ME_e2", 2, echo_time=5.0, uid=make_uid("xc", "e2")),
    )
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, study))
    assert scan_ids(view) == ["1", "5-MR1", "5-MR2"]
    by_uid = {s.uid: s.id for s in view.scans}
    first, second = sorted([make_uid("xc", "e1"), make_uid("xc", "e2")])
    assert (by_uid[first], by_uid[second]) == ("5-MR1", "5-MR2")  # taken in UID order


def test_multi_echo_within_one_series(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    study = BASE.with_series(SeriesSpec(3, "ME", 4, echo_times=(2.5, 5.0)))
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, study))
    assert scan_ids(view) == ["3"] and view.scans[0].frames == 4
    scan = session_item(emulator, admin_http, "/data/projects/P/subjects/Cross_Check/experiments/XC001/scans/3")
    params = {c["data_fields"]["name"]: c["data_fields"]["addParam"] for c in _children(scan, "parameters/addParam")}
    assert params == {"MultiEcho_TE1": "2.5", "MultiEcho_TE2": "5"}


def _children(item: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return next((c["items"] for c in item["children"] if c["field"] == field), [])


def test_secondary_captures_inside_an_mr_study(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    study = BASE.with_series(
        SeriesSpec(1, "T1w", 2),
        SeriesSpec(2, "T2w", 3, secondary_instances=(3,)),  # a screenshot inside an MR series
        SeriesSpec(99, "Screenshot", 2, modality="OT", sop_class_uid=SECONDARY_CAPTURE),
    )
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, study))
    assert view.xsi_type == "xnat:mrSessionData"
    assert [(s.id, s.xsi_type, s.frames) for s in view.scans] == [
        ("1", "xnat:mrScanData", 2),
        ("2", "xnat:mrScanData", 2),  # the screenshot is no frame
        ("99", "xnat:scScanData", 0),  # secondary captures are no primary imaging class
    ]
    assert "modality" not in view.fields  # MR and OT files: XNAT keeps no session modality
    base = "/data/projects/P/subjects/Cross_Check/experiments/XC001/scans"
    resources = {
        scan: {
            r["label"]: (r["content"], r["file_count"])
            for r in admin_http.get(f"{emulator.url}{base}/{scan}/resources", params={"format": "json"}).json()[
                "ResultSet"
            ]["Result"]
        }
        for scan in ("2", "99")
    }
    assert resources == {
        "2": {"DICOM": ("RAW", "2"), "secondary": ("secondary", "1")},
        "99": {"secondary": ("secondary", "2")},
    }


def test_missing_series_numbers(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    study = BASE.with_series(SeriesSpec(3, "T2w", 1), SeriesSpec(None, "unnumbered", 2), SeriesSpec(1, "T1w", 1))
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, study))
    uid_id = study.series_uid(1).replace(".", "_")
    assert uid_id.startswith("2_25_")
    assert scan_ids(view) == ["1", uid_id, "3"]  # a UID-derived ID sorts as text: "1" < "2_25_..." < "3"


def test_duplicate_series_numbers_across_modalities(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    series = (
        SeriesSpec(4, "mr", 1, uid=make_uid("dup", "a")),
        SeriesSpec(4, "ct", 1, modality="CT", sop_class_uid=CT_IMAGE, uid=make_uid("dup", "b")),
        SeriesSpec(4, "sc", 1, modality="OT", sop_class_uid=SECONDARY_CAPTURE, uid=make_uid("dup", "c")),
        SeriesSpec(4, "mr2", 1, uid=make_uid("dup", "d")),
    )
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, BASE.with_series(*series)))
    assert view.xsi_type == "xnat:mrSessionData"
    kinds = {s.uid: (s.id.rsplit("-", 1)[1][:2], s.xsi_type) for s in view.scans}
    assert sorted(kinds.values()) == [
        ("CT", "xnat:ctScanData"),
        ("MR", "xnat:mrScanData"),
        ("MR", "xnat:mrScanData"),
        ("OT", "xnat:scScanData"),
    ]
    assert sorted(scan_ids(view)) == ["4-CT1", "4-MR1", "4-MR2", "4-OT1"]


def test_pet_with_mr_is_one_pet_mr_session(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    study = BASE.with_series(SeriesSpec(1, "T1w", 1), SeriesSpec(2, "PET", 2, modality="PT", sop_class_uid=PET_IMAGE))
    [view] = check_import(emulator, admin_http, *zipped(tmp_path, study))
    assert view.xsi_type == "xnat:petmrSessionData"
    assert [s.xsi_type for s in view.scans] == ["xnat:mrScanData", "xnat:petScanData"]


def test_two_studies_in_one_upload(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    a = replace_patient(BASE, "XC_A", "Alpha^One")
    b = replace_patient(BASE, "XC_B", "Beta^Two").with_series(SeriesSpec(7, "DWI", 2))
    root, body = zipped(tmp_path, a, b)
    # Into the prearchive: one row per study.
    uris = import_zip(emulator, admin_http, body, "/prearchive/projects/P")
    rows = admin_http.get(emulator.url + "/data/prearchive/projects/P", params={"format": "json"}).json()
    assert len(uris) == 2
    assert sorted((r["name"], r["tag"]) for r in rows["ResultSet"]["Result"]) == [
        ("XC_A", a.uid),
        ("XC_B", b.uid),
    ]
    for uri in uris:
        assert admin_http.delete(emulator.url + uri).status_code == 200
    # Into the archive: one session per study, as predicted.
    views = check_import(emulator, admin_http, root, body)
    assert sorted((v.uid, tuple(scan_ids(v))) for v in views) == sorted([(a.uid, ("1", "2")), (b.uid, ("7",))])


def replace_patient(study: StudySpec, patient_id: str, name: str) -> StudySpec:
    return replace(study, patient_id=patient_id, patient_name=name)


# -- NRG's goldens ---------------------------------------------------------------------------
NRG_SUBSET_ABSENT = ("operator", "studyComments")  # attributes the 9 sample files do not carry


@pytest.fixture
def nrg_sample(nrg_root: Path, tmp_path: Path) -> tuple[Path, bytes]:
    """The 9 sample files (gzipped, as the inventory reads them) and a zip of them unzipped."""
    root = tmp_path / "sample"
    root.mkdir()
    buf = tmp_path / "sample.zip"
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted((nrg_root / "sample-mr").glob("*.dcm.gz")):
            shutil.copy(p, root / p.name)
            zf.writestr(p.name[: -len(".gz")], gzip.decompress(p.read_bytes()))
    return root, buf.read_bytes()


@pytest.mark.nrg
def test_predictions_for_nrg_sample_match_goldens(nrg_root: Path, nrg_sample: tuple[Path, bytes]) -> None:
    [study] = scan_inventory([nrg_sample[0]]).studies
    view = predicted(study)
    golden_names = json.loads((nrg_root / "rest-tests/filenames/sample1.json").read_text())
    assert {s.id for s in view.scans} == {s["scanId"] for s in golden_names}
    session = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSessionAttributes.json").read_text())
    assert view.xsi_type == "xnat:mrSessionData"
    assert view.fields == {k: v for k, v in session.items() if k in view.fields}
    assert set(view.fields) >= {"UID", "date", "time", "scanner", "session_type", "modality", "fieldStrength"}
    assert not set(NRG_SUBSET_ABSENT) & set(view.fields)
    series = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSeriesAttributes.json").read_text())
    scan4 = next(s for s in view.scans if s.uid == series["UID"])
    assert (scan4.id, scan4.xsi_type) == (series["ID"], "xnat:mrScanData")
    compared = {k: v for k, v in scan4.fields.items() if k != "frames"}  # the golden counts the full series
    assert compared == {k: _text(series[k]) for k in compared}
    assert set(compared) >= {"UID", "type", "series_description", "quality", "modality", "scanner", "fieldStrength"}


@pytest.mark.nrg
def test_nrg_sample_import_matches_predictions(
    emulator: Emulator, admin_http: requests.Session, nrg_sample: tuple[Path, bytes]
) -> None:
    [view] = check_import(emulator, admin_http, *nrg_sample)
    assert scan_ids(view) == ["4", "5", "6"]


@pytest.mark.nrg
@pytest.mark.parametrize("zips", [("mr_1.zip",), ("scan1.zip", "scan2.zip")])
def test_nrg_rest_test_zips_import_as_predicted(
    emulator: Emulator, admin_http: requests.Session, nrg_root: Path, tmp_path: Path, zips: tuple[str, ...]
) -> None:
    root = tmp_path / "zips"
    root.mkdir()
    with zipfile.ZipFile(tmp_path / "all.zip", "w") as out:
        for name in zips:
            shutil.copy(nrg_root / "rest-tests" / name, root / name)
            with zipfile.ZipFile(nrg_root / "rest-tests" / name) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        out.writestr(info.filename, zf.read(info))
    [view] = check_import(emulator, admin_http, root, (tmp_path / "all.zip").read_bytes())
    assert len(view.scans) == len(zips)  # one series per zip
    assert all(s.xsi_type == "xnat:mrScanData" for s in view.scans)
