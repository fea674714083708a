"""A prearchive kept in `--data-dir` survives a restart: rows and files come back, the built
document (not persisted) is rebuilt on demand, and the session can still be archived."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.integration.test_emulator_prearchive import CCF, QUIET, archived, listing, row_of, upload, wait_for
from xsync.emulator import Emulator, EmulatorConfig


def test_prearchive_survives_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    config = EmulatorConfig(projects=("CCF_TEST",), quiet_seconds=QUIET, data_dir=tmp_path / "state")
    http = requests.Session()
    http.auth = ("admin", "admin")
    zips = tmp_path / "zips"
    zips.mkdir()
    with Emulator(config) as first:
        uri = upload(first, http, zips, CCF)
        wait_for(lambda: row_of(first, http, uri)["status"] == "READY")
    with Emulator(config) as second:
        assert row_of(second, http, uri)["status"] == "READY"
        assert "<xnat:MRSession" in http.get(second.url + uri, params={"format": "xml"}).text
        r = http.post(second.url + "/data/services/archive", params={"src": uri})
        assert r.text == "/data/archive/projects/CCF_TEST/subjects/sub1/experiments/session1\r\n"
    with Emulator(config) as third:
        assert archived(third, http, "CCF_TEST", "session1") is not None
        assert listing(third, http) == []
