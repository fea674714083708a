"""`xsync apply` when things go wrong: a server failing one request in ten (503s, connections
dropped before and after the request is handled), the apply process killed with SIGKILL at
several points, and two applies at once. Each case ends with the project converged and every
local DICOM instance on the server exactly once: none missing, none twice, nothing left in the
prearchive."""

from __future__ import annotations

import collections
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.inventory.scan import scan
from xsync.testing.sites import SiteShape, write_site

P = "FAULTS"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=(P,), strict=True)) as e:
        yield e


def assert_exactly_the_local_instances(emu: Emulator, spec: Path) -> None:
    """Every local SOP instance once on the server, in the session its study is bound to."""
    local = {
        study.uid: collections.Counter({f.sop_instance_uid for s in study.series for f in s.files})
        for study in scan([spec.parent / "dicom"], cache_path=None, workers=1).studies
    }
    remote: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for session in emu.store.experiments.values():
        for sc in session.scans.values():
            for resource in sc.resources.values():
                for f in resource.files.values():
                    remote[session.fields.get("UID", "")][
                        pydicom.dcmread(f.path, stop_before_pixels=True).SOPInstanceUID
                    ] += 1
    assert dict(remote) == local
    assert emu.store.prearchive == []


def plan_code(spec: Path, emu: Emulator) -> int:
    return main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"])


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_one_request_in_ten_failing_converges_in_at_most_three_runs(
    tmp_path: Path, env: dict[str, str], emu: Emulator, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_site(tmp_path / "site", P, SiteShape(subjects=3, sessions_per_subject=2, instances=4))
    emu.set_faults(0.10, seed=seed, kinds=("503", "drop", "drop_after"))
    codes = []
    for _ in range(3):
        codes.append(main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]))
        if codes[-1] == 0:
            break
    faults = [r for r in emu.requests if r.fault]
    emu.set_faults(0.0)
    assert codes[-1] == 0, capsys.readouterr().out
    assert faults, "the dice never fired: the test would prove nothing"
    assert plan_code(spec, emu) == 0
    assert_exactly_the_local_instances(emu, spec)


# -- SIGKILL ---------------------------------------------------------------------------------------
def start_apply(spec: Path, emu: Emulator, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xsync", "apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for(emu: Emulator, seen: Callable[[str, str], bool], timeout: float = 60.0) -> None:
    """Until a request (method, path) the emulator logged satisfies `seen`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(seen(r.method, r.path) for r in list(emu.requests)):
            return
        time.sleep(0.01)
    raise AssertionError("the apply never got there")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_killed_mid_upload_the_next_run_finishes(
    tmp_path: Path, env: dict[str, str], emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # ~24 MB, more than the kernel's socket buffers hold: the client is still sending when killed
    spec = write_site(tmp_path / "site", P, SiteShape(subjects=1, sessions_per_subject=1, instances=60, rows=256))
    emu.knobs.throttle_uploads(200_000)
    process = start_apply(spec, emu, env)
    deadline = time.monotonic() + 60
    while not (emu.store.prearchive and emu.store.prearchive[0].files):  # the first entries are in
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.01)
    kill(process)
    emu.knobs.throttle_uploads(None)  # the server reads what the socket still holds, and meets the cut
    wait_for(emu, lambda method, path: path == "/data/services/import")  # done with the cut request
    [partial] = emu.store.prearchive  # cut mid-upload: what arrived before the cut waits in the prearchive
    assert 0 < len(partial.files) < 2 * 60 + 2  # two series of 60, a localizer and a report
    assert not emu.store.experiments
    assert main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]) == 0
    out = capsys.readouterr()
    assert "took over the lock" in out.err  # the killed run's lock, on this machine, with its process gone
    assert plan_code(spec, emu) == 0
    assert_exactly_the_local_instances(emu, spec)


def test_killed_between_the_import_and_the_puts_the_next_run_finishes(
    tmp_path: Path, env: dict[str, str], emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_site(tmp_path / "site", P, SiteShape(subjects=1, sessions_per_subject=1, instances=3))
    emu.set_latency(300)  # the field phases take seconds: the kill lands before the scan writes
    process = start_apply(spec, emu, env)
    wait_for(emu, lambda method, path: method == "GET" and path.endswith("/scans/ALL/files"))  # import verified
    kill(process)
    emu.set_latency(0)
    assert [e.label for e in emu.store.experiments.values()] == ["sub01_mr1"]  # imported, ...
    assert main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]) == 0
    out = capsys.readouterr().out
    assert "import session" not in out and "done    update scan FAULTS/sub01/sub01_mr1/scan:2" in out  # ... not typed
    assert plan_code(spec, emu) == 0
    assert_exactly_the_local_instances(emu, spec)


def test_two_applies_at_once_one_runs_the_other_is_refused(tmp_path: Path, env: dict[str, str], emu: Emulator) -> None:
    spec = write_site(tmp_path / "site", P, SiteShape(subjects=1, sessions_per_subject=1, instances=20, rows=64))
    emu.knobs.throttle_uploads(40_000)  # the first run's upload, and so its lock, lasts seconds
    first = start_apply(spec, emu, env)
    wait_for(emu, lambda method, path: method == "PUT" and path.endswith("/resources/xsync-lock"))
    second = start_apply(spec, emu, env)
    out2, _ = second.communicate(timeout=60)
    out1, _ = first.communicate(timeout=120)
    assert second.returncode == 1 and re.search(r"project FAULTS is locked by another xsync run", out2), out2
    assert first.returncode == 0, out1
    emu.knobs.throttle_uploads(None)
    assert plan_code(spec, emu) == 0
    assert_exactly_the_local_instances(emu, spec)


# -- Ctrl-C ------------------------------------------------------------------------------------------
def test_ctrl_c_lets_running_writes_finish_releases_the_lock_and_the_next_run_finishes(
    tmp_path: Path, env: dict[str, str], emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_site(tmp_path / "site", P, SiteShape(subjects=2, sessions_per_subject=1, instances=3))
    emu.set_latency(200)  # the field phase takes seconds: Ctrl-C lands inside it
    process = start_apply(spec, emu, env)
    wait_for(emu, lambda method, path: method == "PUT" and "/scans/" in path)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    emu.set_latency(0)
    assert process.returncode == 130, out
    assert "interrupted: nothing new starts; waiting for" in out and "Interrupted." in out and "Traceback" not in out
    requests_made = [r for r in emu.requests if r.path != "/data/JSESSION"]  # not the log-out
    last = requests_made[-1]
    assert (last.method, last.path.rsplit("/", 2)[-2]) == ("DELETE", "resources")  # the lock, released last
    assert all(r.status != 0 for r in requests_made)  # every write that started got its answer
    resources = emu.store.projects[P].resources
    assert not [r for r in resources.values() if r.label == "xsync-lock"]  # released, not left to expire
    assert main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]) == 0
    assert "took over the lock" not in capsys.readouterr().err
    assert plan_code(spec, emu) == 0
    assert_exactly_the_local_instances(emu, spec)
