"""Latency, faults and the request log, switched at run time (tests and benchmarks seed data
first and turn the knobs on afterwards)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.integration.emulator_http import session
from xsync.emulator import Emulator, EmulatorConfig


def _outcomes(emu: Emulator, n: int) -> list[str]:
    out = []
    for _ in range(n):
        try:
            r = requests.get(emu.url + "/data/projects", auth=("admin", "admin"), timeout=5)
            out.append(str(r.status_code))
        except requests.ConnectionError:
            out.append("drop")
    return out


def test_fault_dice_replay_with_the_same_seed(emulator: Emulator) -> None:
    emulator.set_faults(0.5, seed=1234)
    first = _outcomes(emulator, 30)
    emulator.set_faults(0.5, seed=1234)
    second = _outcomes(emulator, 30)
    assert first == second
    assert {"200", "503", "drop"} == set(first)  # both kinds of fault and normal answers
    emulator.set_faults(0.5, seed=99)
    assert _outcomes(emulator, 30) != first
    emulator.set_faults(0.0)
    assert set(_outcomes(emulator, 10)) == {"200"}


def test_fault_rate_from_the_config() -> None:
    # The config's rate and seed drive the dice from the first request: the same sequence as
    # the run-time knob set to the same values replays.
    with Emulator(EmulatorConfig(projects=("P",), fault_rate=0.5, seed=1234)) as emu:
        from_config = _outcomes(emu, 30)
        assert {"200", "503", "drop"} == set(from_config)
        logged = [r.status for r in emu.requests]
        assert logged == [0 if o == "drop" else int(o) for o in from_config]
        emu.set_faults(0.5, seed=1234)
        assert _outcomes(emu, 30) == from_config
    with Emulator(EmulatorConfig(projects=("P",), fault_rate=1.0, seed=5)) as emu:
        assert set(_outcomes(emu, 10)) <= {"503", "drop"}


def test_latency_knob_delays_every_request(emulator: Emulator) -> None:
    s = session(emulator)
    emulator.set_latency(150)
    start = time.monotonic()
    assert s.get(emulator.url + "/data/projects").ok
    assert time.monotonic() - start >= 0.15
    emulator.set_latency(0)
    assert emulator.knobs.latency_ms == 0


def test_request_log_and_clear(emulator: Emulator) -> None:
    s = session(emulator)
    s.put(emulator.url + "/data/projects/P/subjects/sub1", params={"gender": "male"})
    requests.get(emulator.url + "/REST/projects")
    log = emulator.requests
    assert [(r.method, r.path, r.query, r.status, r.user) for r in log] == [
        ("PUT", "/data/projects/P/subjects/sub1", "gender=male", 201, "admin"),
        ("GET", "/REST/projects", "", 401, ""),
    ]
    emulator.clear_log()
    assert emulator.requests == []


@pytest.mark.parametrize("emulator", [{"latency_ms": 100, "fault_rate": 0.0, "seed": 3}], indirect=True)
def test_knobs_from_the_config(emulator: Emulator) -> None:
    assert emulator.knobs.latency_ms == 100
    start = time.monotonic()
    assert session(emulator).get(emulator.url + "/data/auth").ok
    assert time.monotonic() - start >= 0.1


def _fates(emu: Emulator, n: int) -> list[str]:
    """What the client sees of n GETs: the status, or "none" without an answer."""
    out = []
    for _ in range(n):
        try:
            out.append(str(requests.get(emu.url + "/data/projects", auth=("admin", "admin"), timeout=5).status_code))
        except requests.ConnectionError:
            out.append("none")
    return out


def test_fault_kinds_mix_and_replay(emulator: Emulator) -> None:
    kinds = ("503", "429", "drop", "drop_after")
    emulator.set_faults(0.8, seed=7, kinds=kinds)
    emulator.clear_log()
    first = _fates(emulator, 60)
    logged = [r.fault for r in emulator.requests]
    assert set(logged) == {"", *kinds}
    expected = {"": "200", "503": "503", "429": "429", "drop": "none", "drop_after": "none"}
    assert first == [expected[f] for f in logged]
    emulator.set_faults(0.8, seed=7, kinds=kinds)
    assert _fates(emulator, 60) == first
    with pytest.raises(ValueError, match="fault kinds"):
        emulator.set_faults(0.5, kinds=("teapot",))


def test_default_fault_kinds_are_503_and_drop() -> None:
    with Emulator(EmulatorConfig(projects=("P",), fault_rate=1.0, seed=2)) as emu:
        _fates(emu, 30)
        assert {r.fault for r in emu.requests} == {"503", "drop"}


def test_drop_after_handles_the_request_then_sends_nothing(emulator: Emulator) -> None:
    # The case that makes a blind retry of a POST duplicate data: the write happened.
    s = session(emulator)
    emulator.knobs.queue_faults("drop_after")
    with pytest.raises(requests.ConnectionError):
        s.post(emulator.url + "/data/projects/P/subjects", params={"label": "s1"})
    assert emulator.store.subject("P", "s1") is not None
    (logged,) = [r for r in emulator.requests if r.method == "POST"]
    assert (logged.status, logged.fault, logged.user) == (0, "drop_after", "admin")
    r = s.post(emulator.url + "/data/projects/P/subjects", params={"label": "s1"})
    assert r.status_code == 409  # the retry meets the first attempt's subject


BIG = 24 * 1024 * 1024  # more than the socket buffers hold: the client is still sending


def test_drop_during_a_large_upload(emulator: Emulator) -> None:
    s = session(emulator)
    url = emulator.url + "/data/projects/P/resources/R/files/big.bin"
    emulator.knobs.queue_faults("drop")
    with pytest.raises(requests.ConnectionError):
        s.put(url, params={"inbody": "true"}, data=b"\0" * BIG)
    assert emulator.store.projects["P"].resources == {}
    emulator.knobs.queue_faults("drop_after")
    with pytest.raises(requests.ConnectionError):
        s.put(url, params={"inbody": "true"}, data=b"\1" * BIG)
    (entry,) = emulator.store.projects["P"].resources["R"].files.values()
    assert entry.size == BIG
    assert s.get(emulator.url + "/data/projects").status_code == 200  # the server serves on


def test_queued_faults_are_checked(emulator: Emulator) -> None:
    with pytest.raises(ValueError):
        emulator.knobs.queue_faults("503", "teapot")
    emulator.knobs.queue_faults("429", None)
    assert _fates(emulator, 3) == ["429", "200", "200"]


def test_request_log_shows_a_listings_columns(emulator: Emulator) -> None:
    s = session(emulator)
    s.get(emulator.url + "/data/projects/P/experiments", params={"columns": "ID,xnat:imagescandata/file/label"})
    s.get(emulator.url + "/data/projects/P/subjects")
    listing, plain = emulator.requests[-2:]
    assert listing.columns == ("ID", "xnat:imagescandata/file/label")
    assert listing.params["columns"] == ["ID,xnat:imagescandata/file/label"]
    assert plain.columns == ()


def test_uploads_can_be_throttled_to_act_while_one_is_under_way(emulator: Emulator) -> None:
    import threading

    import requests

    emulator.knobs.throttle_uploads(100_000)  # 100 KB/s: a second for 100 KB
    emulator.seed.add_project("P")
    done: list[int] = []

    def upload() -> None:
        r = requests.put(f"{emulator.url}/data/projects/P/resources/R/files/a.bin", params={"inbody": "true"},
                         data=b"x" * 100_000, auth=("admin", "admin"),
                         headers={"Content-Type": "application/octet-stream"}, timeout=30)  # fmt: skip
        done.append(r.status_code)

    worker = threading.Thread(target=upload)
    worker.start()
    worker.join(timeout=0.3)
    resources = emulator.store.projects["P"].resources
    assert worker.is_alive() and ("R" not in resources or not resources["R"].files)  # still coming in
    worker.join(timeout=30)
    assert done == [200] and emulator.store.projects["P"].resources["R"].files["a.bin"].size == 100_000
    emulator.knobs.throttle_uploads(None)
