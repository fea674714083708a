"""xnatpy (PyPI `xnat`), unmodified, against the emulator over real HTTP: it logs in, downloads
the schemas and the search fields to build its classes, then creates, sets and reads
subjects, sessions and scans. What it wrote is checked through plain REST calls.

One emulator and one connection serve the module (xnatpy's connect builds a Python module from
the schema); every test works on its own subject, so none depends on another's data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xnat

from tests.integration.emulator_http import child, item, session
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.dicomgen import StudySpec, zip_study


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("P",))) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def connection(emu: Emulator) -> Iterator[Any]:
    with xnat.connect(emu.url, user="admin", password="admin", loglevel="ERROR") as c:
        yield c


def rest_item(emu: Emulator, path: str) -> dict[str, Any]:
    return item(session(emu).get(emu.url + path, params={"format": "json"}))


def test_connect_builds_classes_from_the_schema(emu: Emulator, connection: Any) -> None:
    for name in ("ProjectData", "SubjectData", "MrSessionData", "PetSessionData", "CtSessionData", "MrScanData"):
        assert hasattr(connection.classes, name), name
    assert connection.xnat_version == "1.8.10"
    assert "P" in connection.projects
    assert connection.projects["P"].id == "P"
    # the display fields of the search service became class attributes
    assert hasattr(connection.classes.MrSessionData, "SESSION_ID")
    paths = [r.path for r in emu.requests]
    assert "/xapi/schemas/xnat" in paths and "/data/search/elements" in paths


def test_connect_without_extension_types(emu: Emulator) -> None:
    with xnat.connect(emu.url, user="admin", password="admin", loglevel="ERROR", extension_types=False) as c:
        assert hasattr(c.classes, "MrSessionData")
        assert "P" in c.projects


def test_create_subject_and_set_demographics(emu: Emulator, connection: Any) -> None:
    project = connection.projects["P"]
    subject = connection.classes.SubjectData(parent=project, label="xp_sub1")
    subject.demographics.gender = "female"
    subject.demographics.age = 25
    subject.clearcache()
    assert (subject.demographics.gender, subject.demographics.age) == ("female", 25)
    data = rest_item(emu, "/data/projects/P/subjects/xp_sub1")
    demographics = child(data, "demographics")[0]["data_fields"]
    assert (demographics["gender"], demographics["age"]) == ("female", 25)
    assert data["data_fields"]["ID"] == subject.id


def test_invalid_value_is_refused(emu: Emulator, connection: Any) -> None:
    subject = connection.classes.SubjectData(parent=connection.projects["P"], label="xp_sub2")
    with pytest.raises(xnat.exceptions.XNATResponseError):
        subject.xnat_session.put(subject.fulluri, query={"gender": "woman"})
    subject.clearcache()
    assert subject.demographics.gender is None


def test_create_session_with_scanner_and_custom_variable(emu: Emulator, connection: Any) -> None:
    subject = connection.classes.SubjectData(parent=connection.projects["P"], label="xp_sub3")
    mr = connection.classes.MrSessionData(parent=subject, label="xp_sub3_MR")
    mr.fields["site"] = "A"
    mr.scanner.manufacturer = "SIEMENS"
    mr.operator = "tech1"
    mr.clearcache()
    assert (dict(mr.fields), mr.scanner.manufacturer, mr.operator) == ({"site": "A"}, "SIEMENS", "tech1")
    data = rest_item(emu, "/data/projects/P/experiments/xp_sub3_MR")
    assert data["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert data["data_fields"]["scanner/manufacturer"] == "SIEMENS"
    assert [f["data_fields"] for f in child(data, "fields/field")] == [{"name": "site", "field": "A"}]
    pet = connection.classes.PetSessionData(parent=subject, label="xp_sub3_PET")
    assert rest_item(emu, f"/data/experiments/{pet.id}")["meta"]["xsi:type"] == "xnat:petSessionData"


def test_create_and_update_scans(emu: Emulator, connection: Any) -> None:
    subject = connection.classes.SubjectData(parent=connection.projects["P"], label="xp_sub4")
    mr = connection.classes.MrSessionData(parent=subject, label="xp_sub4_MR")
    connection.classes.MrScanData(parent=mr, id="1", type="T1w", series_description="T1 MPRAGE", quality="usable")
    scan = mr.scans["1"]
    scan.quality = "questionable"
    scan.clearcache()
    assert (scan.type, scan.series_description, scan.quality) == ("T1w", "T1 MPRAGE", "questionable")
    data = rest_item(emu, "/data/projects/P/experiments/xp_sub4_MR/scans/1")
    assert data["meta"]["xsi:type"] == "xnat:mrScanData"
    fields = data["data_fields"]
    assert (fields["type"], fields["series_description"], fields["quality"]) == ("T1w", "T1 MPRAGE", "questionable")


def test_reads_seeded_data_through_listings(emu: Emulator, connection: Any) -> None:
    emu.seed.add_session(
        "P", "xp_sub5", "xp_sub5_CT", xsi_type="xnat:ctSessionData", scans=[{"id": "2", "xsi_type": "xnat:ctScanData"}]
    )
    connection.clearcache()
    subject = connection.projects["P"].subjects["xp_sub5"]
    ct = subject.experiments["xp_sub5_CT"]
    assert type(ct).__name__ == "CtSessionData"
    assert type(ct.scans["2"]).__name__ == "CtScanData"


def test_query_finds_sessions(emu: Emulator, connection: Any) -> None:
    subject = connection.classes.SubjectData(parent=connection.projects["P"], label="xp_sub6")
    mr = connection.classes.MrSessionData(parent=subject, label="xp_sub6_MR")
    cls = connection.classes.MrSessionData
    found = cls.query().filter(cls.label == "xp_sub6_MR").all()
    assert [s.id for s in found] == [mr.id]
    table = cls.query().view(cls.SESSION_ID, cls.LABEL).filter(cls.label.like("xp_sub6%")).tabulate_dict()
    assert [(r["session_id"], r["label"]) for r in table] == [(mr.id, "xp_sub6_MR")]


def test_import_service(emu: Emulator, connection: Any, tmp_path: Path) -> None:
    """`services.import_` to the prearchive and to an archive destination."""
    first = zip_study(StudySpec(patient_id="XPIMP1"), tmp_path / "a.zip")
    pending = connection.services.import_(first, project="P", subject="xp_sub7", experiment="xp_sub7_MR")
    assert type(pending).__name__ == "PrearchiveSession"
    assert pending.uri.startswith("/data/prearchive/projects/P/") and pending.name == "xp_sub7_MR"
    second = zip_study(StudySpec(patient_id="XPIMP2"), tmp_path / "b.zip")
    dest = "/archive/projects/P/subjects/xp_sub8/experiments/xp_sub8_MR"
    archived = connection.services.import_(second, project="P", destination=dest)
    assert (type(archived).__name__, archived.label) == ("MrSessionData", "xp_sub8_MR")
    assert [s.id for s in archived.scans.values()] == ["1", "2"]


def test_import_direct_archive(emu: Emulator, connection: Any, tmp_path: Path) -> None:
    """xnatpy 0.8.1 sends `Direct-Archive=true` but then reads the `/xapi/direct-archive/...`
    answer as an archived object and fails on its JSON (it would against XNAT too); the upload
    itself has gone straight to the archive folder."""
    body = zip_study(StudySpec(patient_id="XPDA1"), tmp_path / "da.zip")
    with pytest.raises(KeyError):
        connection.services.import_(body, project="P", subject="xp_sub9", experiment="xp_sub9_MR", direct_archive=True)
    uri = f"/xapi/direct-archive/P/{StudySpec(patient_id='XPDA1').uid}/xp_sub9_MR"
    s = session(emu)
    assert s.get(emu.url + uri).json()["status"] == "RECEIVING"
    assert s.post(emu.url + uri).status_code == 200
    connection.clearcache()
    assert "xp_sub9_MR" in connection.projects["P"].subjects["xp_sub9"].experiments
