"""The C-STORE receiver over a real DICOM association: a pynetdicom SCU (TCP_NODELAY, one
presentation context per transfer syntax) sends a synthetic study; it is routed by the
`Project:/Subject:/Session:` comment, named by XNAT's template, becomes READY after the quiet
period or is archived in a code-4 project, and a re-send never duplicates a file."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association

from xsync.dicom.naming import template_file_name
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.cstore import nodelay_handler
from xsync.testing.dicomgen import MR_IMAGE, StudySpec, instance_uid, iter_instances, make_dataset, to_bytes

QUIET = 0.2
HOLD = 3600.0  # a quiet period nothing reaches: rows stay RECEIVING until a test lets go
ROUTED = StudySpec(patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), quiet_seconds=HOLD, dicom_port=0)) as e:
        yield e


def hold(emu: Emulator, seconds: float = HOLD) -> None:
    """Set the quiet period while running: HOLD keeps rows RECEIVING, QUIET lets them go."""
    emu.prearchive_worker.quiet_seconds = seconds


@pytest.fixture
def http(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def associate(emu: Emulator, called: str = "XNAT") -> Association:
    ae = AE(ae_title="XSYNC_SCU")
    for ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):  # one context per transfer syntax
        ae.add_requested_context(MR_IMAGE, ts)
    assert emu.dicom_port is not None
    return ae.associate(
        "127.0.0.1", emu.dicom_port, ae_title=called, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay_handler)]
    )


def send(emu: Emulator, datasets: list[Dataset]) -> list[int]:
    assoc = associate(emu)
    assert assoc.is_established
    try:
        statuses = [int(assoc.send_c_store(ds).Status) for ds in datasets]
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()
    return statuses


def rows(emu: Emulator, http: requests.Session) -> list[dict[str, str]]:
    return http.get(emu.url + "/data/prearchive/projects", params={"format": "json"}).json()["ResultSet"]["Result"]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def study_datasets(study: StudySpec) -> list[Dataset]:
    """The study's instances as Part-10 datasets (with file meta, as read from files)."""
    return [dcmread(io.BytesIO(to_bytes(ds))) for _, _, ds in iter_instances(study)]


def file_names(http: requests.Session, url: str, scan: str) -> list[str]:
    r = http.get(f"{url}/scans/{scan}/resources/DICOM/files", params={"format": "json"})
    assert r.status_code == 200
    return sorted(f["Name"] for f in r.json()["ResultSet"]["Result"])


def templates(study: StudySpec, series: int) -> list[str]:
    s = study.series[series]
    return sorted(
        template_file_name(study.uid, str(s.number), str(n), s.sop_class_uid, instance_uid(study, series, n))
        for n in range(1, s.instances + 1)
    )


def test_a_sent_study_lands_in_the_prearchive_and_a_resend_does_not_duplicate(
    emu: Emulator, http: requests.Session
) -> None:
    assert send(emu, study_datasets(ROUTED)) == [0x0000] * 6
    (row,) = rows(emu, http)
    assert (row["project"], row["subject"], row["name"], row["status"]) == ("CCF_TEST", "sub1", "session1", "RECEIVING")
    url = emu.url + "/data" + row["url"]
    hold(emu, QUIET)
    wait_for(lambda: rows(emu, http)[0]["status"] == "READY")
    assert file_names(http, url, "1") == templates(ROUTED, 0)  # C-STORE objects have no name of their own
    files_on_disk = sorted((emu.store.root / "prearchive").rglob("*.dcm"))
    assert len(files_on_disk) == 6

    hold(emu)
    assert send(emu, study_datasets(ROUTED)) == [0x0000] * 6  # the same instances again
    (again,) = rows(emu, http)
    assert again["url"] == row["url"] and again["status"] == "RECEIVING"  # the READY row reopened
    hold(emu, QUIET)
    wait_for(lambda: rows(emu, http)[0]["status"] == "READY")
    assert sorted((emu.store.root / "prearchive").rglob("*.dcm")) == files_on_disk
    assert file_names(http, url, "2") == templates(ROUTED, 1)


def test_a_code_4_project_archives_after_the_quiet_period(emu: Emulator, http: requests.Session) -> None:
    assert http.put(emu.url + "/data/projects/CCF_TEST/prearchive_code/4").status_code == 200
    assert send(emu, study_datasets(ROUTED)) == [0x0000] * 6
    assert [r["autoarchive"] for r in rows(emu, http)] == ["AutoArchive"]
    hold(emu, QUIET)
    session = emu.url + "/data/projects/CCF_TEST/subjects/sub1/experiments/session1"
    wait_for(lambda: http.get(session, params={"format": "json"}).status_code == 200)
    assert [(r["status"], r["name"]) for r in rows(emu, http)] == []
    assert file_names(http, session, "1") == templates(ROUTED, 0)
    archived = sorted((emu.store.root / "archive").rglob("*.dcm"))
    assert len(archived) == 6

    # A re-send opens a new prearchive session; its archive finds every instance already
    # archived (code 4 does not overwrite): CONFLICT, and the archive keeps one copy of each.
    hold(emu)
    assert send(emu, study_datasets(ROUTED)) == [0x0000] * 6
    hold(emu, QUIET)
    wait_for(lambda: [r["status"] for r in rows(emu, http)] == ["CONFLICT"])
    assert sorted((emu.store.root / "archive").rglob("*.dcm")) == archived


def test_refused_objects_and_associations(emu: Emulator, http: requests.Session, tmp_path: Path) -> None:
    # A file cut short inside its header, streamed as it is on disk (chunked mode sends the
    # file's bytes without decoding them): the importer refuses it, 0xC000.
    whole = to_bytes(make_dataset(ROUTED, 0, 1))
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[: len(whole) - 600 - 3])
    assoc = associate(emu)
    chunked = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        assert int(assoc.send_c_store(cut).Status) == 0xC000
        assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = chunked
        if assoc.is_established:
            assoc.abort()
    assert rows(emu, http) == []
    # The receiver answers only to its own AE title.
    wrong = associate(emu, called="NOT_XNAT")
    try:
        assert wrong.is_rejected
    finally:
        if wrong.is_established:
            wrong.abort()


def test_both_ends_disable_nagle(emu: Emulator) -> None:
    assoc = associate(emu)
    try:
        assert assoc.is_established
        mine = assoc.dul.socket.socket  # type: ignore[union-attr]
        assert mine.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        server = emu.dicom_receiver._server  # type: ignore[union-attr]
        wait_for(lambda: bool(server.active_associations))
        theirs = server.active_associations[0].dul.socket.socket
        assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()


def test_a_failing_receiver_answers_out_of_resources(emu: Emulator, http: requests.Session) -> None:
    # The prearchive folder cannot be created (a file is in its way): the emulator, not the
    # object, is at fault, so the sender hears 0xA700 and may retry; the HTTP import says 500.
    (emu.store.root / "prearchive").write_bytes(b"in the way")
    assert send(emu, study_datasets(ROUTED)[:1]) == [0xA700]
    data = to_bytes(make_dataset(ROUTED, 0, 1))
    r = http.post(emu.url + "/data/services/import", data=data, headers={"Content-Type": "application/dicom"})
    assert r.status_code == 500
    assert rows(emu, http) == []  # no row without its file
