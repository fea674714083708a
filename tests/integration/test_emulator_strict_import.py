"""Strict mode (`EmulatorConfig.strict`) for the import body, over real HTTP: only the
Content-Types XNAT 1.8 takes as a raw upload (or `inbody=true`) or a multipart file part carry
a file, the archive format comes from the derived name alone, and a form-encoded body is
refused as XNAT's multipart parser refuses it. The lenient default keeps recognising archives
by their bytes (the seed's curl recipe needs it)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
import requests

from tests.integration.emulator_http import h3, session, snapshot
from xsync.emulator import Emulator
from xsync.testing.dicomgen import StudySpec, make_dataset, to_bytes, zip_study

IMPORT = "/data/services/import"
PREARCHIVE = {"import-handler": "DICOM-zip", "dest": "/prearchive/projects/P"}
FORM = "application/x-www-form-urlencoded"
STRICT = [{"strict": True, "quiet_seconds": 60}]
LENIENT = [{"quiet_seconds": 60}]


@pytest.fixture
def study_zip(tmp_path: Path) -> bytes:
    return zip_study(StudySpec(), tmp_path / "dicoms.zip").read_bytes()


def post(emu: Emulator, body: bytes, content_type: str | None, **params: str) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return session(emu).post(emu.url + IMPORT, params=params, data=body, headers=headers)


def refused(emu: Emulator, body: bytes, content_type: str | None, status: int, **params: str) -> str:
    """The refusal's message; the archive and the prearchive are as they were."""
    before = snapshot(emu)
    r = post(emu, body, content_type, **params)
    assert r.status_code == status, r.text[:300]
    assert snapshot(emu) == before
    return h3(r)


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_form_encoded_body_is_refused(emulator: Emulator, study_zip: bytes) -> None:
    message = refused(emulator, study_zip, FORM, 400, **PREARCHIVE)
    assert message == (
        "the request doesn't contain a multipart/form-data or multipart/mixed stream, "
        "content type header is application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_inbody_names_the_body_by_type(emulator: Emulator, study_zip: bytes) -> None:
    """`inbody=true` takes any body, but DICOM-zip reads the format from the derived name."""
    assert refused(emulator, study_zip, FORM, 400, inbody="true", **PREARCHIVE) == "Unsupported format UNKNOWN"
    assert refused(emulator, study_zip, "application/octet-stream", 400, **PREARCHIVE) == "Unsupported format UNKNOWN"
    r = post(emulator, study_zip, "application/zip", inbody="true", **PREARCHIVE)
    assert r.status_code == 200 and r.text.startswith("/data/prearchive/projects/P/")


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_archive_types_xnat_takes(emulator: Emulator, study_zip: bytes, tmp_path: Path) -> None:
    r = post(emulator, study_zip, "application/zip", **PREARCHIVE)
    assert (r.status_code, r.text.count("\r\n")) == (200, 1)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        tf.add(zip_study(StudySpec(patient_id="TGZ1"), tmp_path / "t.zip"), arcname="nested.zip")
    r = post(emulator, tgz.getvalue(), "application/x-gtar", **PREARCHIVE)  # named upload.tar.gz
    assert r.status_code == 200 and r.text.strip().endswith("/TGZ1")
    dicom = to_bytes(make_dataset(StudySpec(patient_id="ONE1"), 0, 1))
    r = post(emulator, dicom, "application/dicom", PROJECT_ID="P")  # gradual-DICOM, upload.dcm
    assert r.status_code == 200 and r.text.strip().endswith("/ONE1")
    files = {"file": ("dicoms.zip", study_zip, "application/octet-stream")}
    r = session(emulator).post(emulator.url + IMPORT, params=PREARCHIVE, files=files)
    assert r.status_code == 200


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_types_xnat_does_not_take_carry_no_file(emulator: Emulator, study_zip: bytes) -> None:
    assert refused(emulator, study_zip, "application/gzip", 400, **PREARCHIVE) == "Unable to identify upload format."
    assert refused(emulator, study_zip, "application/x-zip-compressed", 400, **PREARCHIVE) == (
        "Unable to identify upload format."
    )
    # without import-handler, XNAT's Importer asks for the first of no files: a server error
    assert refused(emulator, study_zip, "application/json", 500, dest="/prearchive/projects/P") == (
        "Internal Server Error"
    )


@pytest.mark.parametrize("emulator", LENIENT, indirect=True)
def test_lenient_default_recognises_archives_by_their_bytes(emulator: Emulator, study_zip: bytes) -> None:
    for content_type, params in [(FORM, {}), (FORM, {"inbody": "true"}), ("application/octet-stream", {})]:
        r = post(emulator, study_zip, content_type, **PREARCHIVE, **params)
        assert r.status_code == 200, (content_type, params, r.text[:200])


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_seed_curl_recipe_is_refused_in_strict_mode(emulator: Emulator, tmp_path: Path) -> None:
    """The seed's recipe verbatim (curl sends the zip form-encoded, with `inbody=true`)."""
    zip_study(StudySpec(), tmp_path / "dicoms.zip")
    host = emulator.url.removeprefix("http://")
    command = [
        "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:admin", "-X", "POST",
        f"http://{host}/REST/services/import?inbody=true&import-handler=DICOM-zip&dest=/prearchive/projects/P",
        "--data-binary", "@dicoms.zip",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=30, check=True)
    assert done.stdout.decode() == "400"
    with_type = [*command[:-2], "-H", "Content-Type: application/zip", *command[-2:]]
    done = subprocess.run(with_type, cwd=tmp_path, capture_output=True, timeout=30, check=True)
    assert done.stdout.decode() == "200"
