"""`--data-dir`: state and files survive a restart; saving is coalesced and flushed at stop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.integration.emulator_http import child, item, rows, session
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.dicomgen import SeriesSpec, StudySpec, zip_study


def test_state_and_files_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(projects=("P",), data_dir=tmp_path / "xnat")
    with Emulator(config) as emu:
        s = session(emu)
        s.put(emu.url + "/data/projects/P/subjects/sub1", params={"gender": "female", "age": "25"})
        s.put(
            emu.url + "/data/projects/P/subjects/sub1/experiments/e1",
            params={"xsiType": "xnat:mrSessionData", "xnat:mrSessionData/fields/field[name=k]/field": "v"},
        )
        s.put(emu.url + "/data/experiments/XNAT_E00001/scans/1", params={"xsiType": "xnat:mrScanData", "type": "T1w"})
        s.put(
            emu.url + "/data/experiments/XNAT_E00001/scans/1/resources/DICOM/files/a.dcm",
            params={"inbody": "true"},
            data=b"dicom",
        )
        s.put(emu.url + "/data/projects/P/prearchive_code/4")
    state = json.loads((tmp_path / "xnat" / "state.json").read_text())
    assert state["version"] == 1 and set(state["subjects"]) == {"XNAT_S00001"}
    with Emulator(EmulatorConfig(data_dir=tmp_path / "xnat")) as emu:
        s = session(emu)
        (subject,) = rows(s.get(emu.url + "/data/projects/P/subjects", params={"columns": "label,gender,age"}))
        assert (subject["label"], subject["gender"], subject["age"]) == ("sub1", "female", "25")
        it = item(s.get(emu.url + "/data/projects/P/experiments/e1", params={"format": "json"}))
        assert child(it, "scans/scan")[0]["data_fields"]["type"] == "T1w"
        assert child(it, "fields/field")[0]["data_fields"] == {"name": "k", "field": "v"}
        assert s.get(emu.url + "/data/experiments/XNAT_E00001/scans/1/resources/DICOM/files/a.dcm").content == b"dicom"
        assert emu.store.projects["P"].prearchive_code == 4
        assert s.put(emu.url + "/data/projects/P/subjects/sub2").text == "XNAT_S00002"  # counters kept


def test_data_dir_can_move(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(projects=("P",), data_dir=tmp_path / "a")) as emu:
        s = session(emu)
        s.put(emu.url + "/data/projects/P/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"})
        s.put(emu.url + "/data/projects/P/resources/R/files/f.txt", params={"inbody": "true"}, data=b"moved")
    (tmp_path / "a").rename(tmp_path / "b")
    with Emulator(EmulatorConfig(data_dir=tmp_path / "b")) as emu:
        assert session(emu).get(emu.url + "/data/projects/P/resources/R/files/f.txt").content == b"moved"


def test_unreadable_state_is_reported(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable emulator state"):
        Emulator(EmulatorConfig(data_dir=tmp_path))


def test_in_memory_files_are_removed_on_stop() -> None:
    emu = Emulator(EmulatorConfig(projects=("P",))).start()
    root = emu.store.root
    session(emu).put(emu.url + "/data/projects/P/resources/R/files/f.txt", params={"inbody": "true"}, data=b"x")
    assert any(root.rglob("f.txt"))
    emu.stop()
    assert not root.exists()


def test_saving_is_coalesced_while_files_arrive(tmp_path: Path) -> None:
    """A 200-file import and 20 PUTs in a burst: state.json is rewritten at most about every
    half second (plus the final save at stop), not once per file and request."""
    study = StudySpec(study_description="P").with_series(SeriesSpec(1, "T1w", instances=200))
    body = zip_study(study, tmp_path / "s.zip").read_bytes()
    with Emulator(EmulatorConfig(projects=("P",), data_dir=tmp_path / "xnat", quiet_seconds=3600)) as emu:
        assert emu.persistence is not None
        s = session(emu)
        start = time.monotonic()
        r = s.post(emu.url + "/data/services/import", data=body, headers={"Content-Type": "application/zip"})
        assert r.status_code == 200
        for i in range(20):
            assert s.put(f"{emu.url}/data/projects/P/subjects/s{i}").status_code == 201
        elapsed = time.monotonic() - start
        during = emu.persistence.saves
    assert during <= elapsed / 0.5 + 2, (during, elapsed)
    with Emulator(EmulatorConfig(data_dir=tmp_path / "xnat")) as emu:  # the final save has it all
        s = session(emu)
        assert len(rows(s.get(emu.url + "/data/projects/P/subjects"))) == 20
        (row,) = rows(s.get(emu.url + "/data/prearchive/projects/P", params={"format": "json"}))
        assert row["status"] == "RECEIVING"
        assert len(list((tmp_path / "xnat" / "prearchive").rglob("*.dcm"))) == 200


def test_changes_reach_the_disk_without_a_stop(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(projects=("P",), data_dir=tmp_path)) as emu:
        assert session(emu).put(emu.url + "/data/projects/P/subjects/early").status_code == 201
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            state = json.loads((tmp_path / "state.json").read_text()) if (tmp_path / "state.json").exists() else {}
            if "XNAT_S00001" in state.get("subjects", {}):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the background saver never wrote the change")
