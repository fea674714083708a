"""dcmtk (OFFIS' DICOM toolkit) as a DICOM peer nobody here wrote: where its tools are, how to run
them, and fixtures that run its `storescp` for a test.

Two traps, both handled here:
- pynetdicom installs console scripts named `storescu`, `storescp`, `echoscu` ... in the virtual
  environment, ahead of dcmtk's on PATH. A dcmtk tool is therefore the first executable of that
  name on PATH whose `--version` names dcmtk (`$dcmtk: storescp v3.6.7 ...`).
- dcmtk leaves Nagle's algorithm on unless the environment says `TCP_NODELAY=1`; with it on, each
  small PDU waits for a delayed ACK (500 files: 44 s instead of 0.2 s). Every tool runs with it.

The fixtures are registered in tests/conftest.py, so any test module can ask for them; a test that
needs dcmtk where it is not installed is skipped with the reason `DCMTK_MISSING` (CI installs it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.network import free_port

DCMTK_MISSING = "dcmtk is not installed: apt-get install dcmtk (needed to test against a DICOM peer nobody here wrote)"
STORESCP_AE_TITLE = "STORESCP"
START_TIMEOUT = 10.0  # seconds for storescp to listen; it takes a few milliseconds
STOP_TIMEOUT = 5.0
TOOL_TIMEOUT = 120.0  # seconds any one dcmtk command may run before the test fails


@functools.cache
def dcmtk_tool(name: str) -> str | None:
    """The path of dcmtk's tool `name` on PATH (skipping same-named tools of others), or None."""
    for folder in os.get_exec_path():
        candidate = Path(folder) / name
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:
            answer = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "dcmtk" in (answer.stdout + answer.stderr).lower():
            return str(candidate)
    return None


def require_dcmtk(name: str) -> str:
    """`dcmtk_tool(name)`, or skip the calling test saying how to install dcmtk."""
    path = dcmtk_tool(name)
    if path is None:
        pytest.skip(DCMTK_MISSING)
    return path


def dcmtk_env() -> dict[str, str]:
    """This process's environment with Nagle's algorithm off for dcmtk."""
    return {**os.environ, "TCP_NODELAY": "1"}


def run_dcmtk(name: str, *args: str, timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run dcmtk's `name` with `args` (TCP_NODELAY=1), capturing its output; never raises for its
    exit status, so a test can assert on it."""
    return subprocess.run(
        [require_dcmtk(name), *args],
        env=dcmtk_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class StoreSCP:
    """A running dcmtk storescp: call `ae_title` at `host`:`port`; what it receives is written,
    one Part-10 file per object, into `folder`."""

    host: str
    port: int
    ae_title: str
    folder: Path


@dataclass(frozen=True)
class _Process:
    scp: StoreSCP
    process: subprocess.Popen[bytes]
    log: Path


# dcmtk's log lines start with their level: "E: " (error) and "F: " (fatal) mean storescp failed at
# something (a file it could not write, an association it could not serve); "W: " and below do not.
_FAILURE_PREFIXES = ("E: ", "F: ")


def _accepts_connections(port: int) -> bool:
    # storescp logs nothing for a connection that closes before asking for an association.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _start(storescp: str, folder: Path, log: Path, fork: bool) -> _Process:
    folder.mkdir(parents=True)
    for _ in range(5):  # free_port's port can be taken before storescp binds it: try another
        port = free_port()
        mode = ["--fork"] if fork else []
        args = [storescp, "-aet", STORESCP_AE_TITLE, "+xa", "-od", str(folder), *mode, str(port)]
        with log.open("wb") as out:
            # A session of its own: with --fork the children are in its process group, ended with it.
            process = subprocess.Popen(
                args, env=dcmtk_env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _accepts_connections(port):
                return _Process(StoreSCP("127.0.0.1", port, STORESCP_AE_TITLE, folder), process, log)
            time.sleep(0.01)
        _stop(process)
    pytest.fail(f"dcmtk storescp did not start: {' '.join(args)}\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(process.pid, sig)  # the group storescp leads (start_new_session): it and its children
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


def _failures(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if line.startswith(_FAILURE_PREFIXES)]


@pytest.fixture
def dcmtk_storescp_factory(tmp_path: Path) -> Iterator[Callable[..., StoreSCP]]:
    """`start(fork=False) -> StoreSCP`: a dcmtk storescp on a free port (AE title `STORESCP`, every
    transfer syntax it supports accepted, `--fork` when asked: one child process per association),
    listening when `start` returns. All are stopped after the test, and the test fails if one
    logged an error or a fatal error."""
    storescp = require_dcmtk("storescp")
    started: list[_Process] = []

    def start(fork: bool = False) -> StoreSCP:
        n = len(started)
        running = _start(storescp, tmp_path / f"storescp-{n}", tmp_path / f"storescp-{n}.log", fork)
        started.append(running)
        return running.scp

    yield start
    problems: list[str] = []
    for running in started:
        _stop(running.process)
        problems += [f"storescp on port {running.scp.port}: {line}" for line in _failures(running.log)]
    if problems:
        pytest.fail("dcmtk storescp reported failures:\n" + "\n".join(problems))


@pytest.fixture
def dcmtk_storescp(dcmtk_storescp_factory: Callable[..., StoreSCP]) -> StoreSCP:
    """A dcmtk storescp in single-process mode (see `dcmtk_storescp_factory`)."""
    return dcmtk_storescp_factory()
