"""pyxnat, unmodified, against the emulator over real HTTP: it logs in, creates subjects,
sessions and scans, sets and reads their fields with `attrs`, lists them with `select`, and
searches with `select(type, columns).where(criteria)`. What it wrote is checked through plain
REST calls.

One emulator and one interface serve the module; every test works on its own subject."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyxnat import Interface

from tests.integration.emulator_http import child, item, session
from xsync.emulator import Emulator, EmulatorConfig


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("P",))) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def intf(emu: Emulator) -> Iterator[Interface]:
    interface = Interface(server=emu.url, user="admin", password="admin")
    yield interface
    interface.disconnect()


def rest_item(emu: Emulator, path: str) -> dict[str, Any]:
    return item(session(emu).get(emu.url + path, params={"format": "json"}))


def test_connects_and_lists_projects(emu: Emulator, intf: Interface) -> None:
    assert intf.version()["version"] == "1.8.10"  # /data/version is a 404 in 1.8: buildInfo
    assert list(intf.select.projects().get()) == ["P"]
    assert intf.select.project("P").exists()
    assert not intf.select.project("NOPE").exists()


def test_create_subject_and_set_fields(emu: Emulator, intf: Interface) -> None:
    subject = intf.select.project("P").subject("py_sub1")
    subject.create()
    assert subject.exists()
    subject.attrs.set("gender", "female")
    subject.attrs.mset(
        {"xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/age": "25", "handedness": "left"}
    )
    assert (subject.attrs.get("gender"), subject.attrs.get("age"), subject.attrs.get("handedness")) == (
        "female",
        "25",
        "left",
    )
    data = rest_item(emu, "/data/projects/P/subjects/py_sub1")
    assert data["data_fields"]["ID"] == subject.id()
    demographics = child(data, "demographics")[0]["data_fields"]
    assert (demographics["gender"], demographics["age"], demographics["handedness"]) == ("female", 25, "left")


def test_create_session_with_scanner_and_custom_variable(emu: Emulator, intf: Interface) -> None:
    mr = intf.select.project("P").subject("py_sub2").experiment("py_sub2_MR")
    mr.create(experiments="xnat:mrSessionData")
    assert mr.datatype() == "xnat:mrSessionData"
    mr.attrs.set("xnat:mrSessionData/scanner", "MEDPC")
    mr.attrs.set("xnat:mrSessionData/fields/field[name=site]/field", "A")
    mr.attrs.set("xnat:mrSessionData/date", "2020-06-15")
    assert (mr.attrs.get("scanner"), mr.attrs.get("date")) == ("MEDPC", "2020-06-15")
    data = rest_item(emu, "/data/projects/P/experiments/py_sub2_MR")
    assert data["data_fields"]["scanner"] == "MEDPC"
    assert [f["data_fields"] for f in child(data, "fields/field")] == [{"name": "site", "field": "A"}]
    pet = intf.select.project("P").subject("py_sub2").experiment("py_sub2_PET")
    pet.create(experiments="xnat:petSessionData")
    assert rest_item(emu, "/data/projects/P/experiments/py_sub2_PET")["meta"]["xsi:type"] == "xnat:petSessionData"


def test_create_scan_and_set_fields(emu: Emulator, intf: Interface) -> None:
    mr = intf.select.project("P").subject("py_sub3").experiment("py_sub3_MR")
    mr.create(experiments="xnat:mrSessionData")
    scan = mr.scan("1")
    scan.create(scans="xnat:mrScanData")
    scan.attrs.mset(
        {
            "xnat:mrScanData/type": "T1w",
            "xnat:mrScanData/series_description": "T1 MPRAGE",
            "xnat:mrScanData/quality": "usable",
        }
    )
    scan.attrs.set("xnat:mrScanData/quality", "questionable")
    assert (scan.attrs.get("type"), scan.attrs.get("quality")) == ("T1w", "questionable")
    assert scan.attrs.get("xnat:mrScanData/series_description") == "T1 MPRAGE"
    fields = rest_item(emu, "/data/projects/P/experiments/py_sub3_MR/scans/1")["data_fields"]
    assert (fields["type"], fields["series_description"], fields["quality"]) == ("T1w", "T1 MPRAGE", "questionable")
    assert list(mr.scans().get()) == ["1"]


def test_select_lists_the_hierarchy(emu: Emulator, intf: Interface) -> None:
    emu.seed.add_session("P", "py_sub4", "py_sub4_MR", scans=[{"id": "7"}, {"id": "8"}])
    subject_id = rest_item(emu, "/data/projects/P/subjects/py_sub4")["data_fields"]["ID"]
    assert subject_id in list(intf.select.project("P").subjects().get())
    experiments = intf.select.project("P").subject("py_sub4").experiments()
    assert [e.label() for e in experiments] == ["py_sub4_MR"]
    assert sorted(intf.select.project("P").subject("py_sub4").experiment("py_sub4_MR").scans().get()) == ["7", "8"]


def test_search_with_where(emu: Emulator, intf: Interface) -> None:
    emu.seed.add_subject("P", "py_sub5", fields={"gender": "male"})
    emu.seed.add_subject("P", "py_sub6", fields={"gender": "female"})
    table = intf.select("xnat:subjectData", ["xnat:subjectData/SUBJECT_LABEL", "xnat:subjectData/GENDER_TEXT"]).where(
        [("xnat:subjectData/SUBJECT_LABEL", "LIKE", "py_sub5"), "AND"]
    )
    assert [(r["subject_label"], r["gender_text"]) for r in table] == [("py_sub5", "male")]
    assert "xnat:mrSessionData" in intf.inspect.datatypes()
    assert "xnat:subjectData/GENDER_TEXT" in intf.inspect.datatypes("xnat:subjectData")
