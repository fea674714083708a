"""`POST /data/services/import` over real HTTP: body forms, handlers, `dest`, routing by
parameters and headers, file names, the response format, and refused input that leaves the
state as it was (DICOM-IMPORT.md §8 rows 1-3 and 6, REST-CONTRACT.md §9 row 6)."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from tests.integration.emulator_http import snapshot
from xsync.dicom.naming import template_file_name
from xsync.emulator import Emulator
from xsync.testing.dicomgen import SeriesSpec, StudySpec, instance_uid, make_dataset, to_bytes, zip_study

IMPORT = "/data/services/import"
URI_LINE = re.compile(r"^/data/prearchive/projects/(\w+)/(\d{8}_\d{9})/([\w-]+)\r\n$")


pytestmark = pytest.mark.parametrize(
    "emulator", [{"projects": ("CCF_TEST", "OTHER"), "quiet_seconds": 60}], indirect=True
)


def study_zip(tmp_path: Path, study: StudySpec, extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    return zip_study(study, tmp_path / f"{study.seed}-{len(extra)}.zip", extra=extra).read_bytes()


def rows(emulator: Emulator, admin_http: requests.Session, project: str = "") -> list[dict[str, str]]:
    path = f"/data/prearchive/projects/{project}" if project else "/data/prearchive/projects"
    r = admin_http.get(emulator.url + path, params={"format": "json"})
    assert r.status_code == 200
    return r.json()["ResultSet"]["Result"]


def post(
    emulator: Emulator, admin_http: requests.Session, data: bytes | None = None, **kw: object
) -> requests.Response:
    return admin_http.post(emulator.url + IMPORT, data=data, **kw)  # type: ignore[arg-type]


def post_zip(emulator: Emulator, admin_http: requests.Session, body: bytes, **params: str) -> requests.Response:
    return post(emulator, admin_http, body, params=params, headers={"Content-Type": "application/zip"})


def experiment_ids(emulator: Emulator, admin_http: requests.Session, project: str = "CCF_TEST") -> list[str]:
    r = admin_http.get(f"{emulator.url}/data/projects/{project}/experiments", params={"format": "json"})
    return [row["label"] for row in r.json()["ResultSet"]["Result"]]


# -- body forms, handlers, response ---------------------------------------------------------
def test_inbody_zip_to_a_prearchive_dest(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    body = study_zip(tmp_path, StudySpec())
    r = post(
        emulator,
        admin_http,
        body,
        params={"inbody": "true", "import-handler": "DICOM-zip", "dest": "/prearchive/projects/CCF_TEST"},
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/uri-list")
    m = URI_LINE.match(r.text)
    assert m and m.group(1) == "CCF_TEST" and m.group(3) == "SYN001"
    (row,) = rows(emulator, admin_http, "CCF_TEST")
    # A dest makes DICOM-zip build at once; a prearchive dest leaves it there, READY.
    assert (row["status"], row["url"], row["name"], row["subject"]) == (
        "READY",
        r.text.strip()[len("/data") :],
        "SYN001",
        "Synthetic_Subject",
    )


def test_zip_content_type_needs_no_inbody_and_defaults_to_dicom_zip(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    body = study_zip(tmp_path, StudySpec(study_description="CCF_TEST"))
    r = post_zip(emulator, admin_http, body)
    assert r.status_code == 200 and URI_LINE.match(r.text)
    (row,) = rows(emulator, admin_http)
    assert (row["project"], row["status"]) == ("CCF_TEST", "RECEIVING")  # no dest: the idle rebuilder's turn


def test_repeated_uploads_of_one_study_return_the_same_uri(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    whole = StudySpec(study_description="CCF_TEST")
    first = study_zip(tmp_path, whole.with_series(whole.series[0]))
    second = study_zip(tmp_path / "b", whole.with_series(SeriesSpec(2, "T2w_SPC", uid=whole.series_uid(1))))
    uris = [post_zip(emulator, admin_http, b).text for b in (first, second)]
    assert uris[0] == uris[1]
    (row,) = rows(emulator, admin_http)
    r = admin_http.post(emulator.url + uris[0].strip(), params={"action": "build"})
    assert r.status_code == 200
    scans = admin_http.get(emulator.url + uris[0].strip() + "/scans", params={"format": "json"}).json()["ResultSet"][
        "Result"
    ]
    assert [s["ID"] for s in scans] == ["1", "2"]


def test_multipart_with_one_file_and_form_fields(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    body = study_zip(tmp_path, StudySpec())
    r = post(emulator, admin_http, files={"file": ("study.zip", body)}, data={"dest": "/prearchive/projects/OTHER"})
    assert r.status_code == 200
    assert URI_LINE.match(r.text).group(1) == "OTHER"  # type: ignore[union-attr]


def test_refused_body_forms(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    body = study_zip(tmp_path, StudySpec())
    two = {"a": ("a.zip", body), "b": ("b.zip", body)}
    cases = [
        (post(emulator, admin_http, files=two), 400, "Importer is limited to one uploaded resource at a time."),
        (
            post(emulator, admin_http, params={"inbody": "true"}, files={"a": ("a.zip", body)}),
            406,
            "In-body File posts",
        ),
        (
            post(emulator, admin_http, params={"import-handler": "Nonsense"}, data=body),
            404,
            "Unknown importer implementation",
        ),
        (post(emulator, admin_http), 400, "Unable to identify upload format."),
        (
            post(emulator, admin_http, b"plain bytes", headers={"Content-Type": "application/octet-stream"}),
            400,
            "Unsupported format UNKNOWN",
        ),
        (admin_http.get(emulator.url + IMPORT), 405, "Method Not Allowed"),
    ]
    for response, status, message in cases:
        assert response.status_code == status, message
        assert f"<h3>{message}" in response.text
    assert rows(emulator, admin_http) == []


@pytest.mark.parametrize(
    "dest",
    [
        "/projects/CCF_TEST",
        "/archive/CCF_TEST",
        "/prearchive/projects/P/T/F/extra",
        "/archive/projects/P/experiments/E",
        "x",
    ],
)
def test_bad_dest_is_a_400_and_imports_nothing(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path, dest: str
) -> None:
    r = post_zip(emulator, admin_http, study_zip(tmp_path, StudySpec()), dest=dest)
    assert r.status_code == 400
    assert "<h3>Parameter dest format error</h3>" in r.text
    assert rows(emulator, admin_http) == []


def test_unknown_parameters_are_ignored(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    r = post_zip(
        emulator,
        admin_http,
        study_zip(tmp_path, StudySpec()),
        **{"tiggerPipelines": "false", "whatever": "1", "dest": "/REST/prearchive/projects/CCF_TEST"},
    )
    assert r.status_code == 200 and URI_LINE.match(r.text)


# -- routing -------------------------------------------------------------------------------
def test_routing_by_comments_description_and_names(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    def upload(study: StudySpec) -> str:
        r = post_zip(emulator, admin_http, study_zip(tmp_path / study.seed, study))
        assert r.status_code == 200
        return r.text.strip()

    by_comment = upload(StudySpec(seed="a", patient_comments="Project:CCF_TEST Subject:sub1 Session:session1"))
    by_description = upload(
        StudySpec(seed="b", patient_name="Doe^John", patient_id="MR 001", study_description="OTHER")
    )
    unassigned = upload(StudySpec(seed="c", study_description="NOT_A_PROJECT", accession_number="NOPE"))
    assert re.fullmatch(r"/data/prearchive/projects/CCF_TEST/\d{8}_\d{9}/session1", by_comment)
    assert re.fullmatch(r"/data/prearchive/projects/OTHER/\d{8}_\d{9}/MR_001", by_description)
    assert re.fullmatch(r"/data/prearchive/projects/Unassigned/\d{8}_\d{9}/SYN001", unassigned)
    subjects = {r["name"]: (r["subject"], r["autoarchive"]) for r in rows(emulator, admin_http)}
    assert subjects == {
        "session1": ("sub1", "Manual"),
        "MR_001": ("Doe_John", "Manual"),
        "SYN001": ("Synthetic_Subject", ""),
    }


def test_project_search_goes_on_until_a_value_names_a_project(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    """DICOM-IMPORT.md §1.2: a `Project:` naming no project does not end the search; the next
    comment field, then Study Description and Accession Number are tried. Subject and session
    take the first value found, existing or not (§1.3)."""
    study = StudySpec(
        patient_comments="Project:NOPE Subject:first",
        study_comments="Project:OTHER Subject:second Session:sess",
        study_description="CCF_TEST",
    )
    r = post_zip(emulator, admin_http, study_zip(tmp_path, study))
    assert re.fullmatch(r"/data/prearchive/projects/OTHER/\d{8}_\d{9}/sess\r\n", r.text)
    (row,) = rows(emulator, admin_http, "OTHER")
    assert (row["subject"], row["name"]) == ("first", "sess")
    # Only misses in the comments: the Study Description decides.
    missing = StudySpec(seed="m", patient_comments="Project:NOPE", study_comments="Project:ALSO_NOPE")
    r = post_zip(emulator, admin_http, study_zip(tmp_path / "m", missing))
    assert "/data/prearchive/projects/Unassigned/" in r.text
    missing = StudySpec(seed="d", patient_comments="Project:NOPE", study_description="CCF_TEST")
    assert (
        "/data/prearchive/projects/CCF_TEST/" in post_zip(emulator, admin_http, study_zip(tmp_path / "d", missing)).text
    )


def test_explicit_parameters_and_lowercase_names(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    comments = "Project:OTHER Subject:s Session:e"
    body = study_zip(tmp_path, StudySpec(patient_comments=comments))
    upper = {"PROJECT_ID": "CCF_TEST", "SUBJECT_ID": "S1", "EXPT_LABEL": "E1"}
    assert "/CCF_TEST/" in post_zip(emulator, admin_http, body, **upper).text
    # DICOM-zip (1.8.10+) also takes xnatpy's lower-case names.
    lower = {"project": "CCF_TEST", "subject": "S2", "session": "E2"}
    assert "/E2\r\n" in post_zip(emulator, admin_http, body, **lower).text
    # gradual-DICOM takes only the project from dest; the session still comes from the headers.
    one = to_bytes(make_dataset(StudySpec(patient_comments=comments), 0, 1))
    r = post(
        emulator,
        admin_http,
        one,
        params={"dest": "/archive/projects/CCF_TEST/subjects/X/experiments/Y"},
        headers={"Content-Type": "application/dicom"},
    )
    assert re.fullmatch(r"/data/prearchive/projects/CCF_TEST/\d{8}_\d{9}/e\r\n", r.text)
    got = {r["name"]: r["subject"] for r in rows(emulator, admin_http, "CCF_TEST")}
    assert got == {"E1": "S1", "E2": "S2", "e": "s"}


# -- gradual-DICOM and file names ----------------------------------------------------------
def prearchive_files(emulator: Emulator, admin_http: requests.Session, uri: str, scan: str) -> list[str]:
    admin_http.post(emulator.url + uri, params={"action": "build"})
    r = admin_http.get(f"{emulator.url}{uri}/scans/{scan}/resources/DICOM/files", params={"format": "json"})
    return sorted(f["Name"] for f in r.json()["ResultSet"]["Result"])


def test_gradual_dicom_names_and_shared_session(emulator: Emulator, admin_http: requests.Session) -> None:
    study = StudySpec(study_description="CCF_TEST")
    uris = []
    for n in (1, 2):
        data = to_bytes(make_dataset(study, 0, n))
        r = post(emulator, admin_http, data, headers={"Content-Type": "application/dicom"})  # no handler: gradual-DICOM
        assert r.status_code == 200
        uris.append(r.text)
    assert uris[0] == uris[1]
    # An in-body object is named `upload.dcm` (XNAT derives it from the Content-Type); the next
    # one finds that name taken by another instance and gets the template name.
    template = template_file_name(study.uid, "1", "2", study.series[0].sop_class_uid, instance_uid(study, 0, 2))
    assert prearchive_files(emulator, admin_http, uris[0].strip(), "1") == sorted(["upload.dcm", template])


def test_rename_gives_template_names_and_otherwise_entry_names(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    study = StudySpec().with_series(SeriesSpec(7, "T1", instances=2))
    body = study_zip(tmp_path, study)
    kept = post_zip(emulator, admin_http, body, PROJECT_ID="CCF_TEST").text.strip()
    assert prearchive_files(emulator, admin_http, kept, "7") == [
        "0001.dcm",
        "0002.dcm",
    ]  # entry `7/0001.dcm`, base name kept
    renamed = post_zip(emulator, admin_http, body, PROJECT_ID="OTHER", rename="true").text.strip()
    expected = [
        template_file_name(study.uid, "7", str(n), study.series[0].sop_class_uid, instance_uid(study, 0, n))
        for n in (1, 2)
    ]
    assert prearchive_files(emulator, admin_http, renamed, "7") == sorted(expected)


@pytest.mark.parametrize("kind", ["tar", "tgz"])
def test_tar_and_tgz(emulator: Emulator, admin_http: requests.Session, kind: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if kind == "tgz" else "w") as tf:
        for n in (1, 2):
            data = to_bytes(make_dataset(StudySpec(), 0, n))
            info = tarfile.TarInfo(f"dir/{n}.dcm")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    name = "study.tgz" if kind == "tgz" else "study.tar"
    by_name = post(emulator, admin_http, files={"f": (name, buf.getvalue())}, params={"PROJECT_ID": "CCF_TEST"})
    by_bytes = post(emulator, admin_http, buf.getvalue(), params={"inbody": "true", "PROJECT_ID": "OTHER"})
    assert (by_name.status_code, by_bytes.status_code) == (200, 200)
    assert len(rows(emulator, admin_http)) == 2


# -- bad input: documented 4xx, state as before ----------------------------------------------
def test_malformed_zip_changes_nothing(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    # A session already waiting in the prearchive, so there are rows and files to disturb.
    assert post_zip(emulator, admin_http, study_zip(tmp_path, StudySpec(study_description="CCF_TEST"))).ok
    before = snapshot(emulator)
    r = post(emulator, admin_http, b"PK\x03\x04" + b"\x00garbage" * 20, params={"inbody": "true"})
    assert r.status_code == 400 and "<h3>unable to read data from file</h3>" in r.text
    # ZipInputStream never reads a central directory: a body without a local header is a zip
    # without entries, which imports nothing (an empty answer).
    r = post(emulator, admin_http, b"PK\x05\x06" + b"\x00" * 5, params={"inbody": "true"})
    assert r.status_code == 200 and r.text == ""
    assert snapshot(emulator) == before  # rows, archive objects and files on disk
    assert (
        admin_http.get(emulator.url + "/data/projects", params={"format": "json"}).status_code == 200
    )  # still serving


def test_a_bad_entry_stops_the_upload_and_marks_what_arrived(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    body = study_zip(tmp_path, StudySpec(study_description="CCF_TEST"), extra=(("README.txt", b"not DICOM"),))
    r = post_zip(emulator, admin_http, body)
    assert r.status_code == 400 and "<h3>unable to read DICOM object README.txt</h3>" in r.text
    # The entries before the bad one stay; their session is ERROR so nothing archives a part.
    (row,) = rows(emulator, admin_http)
    assert row["status"] == "ERROR"
    # Sending the study again (without the junk) reopens the same session.
    again = post_zip(emulator, admin_http, study_zip(tmp_path / "ok", StudySpec(study_description="CCF_TEST")))
    assert again.status_code == 200 and again.text.strip() == "/data" + row["url"]
    assert rows(emulator, admin_http)[0]["status"] == "RECEIVING"


def test_ignore_unparsable_skips_non_dicom_entries(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    body = study_zip(tmp_path, StudySpec(), extra=(("README.txt", b"not DICOM"), ("__MACOSX/._x", b"\x00\x05")))
    r = post_zip(emulator, admin_http, body, **{"Ignore-Unparsable": "true", "dest": "/prearchive/projects/CCF_TEST"})
    assert r.status_code == 200
    (row,) = rows(emulator, admin_http)
    assert row["status"] == "READY"
    junk_only = io.BytesIO()
    with zipfile.ZipFile(junk_only, "w") as zf:
        zf.writestr("a.txt", "hello")
    r = post_zip(emulator, admin_http, junk_only.getvalue(), **{"Ignore-Unparsable": "true"})
    assert r.status_code == 400 and "<h3>unable to read DICOM object a.txt</h3>" in r.text
    assert len(rows(emulator, admin_http)) == 1


def test_truncated_and_uid_less_objects(emulator: Emulator, admin_http: requests.Session) -> None:
    whole = to_bytes(make_dataset(StudySpec(), 0, 1))
    no_uid = make_dataset(StudySpec(), 0, 2)
    no_uid.SOPInstanceUID = ""
    cases = [
        (whole[:703], "unable to read DICOM object upload.dcm"),
        (whole[:-10], "unable to read DICOM object upload.dcm"),
        (to_bytes(no_uid, preamble=False), "object upload.dcm contains no SOP Instance UID"),
    ]
    for data, message in cases:
        r = post(
            emulator, admin_http, data, params={"PROJECT_ID": "CCF_TEST"}, headers={"Content-Type": "application/dicom"}
        )
        assert r.status_code == 400 and f"<h3>{message}</h3>" in r.text
    assert rows(emulator, admin_http) == []


def test_a_bad_entry_with_an_archive_dest_archives_nothing(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    body = study_zip(tmp_path, StudySpec(), extra=(("notes.txt", b"x"),))
    r = post(
        emulator,
        admin_http,
        body,
        params={
            "inbody": "true",
            "import-handler": "DICOM-zip",
            "dest": "/archive/projects/CCF_TEST/subjects/s/experiments/e",
        },
    )
    assert r.status_code == 400
    assert experiment_ids(emulator, admin_http) == []
    assert [row["status"] for row in rows(emulator, admin_http)] == ["ERROR"]


# -- archive destinations and the legacy SI importer ------------------------------------------
def test_archive_dest_archives_synchronously(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    dest = "/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
    r = post_zip(
        emulator, admin_http, study_zip(tmp_path, StudySpec()), **{"import-handler": "DICOM-zip", "dest": dest}
    )
    assert r.status_code == 200
    assert r.text == f"/data{dest}\r\n"
    assert rows(emulator, admin_http) == []
    item = admin_http.get(emulator.url + f"/data{dest}", params={"format": "json"}).json()["items"][0]
    assert item["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert item["data_fields"]["label"] == "session1"
    on_disk = sorted(
        p.relative_to(emulator.store.root).as_posix() for p in (emulator.store.root / "archive").rglob("*.dcm")
    )
    assert on_disk[0] == "archive/CCF_TEST/arc001/session1/SCANS/1/DICOM/0001.dcm"
    assert len(on_disk) == 6
    catalog = emulator.store.root / "archive/CCF_TEST/arc001/session1/SCANS/2/DICOM/scan_2_catalog.xml"
    assert catalog.read_text().count("<cat:entry ") == 3
    # Again, without overwrite: the session exists and merging was not asked for.
    again = post_zip(emulator, admin_http, study_zip(tmp_path, StudySpec()), dest=dest)
    assert again.status_code == 409 and "<h3>Session already exists, retry with overwrite enabled</h3>" in again.text
    # With overwrite=append the instances are already there: duplicates are refused ...
    dup = post_zip(emulator, admin_http, study_zip(tmp_path, StudySpec()), dest=dest, overwrite="append")
    assert dup.status_code == 409 and "<h3>Duplicate DICOM file uploaded.</h3>" in dup.text
    # ... and with overwrite=delete they replace the archived copies (nothing duplicated).
    replaced = post_zip(emulator, admin_http, study_zip(tmp_path, StudySpec()), dest=dest, overwrite="delete")
    assert replaced.status_code == 200
    assert len(list((emulator.store.root / "archive").rglob("*.dcm"))) == 6


def test_si_importer(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    one = study_zip(tmp_path / "one", StudySpec(study_description="CCF_TEST"))
    r = post_zip(emulator, admin_http, one, **{"import-handler": "SI", "dest": "/archive/projects/CCF_TEST"})
    assert (
        r.status_code == 200
        and r.text == "/data/archive/projects/CCF_TEST/subjects/Synthetic_Subject/experiments/SYN001\r\n"
    )
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as zf:
        for seed in ("x", "y"):
            zf.writestr(f"{seed}.dcm", to_bytes(make_dataset(StudySpec(seed=seed, patient_id=seed), 0, 1)))
    r = post_zip(emulator, admin_http, two.getvalue(), **{"import-handler": "SI", "PROJECT_ID": "OTHER"})
    assert r.status_code == 400 and "<h3>Upload included files for multiple imaging sessions.</h3>" in r.text
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    r = post_zip(emulator, admin_http, empty.getvalue(), **{"import-handler": "SI"})
    assert r.status_code == 400 and "<h3>Upload did not include parsable files for session generation.</h3>" in r.text


def test_fields_the_nrg_subset_lacks_read_back_as_item_json(emulator: Emulator, admin_http: requests.Session) -> None:
    """Operator, Study Comments (a custom field) and multi-echo TEs (additional parameters),
    through the import service and XNAT's item JSON."""
    study = StudySpec(operators_name="FIRST^OPERATOR\\SECOND^OPERATOR", study_comments="COMMENTS OF THE STUDY")
    study = study.with_series(SeriesSpec(3, "ME", instances=2))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in (1, 2):
            ds = make_dataset(study, 0, n)
            ds.EchoNumbers, ds.EchoTime = n, f"{2.5 * n:g}"
            zf.writestr(f"{n}.dcm", to_bytes(ds))
    dest = "/archive/projects/CCF_TEST/subjects/s/experiments/me"
    assert post_zip(emulator, admin_http, buf.getvalue(), dest=dest).status_code == 200
    session = admin_http.get(emulator.url + "/data" + dest, params={"format": "json"}).json()["items"][0]
    assert session["data_fields"]["operator"] == "FIRST^OPERATOR\\SECOND^OPERATOR"
    custom = next(c["items"] for c in session["children"] if c["field"] == "fields/field")
    assert [(c["data_fields"]["name"], c["data_fields"]["field"]) for c in custom] == [
        ("studyComments", "COMMENTS OF THE STUDY")
    ]
    scan = admin_http.get(emulator.url + "/data" + dest + "/scans/3", params={"format": "json"}).json()["items"][0]
    assert "parameters/te" not in scan["data_fields"]
    echoes = next(c["items"] for c in scan["children"] if c["field"] == "parameters/addParam")
    assert sorted((e["data_fields"]["name"], e["data_fields"]["addParam"]) for e in echoes) == [
        ("MultiEcho_TE1", "2.5"),
        ("MultiEcho_TE2", "5"),
    ]
