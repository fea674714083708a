"""State file round trip (pure, on a temporary directory)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from xsync.emulator import persist
from xsync.emulator.seed import Seeder
from xsync.emulator.store import PrearchiveSession, Store


def test_round_trip_keeps_everything_and_relative_paths(tmp_path: Path) -> None:
    st = Store(tmp_path)
    seed = Seeder(st)
    seed.add_project("P", members=["alice"], prearchive_code=5)
    seed.add_session(
        "P", "s", "e", fields={"scanner": "X"}, custom={"k": "v"}, scans=[{"id": "1", "resources": {"R": {"a": b"1"}}}]
    )
    st.prearchive.append(
        PrearchiveSession(project="P", timestamp="20200101_000000000", folder="f", name="f", subject="s", tag="1.2")
    )
    saver = persist.Persistence(st, tmp_path)
    saver.save()
    text = (tmp_path / persist.STATE_FILE).read_text()
    assert str(tmp_path) not in text  # paths inside the data dir are relative
    again = Store(tmp_path)
    assert persist.Persistence(again, tmp_path).restore()
    assert again.projects["P"] == st.projects["P"]
    assert again.subjects == st.subjects and again.experiments == st.experiments
    assert again.counters == st.counters
    assert [dataclasses.replace(r, last_file_monotonic=0.0) for r in again.prearchive] == [
        dataclasses.replace(r, last_file_monotonic=0.0) for r in st.prearchive
    ]
    assert again.subject("P", "s") is again.subjects["XNAT_S00001"]  # label index rebuilt
