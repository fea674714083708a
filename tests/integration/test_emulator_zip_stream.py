"""DICOM-zip reads an upload as XNAT's ZipInputStream does, over real HTTP: entry by entry from
the connection through the local headers, each imported before the next is read. What a real
XNAT refuses (a STORED entry with a data descriptor, a wrong CRC) is refused here with its
answer, and what it keeps (the entries before the failure, or before a dropped connection)
stays in the prearchive, the sessions marked ERROR as the emulator's partial-import rule does."""

from __future__ import annotations

import base64
import io
import socket
import time
import zipfile
from urllib.parse import urlsplit

import pytest
import requests

from tests.handmade_zip import END_OF_CENTRAL_DIRECTORY, Unseekable, local_entry
from tests.integration.emulator_http import h3
from xsync.emulator import Emulator
from xsync.testing.dicomgen import StudySpec, iter_instances, series_folder, to_bytes

IMPORT = "/data/services/import"
STUDY = StudySpec()  # two series (scans 1 and 2) of three instances
ENTRIES = [(f"{series_folder(STUDY, si)}/{n:04d}.dcm", to_bytes(ds)) for si, n, ds in iter_instances(STUDY)]

pytestmark = pytest.mark.parametrize("emulator", [{"quiet_seconds": 60}], indirect=True)


def post_zip(emulator: Emulator, http: requests.Session, body: bytes, **params: str) -> requests.Response:
    return http.post(
        emulator.url + IMPORT,
        data=body,
        params={"PROJECT_ID": "P", **params},
        headers={"Content-Type": "application/zip"},
    )


def sessions(emulator: Emulator, http: requests.Session) -> list[dict[str, str]]:
    r = http.get(emulator.url + "/data/prearchive/projects/P", params={"format": "json"})
    assert r.status_code == 200
    return r.json()["ResultSet"]["Result"]


def files_by_scan(emulator: Emulator, http: requests.Session, row: dict[str, str]) -> dict[str, list[str]]:
    """The session's files per scan (a RECEIVING session is built first to be listed)."""
    uri = emulator.url + "/data" + row["url"]
    if row["status"] == "RECEIVING":
        assert http.post(uri, params={"action": "build"}).status_code == 200
    scans = http.get(uri + "/scans", params={"format": "json"}).json()["ResultSet"]["Result"]
    out = {}
    for scan in scans:
        r = http.get(f"{uri}/scans/{scan['ID']}/resources/DICOM/files", params={"format": "json"})
        out[scan["ID"]] = sorted(f["Name"] for f in r.json()["ResultSet"]["Result"])
    return out


def handmade(*records: bytes) -> bytes:
    return b"".join(records) + END_OF_CENTRAL_DIRECTORY


def python_zip(method: int, *, seekable: bool, zip64: bool = False) -> bytes:
    target: io.BytesIO | Unseekable = io.BytesIO() if seekable else Unseekable()
    with zipfile.ZipFile(target, "w", method) as zf:
        for name, data in ENTRIES:
            with zf.open(name, "w", force_zip64=zip64) as f:
                f.write(data)
    return target.getvalue() if isinstance(target, io.BytesIO) else bytes(target.written)


ALL_FILES = {"1": ["0001.dcm", "0002.dcm", "0003.dcm"], "2": ["0001.dcm", "0002.dcm", "0003.dcm"]}


# -- what XNAT accepts ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "seekable", "zip64"),
    [
        (zipfile.ZIP_STORED, True, False),
        (zipfile.ZIP_DEFLATED, True, False),
        (zipfile.ZIP_STORED, True, True),  # ZIP64 local headers: sizes in the extra block
        (zipfile.ZIP_DEFLATED, True, True),
        (zipfile.ZIP_DEFLATED, False, False),  # data descriptors after DEFLATED entries
    ],
    ids=["stored", "deflated", "stored-zip64", "deflated-zip64", "deflated-descriptors"],
)
def test_zips_xnat_reads_import_every_entry(
    emulator: Emulator, admin_http: requests.Session, method: int, seekable: bool, zip64: bool
) -> None:
    r = post_zip(emulator, admin_http, python_zip(method, seekable=seekable, zip64=zip64))
    assert r.status_code == 200, r.text
    (row,) = sessions(emulator, admin_http)
    assert r.text == f"/data{row['url']}\r\n"
    assert files_by_scan(emulator, admin_http, row) == ALL_FILES


def test_deflated_descriptors_without_their_signature(emulator: Emulator, admin_http: requests.Session) -> None:
    body = handmade(*(local_entry(n, d, deflate=True, descriptor=True, descriptor_signature=False) for n, d in ENTRIES))
    assert post_zip(emulator, admin_http, body).status_code == 200
    (row,) = sessions(emulator, admin_http)
    assert files_by_scan(emulator, admin_http, row) == ALL_FILES


# -- what XNAT refuses, and what it keeps ------------------------------------------------------
def test_stored_entries_with_data_descriptors_are_refused(emulator: Emulator, admin_http: requests.Session) -> None:
    """What the streaming-zip libraries write: ZipInputStream refuses the first such entry."""
    r = post_zip(emulator, admin_http, python_zip(zipfile.ZIP_STORED, seekable=False))
    assert r.status_code == 400 and h3(r) == "unable to read data from file"
    assert sessions(emulator, admin_http) == []
    # Two good entries, then one with a descriptor: the two stay, their session marked ERROR;
    # Ignore-Unparsable cannot pass it (the reader itself stops there).
    good, (bad_name, bad_data), rest = ENTRIES[:2], ENTRIES[2], ENTRIES[3:]
    body = handmade(
        *(local_entry(n, d) for n, d in good),
        local_entry(bad_name, bad_data, descriptor=True),
        *(local_entry(n, d) for n, d in rest),
    )
    r = post_zip(emulator, admin_http, body, **{"Ignore-Unparsable": "true"})
    assert r.status_code == 400 and h3(r) == "unable to read data from file"
    (row,) = sessions(emulator, admin_http)
    assert row["status"] == "ERROR"
    assert files_by_scan(emulator, admin_http, row) == {"1": ["0001.dcm", "0002.dcm"]}


def test_a_wrong_crc_fails_the_entry(emulator: Emulator, admin_http: requests.Session) -> None:
    (n1, d1), (n2, d2), (n3, d3) = ENTRIES[:3]
    stored = handmade(local_entry(n1, d1), local_entry(n2, d2, crc=12345), local_entry(n3, d3))
    r = post_zip(emulator, admin_http, stored)
    assert r.status_code == 400 and h3(r) == "unable to read DICOM object 0002.dcm"
    (row,) = sessions(emulator, admin_http)
    assert row["status"] == "ERROR"
    assert files_by_scan(emulator, admin_http, row) == {"1": ["0001.dcm"]}
    # Ignore-Unparsable skips a STORED entry with a wrong CRC (ZipInputStream stands at the next
    # header), but not a DEFLATED one (its next read fails again).
    assert post_zip(emulator, admin_http, stored, **{"Ignore-Unparsable": "true"}).status_code == 200
    (row,) = sessions(emulator, admin_http)
    assert files_by_scan(emulator, admin_http, row) == {"1": ["0001.dcm", "0003.dcm"]}
    deflated = handmade(local_entry(n1, d1), local_entry(n2, d2, deflate=True, crc=12345), local_entry(n3, d3))
    r = post_zip(emulator, admin_http, deflated, **{"Ignore-Unparsable": "true"})
    assert r.status_code == 400 and h3(r) == "unable to read data from file"


# -- a dropped connection ------------------------------------------------------------------------
def send_cut(
    emulator: Emulator, body: bytes, sent: int, *, read_answer: bool, content_type: str = "application/zip"
) -> bytes:
    """POST `body` with its full Content-Length but only its first `sent` bytes, then close the
    connection: half (and read the answer) or entirely (and answer nothing)."""
    url = urlsplit(emulator.url)
    auth = base64.b64encode(b"admin:admin").decode()
    head = (
        f"POST {url.path}{IMPORT}?PROJECT_ID=P HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode() + body[:sent])
        if not read_answer:
            return b""
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def wait_for_import_answer(emulator: Emulator) -> int:
    deadline = time.monotonic() + 30
    while True:
        done = [r.status for r in emulator.requests if r.path == "/data/services/import"]
        if done:
            return done[0]
        assert time.monotonic() < deadline, "the import never finished"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("deflate", "cut", "message"),
    [
        (False, "inside", "unable to read DICOM object 0003.dcm"),
        (True, "inside", "unable to read DICOM object 0003.dcm"),
        (False, "between", "unable to read data from file"),
    ],
    ids=["stored-cut-inside-an-entry", "deflated-cut-inside-an-entry", "cut-between-entries"],
)
def test_a_cut_upload_keeps_the_entries_before_the_cut(
    emulator: Emulator, admin_http: requests.Session, deflate: bool, cut: str, message: str
) -> None:
    records = [local_entry(n, d, deflate=deflate) for n, d in ENTRIES]
    body = handmade(*records)
    before_third = len(records[0]) + len(records[1])
    sent = before_third + (len(records[2]) // 2 if cut == "inside" else 0)
    answer = send_cut(emulator, body, sent, read_answer=True)
    assert answer.startswith(b"HTTP/1.1 400 ") and f"<h3>{message}</h3>".encode() in answer
    (row,) = sessions(emulator, admin_http)
    assert row["status"] == "ERROR"
    assert files_by_scan(emulator, admin_http, row) == {"1": ["0001.dcm", "0002.dcm"]}


def test_a_client_killed_mid_upload(emulator: Emulator, admin_http: requests.Session) -> None:
    records = [local_entry(n, d) for n, d in ENTRIES]
    sent = sum(len(r) for r in records[:4]) + 100  # four entries and part of the fifth
    send_cut(emulator, handmade(*records), sent, read_answer=False)
    assert wait_for_import_answer(emulator) == 400
    (row,) = sessions(emulator, admin_http)
    assert row["status"] == "ERROR"
    assert files_by_scan(emulator, admin_http, row) == {"1": ALL_FILES["1"], "2": ["0001.dcm"]}
    # The server goes on serving, and sending the study again completes the session.
    assert post_zip(emulator, admin_http, handmade(*records)).status_code == 200
    (row,) = sessions(emulator, admin_http)
    assert row["status"] == "RECEIVING"
    assert files_by_scan(emulator, admin_http, row) == ALL_FILES


@pytest.mark.parametrize(
    ("content_type", "body", "sent", "message"),
    [
        ("application/dicom", ENTRIES[0][1], 500, "unable to read DICOM object upload.dcm"),  # gradual-DICOM
        ("application/zip", local_entry(*ENTRIES[0]), 2, "unable to read data from file"),  # inside the first header
    ],
    ids=["gradual-dicom", "zip-cut-in-its-first-bytes"],
)
def test_other_bodies_cut_short(
    emulator: Emulator, admin_http: requests.Session, content_type: str, body: bytes, sent: int, message: str
) -> None:
    answer = send_cut(emulator, body, sent, read_answer=True, content_type=content_type)
    assert answer.startswith(b"HTTP/1.1 400 ") and f"<h3>{message}</h3>".encode() in answer
    assert sessions(emulator, admin_http) == []
