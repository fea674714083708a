"""`--data-dir`: state and files survive a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.emulator_http import child, item, rows, session
from xsync.emulator import Emulator, EmulatorConfig


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
