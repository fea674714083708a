"""The C-STORE receiver over a real DICOM association: a pynetdicom SCU (TCP_NODELAY, one
presentation context per transfer syntax) sends a synthetic study; it is routed by the
`Project:/Subject:/Session:` comment, named by XNAT's template, becomes READY after the quiet
period or is archived in a code-4 project, and a re-send never duplicates a file."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association

from xsync.dicom.naming import template_file_name
from xsync.emulator import Emulator
from xsync.emulator.cstore import nodelay_handler
from xsync.testing.dicomgen import MR_IMAGE, StudySpec, instance_uid, iter_instances, make_dataset, to_bytes

QUIET = 0.2
HOLD = 3600.0  # a quiet period nothing reaches: rows stay RECEIVING until a test lets go
ROUTED = StudySpec(patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")


pytestmark = pytest.mark.parametrize(
    "emulator", [{"projects": ("CCF_TEST",), "quiet_seconds": HOLD, "dicom_port": 0}], indirect=True
)


def hold(emulator: Emulator, seconds: float = HOLD) -> None:
    """Set the quiet period while running: HOLD keeps rows RECEIVING, QUIET lets them go."""
    emulator.prearchive_worker.quiet_seconds = seconds


def associate(emulator: Emulator, called: str = "XNAT") -> Association:
    ae = AE(ae_title="XSYNC_SCU")
    for ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):  # one context per transfer syntax
        ae.add_requested_context(MR_IMAGE, ts)
    assert emulator.dicom_port is not None
    return ae.associate(
        "127.0.0.1", emulator.dicom_port, ae_title=called, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay_handler)]
    )


def send(emulator: Emulator, datasets: list[Dataset]) -> list[int]:
    assoc = associate(emulator)
    assert assoc.is_established
    try:
        statuses = [int(assoc.send_c_store(ds).Status) for ds in datasets]
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()
    return statuses


def rows(emulator: Emulator, admin_http: requests.Session) -> list[dict[str, str]]:
    return admin_http.get(emulator.url + "/data/prearchive/projects", params={"format": "json"}).json()["ResultSet"][
        "Result"
    ]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def study_datasets(study: StudySpec) -> list[Dataset]:
    """The study's instances as Part-10 datasets (with file meta, as read from files)."""
    return [dcmread(io.BytesIO(to_bytes(ds))) for _, _, ds in iter_instances(study)]


def file_names(admin_http: requests.Session, url: str, scan: str) -> list[str]:
    r = admin_http.get(f"{url}/scans/{scan}/resources/DICOM/files", params={"format": "json"})
    assert r.status_code == 200
    return sorted(f["Name"] for f in r.json()["ResultSet"]["Result"])


def templates(study: StudySpec, series: int) -> list[str]:
    s = study.series[series]
    return sorted(
        template_file_name(study.uid, str(s.number), str(n), s.sop_class_uid, instance_uid(study, series, n))
        for n in range(1, s.instances + 1)
    )


def test_a_sent_study_lands_in_the_prearchive_and_a_resend_does_not_duplicate(
    emulator: Emulator, admin_http: requests.Session
) -> None:
    assert send(emulator, study_datasets(ROUTED)) == [0x0000] * 6
    (row,) = rows(emulator, admin_http)
    assert (row["project"], row["subject"], row["name"], row["status"]) == ("CCF_TEST", "sub1", "session1", "RECEIVING")
    url = emulator.url + "/data" + row["url"]
    hold(emulator, QUIET)
    wait_for(lambda: rows(emulator, admin_http)[0]["status"] == "READY")
    assert file_names(admin_http, url, "1") == templates(ROUTED, 0)  # C-STORE objects have no name of their own
    files_on_disk = sorted((emulator.store.root / "prearchive").rglob("*.dcm"))
    assert len(files_on_disk) == 6

    hold(emulator)
    assert send(emulator, study_datasets(ROUTED)) == [0x0000] * 6  # the same instances again
    (again,) = rows(emulator, admin_http)
    assert again["url"] == row["url"] and again["status"] == "RECEIVING"  # the READY row reopened
    hold(emulator, QUIET)
    wait_for(lambda: rows(emulator, admin_http)[0]["status"] == "READY")
    assert sorted((emulator.store.root / "prearchive").rglob("*.dcm")) == files_on_disk
    assert file_names(admin_http, url, "2") == templates(ROUTED, 1)


def test_a_code_4_project_archives_after_the_quiet_period(emulator: Emulator, admin_http: requests.Session) -> None:
    assert admin_http.put(emulator.url + "/data/projects/CCF_TEST/prearchive_code/4").status_code == 200
    assert send(emulator, study_datasets(ROUTED)) == [0x0000] * 6
    assert [r["autoarchive"] for r in rows(emulator, admin_http)] == ["AutoArchive"]
    hold(emulator, QUIET)
    session = emulator.url + "/data/projects/CCF_TEST/subjects/sub1/experiments/session1"
    wait_for(lambda: admin_http.get(session, params={"format": "json"}).status_code == 200)
    assert [(r["status"], r["name"]) for r in rows(emulator, admin_http)] == []
    assert file_names(admin_http, session, "1") == templates(ROUTED, 0)
    archived = sorted((emulator.store.root / "archive").rglob("*.dcm"))
    assert len(archived) == 6

    # A re-send opens a new prearchive session; its archive finds every instance already
    # archived (code 4 does not overwrite): CONFLICT, and the archive keeps one copy of each.
    hold(emulator)
    assert send(emulator, study_datasets(ROUTED)) == [0x0000] * 6
    hold(emulator, QUIET)
    wait_for(lambda: [r["status"] for r in rows(emulator, admin_http)] == ["CONFLICT"])
    assert sorted((emulator.store.root / "archive").rglob("*.dcm")) == archived


def test_refused_objects_and_associations(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    # A file cut short inside its header, streamed as it is on disk (chunked mode sends the
    # file's bytes without decoding them): the importer refuses it, 0xC000.
    whole = to_bytes(make_dataset(ROUTED, 0, 1))
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[: len(whole) - 600 - 3])
    assoc = associate(emulator)
    chunked = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        assert int(assoc.send_c_store(cut).Status) == 0xC000
        assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = chunked
        if assoc.is_established:
            assoc.abort()
    assert rows(emulator, admin_http) == []
    # The receiver answers only to its own AE title.
    wrong = associate(emulator, called="NOT_XNAT")
    try:
        assert wrong.is_rejected
    finally:
        if wrong.is_established:
            wrong.abort()


def test_both_ends_disable_nagle(emulator: Emulator) -> None:
    assoc = associate(emulator)
    try:
        assert assoc.is_established
        mine = assoc.dul.socket.socket  # type: ignore[union-attr]
        assert mine.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        server = emulator.dicom_receiver._server  # type: ignore[union-attr]
        wait_for(lambda: bool(server.active_associations))
        theirs = server.active_associations[0].dul.socket.socket
        assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()


def test_a_failing_receiver_answers_out_of_resources(emulator: Emulator, admin_http: requests.Session) -> None:
    # The prearchive folder cannot be created (a file is in its way): the emulator, not the
    # object, is at fault, so the sender hears 0xA700 and may retry; the HTTP import says 500.
    (emulator.store.root / "prearchive").write_bytes(b"in the way")
    assert send(emulator, study_datasets(ROUTED)[:1]) == [0xA700]
    data = to_bytes(make_dataset(ROUTED, 0, 1))
    r = admin_http.post(
        emulator.url + "/data/services/import", data=data, headers={"Content-Type": "application/dicom"}
    )
    assert r.status_code == 500
    assert rows(emulator, admin_http) == []  # no row without its file
