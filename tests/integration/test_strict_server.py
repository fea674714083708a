"""xsync against a server that refuses what XNAT 1.8 refuses: `xsync emulator serve --strict` as
its own process, driven by the `xsync` command; and exactly which listing columns a plan asks
for (none that XFT cannot resolve: the scan `file` is an xnat:abstractResource, with no
`format`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.inventory.scan import scan
from xsync.xnat.wire import scan_columns, session_columns, subject_columns

REPO = Path(__file__).resolve().parents[2]
XSYNC = [sys.executable, "-m", "xsync"]


@pytest.fixture
def strict_server() -> Iterator[str]:
    server = subprocess.Popen(
        [*XSYNC, "emulator", "serve", "--strict", "--port", "0", "--project", "CCF_TEST"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        m = re.search(r"XNAT emulator: (http://\S+)", line)
        assert m, line
        yield m.group(1)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()


def test_state_and_plan_work_against_a_strict_server(strict_server: str, tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "ccf_test", tmp_path / "site", ignore=shutil.ignore_patterns(".xsync"))
    env = {**os.environ, "XNAT_USER": "admin", "XNAT_PASS": "admin"}
    env.pop("XNAT_HOST", None)
    state = subprocess.run([*XSYNC, "state", "--project", "CCF_TEST", "--server", strict_server, "--files"],
                           capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert state.returncode == 0, state.stderr
    assert state.stdout.startswith("project CCF_TEST at ")
    plan = subprocess.run(
        [*XSYNC, "plan", "--spec", str(tmp_path / "site" / "xsync.yaml"), "--server", strict_server,
         "--detailed-exitcode"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert plan.returncode == 2, plan.stderr  # changes to make, and no error on the way
    assert "session will be imported from DICOM study" in plan.stdout


def test_the_columns_a_plan_asks_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    shutil.copytree(REPO / "examples" / "ccf_test", tmp_path / "site", ignore=shutil.ignore_patterns(".xsync"))
    [study] = scan([tmp_path / "site" / "dicom"], cache_path=None, workers=1).studies
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), strict=True)) as emu:
        # the bound session is there (its file counts are read), a file short
        scans = [{"id": s.scan_id, "fields": {"UID": s.uid}, "files": s.n_instances - 1} for s in study.series]
        emu.seed.add_session("CCF_TEST", "sub1", "session1", fields={"UID": study.uid}, scans=scans)
        emu.clear_log()
        assert main(["plan", "--spec", str(tmp_path / "site" / "xsync.yaml"), "--server", emu.url]) in (0, 2)
        asked = [(r.path, r.columns) for r in emu.requests if r.columns]
        # a strict server answers the old resource join with an empty 200, which no client can read
        old = requests.get(
            emu.url + "/data/projects/CCF_TEST/experiments",
            params={"format": "json", "columns": "ID,xnat:imagescandata/id,xnat:imagescandata/file/format"},
            auth=("admin", "admin"),
            timeout=10,
        )
        assert (old.status_code, old.text) == (200, "")
    mr = "xnat:mrSessionData"
    assert asked == [
        ("/data/projects/CCF_TEST/subjects", tuple(subject_columns(phi=False))),
        ("/data/projects/CCF_TEST/experiments", ("ID", "label", "xsiType", "subject_ID", "subject_label")),
        ("/data/projects/CCF_TEST/experiments", tuple(session_columns(mr))),
        ("/data/projects/CCF_TEST/experiments", tuple(scan_columns())),
    ]
    every = {c for _, cols in asked for c in cols}
    assert not any("/file/" in c for c in every)
    assert "scanner" in session_columns(mr) and "xnat:imagescandata/series_description" in scan_columns()
    # file counts come from the bound session's resource listing, one request
    assert [r.path for r in emu.requests if r.path.endswith("/scans/ALL/resources")] == [
        "/data/experiments/XNAT_E00001/scans/ALL/resources"
    ]
