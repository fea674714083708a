"""The emulator's C-STORE receiver against dcmtk, a DICOM implementation nobody here wrote:
`storescu` sends folders of synthetic studies (explicit and implicit VR little endian) into it;
each object is acknowledged, routed by its `Project:/Subject:/Session:` comment, built and
archived over REST, and the archive holds exactly the dataset bytes that were sent. An
association calling another AE title is refused; `echoscu` gets its C-ECHO answered.

dcmtk runs as a separate program over a real socket (tests/dcmtk.py finds it and sets
TCP_NODELAY=1); without dcmtk these tests are skipped saying how to install it.
"""

from __future__ import annotations

import array
import io
import struct
import zlib
from pathlib import Path

import pytest
import requests
from pydicom import dcmread

from tests.dcmtk import run_dcmtk
from xsync.emulator import Emulator
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study

HOLD = 3600.0  # no quiet period ends during a test: sessions are built and archived by request
SCU_AE_TITLE = "DCMTK_SCU"
EXPLICIT = StudySpec(patient_id="DCM001", patient_comments="Project:CCF_TEST Subject:sub1 Session:session1")
IMPLICIT = StudySpec(
    patient_id="DCM002",
    patient_comments="Project:CCF_TEST Subject:sub2 Session:session2",
    series=(SeriesSpec(3, "DWI", instances=4), SeriesSpec(4, "fMRI", instances=2)),
)

pytestmark = pytest.mark.parametrize(
    "emulator", [{"projects": ("CCF_TEST",), "quiet_seconds": HOLD, "dicom_port": 0}], indirect=True
)


def storescu(emulator: Emulator, folder: Path, *options: str, called: str | None = None) -> tuple[int, str]:
    """dcmtk's storescu sending every file under `folder`; its exit status and output."""
    assert emulator.dicom_port is not None
    r = run_dcmtk(
        "storescu", "-v", *options, "-aet", SCU_AE_TITLE, "-aec", called or emulator.config.dicom_ae_title,
        "+sd", "+r", "127.0.0.1", str(emulator.dicom_port), str(folder),
    )  # fmt: skip
    return r.returncode, r.stdout + r.stderr


def prearchive_rows(emulator: Emulator, http: requests.Session) -> list[dict[str, str]]:
    r = http.get(emulator.url + "/data/prearchive/projects", params={"format": "json"})
    assert r.status_code == 200
    result: list[dict[str, str]] = r.json()["ResultSet"]["Result"]
    return result


def dataset_part(part10: bytes) -> bytes:
    """What follows a Part-10 file's preamble and file meta group (always explicit VR little
    endian, PS3.10 §7.1): the dataset as it was encoded in the file's transfer syntax."""
    assert part10[128:132] == b"DICM"
    offset = 132
    while struct.unpack_from("<H", part10, offset)[0] == 0x0002:
        vr = part10[offset + 4 : offset + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):  # 2 reserved bytes, then a 4-byte length
            offset += 12 + struct.unpack_from("<I", part10, offset + 8)[0]
        else:
            offset += 8 + struct.unpack_from("<H", part10, offset + 6)[0]
    return part10[offset:]


def archived_files(http: requests.Session, session_url: str) -> dict[str, bytes]:
    """Every DICOM file of every scan of an archived session, downloaded, by SOP Instance UID."""
    r = http.get(session_url + "/scans", params={"format": "json"})
    assert r.status_code == 200
    found: dict[str, bytes] = {}
    for scan in r.json()["ResultSet"]["Result"]:
        listing = http.get(f"{session_url}/scans/{scan['ID']}/resources/DICOM/files", params={"format": "json"})
        assert listing.status_code == 200
        for entry in listing.json()["ResultSet"]["Result"]:
            data = http.get(f"{session_url}/scans/{scan['ID']}/resources/DICOM/files/{entry['Name']}").content
            found[str(dcmread(io.BytesIO(data)).SOPInstanceUID)] = data
    return found


def by_instance_uid(paths: list[Path]) -> dict[str, bytes]:
    return {str(dcmread(path).SOPInstanceUID): path.read_bytes() for path in paths}


def transfer_syntax(part10: bytes) -> str:
    return str(dcmread(io.BytesIO(part10)).file_meta.TransferSyntaxUID)


def test_storescu_folders_are_routed_built_and_archived_byte_for_byte(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path
) -> None:
    sent = {
        "session1": by_instance_uid(write_study(EXPLICIT, tmp_path / "send" / "a", transfer_syntax="explicit-le")),
        "session2": by_instance_uid(write_study(IMPLICIT, tmp_path / "send" / "b", transfer_syntax="implicit-le")),
    }
    status, output = storescu(emulator, tmp_path / "send")
    assert status == 0, output  # storescu stops with a non-zero status at the first failed C-STORE

    rows = prearchive_rows(emulator, admin_http)
    assert sorted((r["project"], r["subject"], r["name"], r["status"]) for r in rows) == [
        ("CCF_TEST", "sub1", "session1", "RECEIVING"),
        ("CCF_TEST", "sub2", "session2", "RECEIVING"),
    ]
    for row in rows:
        src = row["url"]
        assert admin_http.post(emulator.url + "/data" + src, params={"action": "build"}).status_code == 200
        built = admin_http.get(emulator.url + "/data" + src, params={"format": "json"}).json()["ResultSet"]["Result"]
        assert built[0]["status"] == "READY"
        r = admin_http.post(emulator.url + "/data/services/archive", params={"src": src})
        assert r.status_code == 200, r.text
        subject = {"session1": "sub1", "session2": "sub2"}[row["name"]]
        assert r.text.strip() == f"/data/archive/projects/CCF_TEST/subjects/{subject}/experiments/{row['name']}"
    assert prearchive_rows(emulator, admin_http) == []

    for label, subject, study, ts in (
        ("session1", "sub1", EXPLICIT, "1.2.840.10008.1.2.1"),
        ("session2", "sub2", IMPLICIT, "1.2.840.10008.1.2"),
    ):
        url = f"{emulator.url}/data/projects/CCF_TEST/subjects/{subject}/experiments/{label}"
        r = admin_http.get(url + "/scans", params={"format": "json"})
        assert sorted(s["ID"] for s in r.json()["ResultSet"]["Result"]) == sorted(str(s.number) for s in study.series)
        archived = archived_files(admin_http, url)
        assert sorted(archived) == sorted(sent[label])  # every instance, each in its own study's session
        for uid, data in archived.items():
            local = sent[label][uid]
            meta = dcmread(io.BytesIO(data)).file_meta
            assert meta.TransferSyntaxUID == transfer_syntax(local) == ts
            assert meta.SourceApplicationEntityTitle == SCU_AE_TITLE  # the calling AE, as XNAT records it
            assert dataset_part(data) == dataset_part(local), uid


def archive_all(emulator: Emulator, http: requests.Session) -> None:
    for row in prearchive_rows(emulator, http):
        assert http.post(emulator.url + "/data" + row["url"], params={"action": "build"}).status_code == 200
        assert http.post(emulator.url + "/data/services/archive", params={"src": row["url"]}).status_code == 200


@pytest.mark.parametrize(
    ("option", "wire_syntax"),
    [("-xd", "1.2.840.10008.1.2.1.99"), ("-xb", "1.2.840.10008.1.2.2")],
    ids=["deflated", "big-endian"],
)
def test_storescu_converting_to_another_transfer_syntax(
    emulator: Emulator, admin_http: requests.Session, tmp_path: Path, option: str, wire_syntax: str
) -> None:
    # storescu converts the explicit little endian files to the syntax it proposes first; the
    # emulator reads each object in the syntax of its presentation context and stores it so.
    sent = by_instance_uid(write_study(EXPLICIT, tmp_path / "send", transfer_syntax="explicit-le"))
    status, output = storescu(emulator, tmp_path / "send", option)
    assert status == 0, output
    archive_all(emulator, admin_http)
    archived = archived_files(admin_http, f"{emulator.url}/data/projects/CCF_TEST/subjects/sub1/experiments/session1")
    assert sorted(archived) == sorted(sent)
    for uid, data in archived.items():
        assert transfer_syntax(data) == wire_syntax
        if option == "-xd":  # the same explicit little endian bytes, deflated (PS3.5 A.5)
            assert zlib.decompress(dataset_part(data), -zlib.MAX_WBITS) == dataset_part(sent[uid])
        else:  # the same elements; 16-bit pixel words byte-swapped
            theirs, ours = dcmread(io.BytesIO(data)), dcmread(io.BytesIO(sent[uid]))
            assert [e for e in theirs if e.keyword != "PixelData"] == [e for e in ours if e.keyword != "PixelData"]
            words = array.array("H", ours.PixelData)
            words.byteswap()
            assert theirs.PixelData == words.tobytes()


def test_a_wrong_called_ae_title_is_refused(emulator: Emulator, admin_http: requests.Session, tmp_path: Path) -> None:
    write_study(EXPLICIT, tmp_path / "send")
    status, output = storescu(emulator, tmp_path / "send", called="NOT_XNAT")
    assert status != 0
    assert "Called AE Title Not Recognized" in output  # the rejection's reason, as dcmtk words it
    assert prearchive_rows(emulator, admin_http) == []


def test_echoscu_gets_an_answer(emulator: Emulator) -> None:
    assert emulator.dicom_port is not None
    r = run_dcmtk("echoscu", "-v", "-aec", emulator.config.dicom_ae_title, "127.0.0.1", str(emulator.dicom_port))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Received Echo Response (Success)" in r.stdout + r.stderr
