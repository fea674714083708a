"""`xsync emulator serve` as scripts use it: a subprocess that prints its URL on stderr, serves,
and exits 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "xsync", "emulator", "serve", "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"(http://\S+)", line)
        assert m, line
        yield proc, m.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # drains and closes the pipes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_serves_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    with serve("--user", "alice:secret", "--project", "CCF_TEST", "--data-dir", str(tmp_path / "d")) as (proc, url):
        r = requests.put(
            f"{url}/REST/projects/CCF_TEST/subjects/sub1", params={"gender": "female"}, auth=("alice", "secret")
        )
        assert (r.status_code, r.text) == (201, "XNAT_S00001")
        assert requests.get(f"{url}/data/projects", auth=("admin", "admin")).status_code == 401  # only --user users
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.communicate(timeout=10)[1]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/data/projects", timeout=2)
    # Saved in the background every half second at most; the signal's clean stop flushes the rest.
    state = json.loads((tmp_path / "d" / "state.json").read_text())
    assert [s["label"] for s in state["subjects"].values()] == ["sub1"]


def test_serve_under_a_context_path_with_knobs() -> None:
    with serve("--context-path", "xnat", "--latency-ms", "1", "--fault-rate", "0", "--seed", "1") as (proc, url):
        assert url.endswith("/xnat")
        assert requests.get(f"{url}/data/projects", auth=("admin", "admin")).json()["ResultSet"]["Result"] == []
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_bad_user_option_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xsync", "emulator", "serve", "--port", "0", "--user", "nopassword"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 4
    assert "NAME:PASSWORD" in done.stderr


def test_serve_with_strict_quirk_and_fault_kinds() -> None:
    args = ("--project", "P", "--strict", "--quirk", "put-by-id-ignored", "--fault-kind", "drop_after")
    with serve(*args) as (proc, url):
        s = requests.Session()
        s.auth = ("admin", "admin")
        eid = s.put(f"{url}/data/projects/P/subjects/s/experiments/e", params={"xsiType": "xnat:mrSessionData"}).text
        assert s.put(f"{url}/data/experiments/{eid}", params={"note": "dropped"}).status_code == 200
        it = s.get(f"{url}/data/experiments/{eid}", params={"format": "json"}).json()["items"][0]
        assert "note" not in it["data_fields"]
        r = s.get(f"{url}/data/projects/P/subjects", params={"columns": "ID,xnat:subjectData/no_such_field"})
        assert r.status_code == 500  # strict
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_choices_match_the_emulators() -> None:
    from xsync.cli import emulator as cli
    from xsync.emulator import drops, knobs

    assert (cli.FAULT_KINDS, cli.DEFAULT_FAULT_KINDS, cli.QUIRKS) == (
        knobs.FAULT_KINDS,
        knobs.DEFAULT_FAULT_KINDS,
        drops.QUIRKS,
    )


@pytest.mark.parametrize("flag", ["--port", "--dicom-port"])
def test_a_port_in_use_is_one_error_line_naming_it(flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = ["--port", str(port)] if flag == "--port" else ["--port", "0", "--dicom-port", str(port)]
        done = subprocess.run(
            [sys.executable, "-m", "xsync", "emulator", "serve", *args], capture_output=True, text=True, timeout=30
        )
    what = "HTTP" if flag == "--port" else "DICOM"
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: cannot listen for {what} on 127.0.0.1:{port}: Address already in use (another program uses it: "
        "stop it, or give another port; 0 picks a free one)"
    ]


def test_an_emulator_in_a_test_raises_on_a_port_in_use_instead_of_exiting() -> None:
    from xsync.emulator import Emulator, EmulatorConfig
    from xsync.emulator.server import ListenError

    with Emulator(EmulatorConfig()) as first, pytest.raises(ListenError, match="cannot listen for HTTP"):
        Emulator(EmulatorConfig(port=first.port)).start()
