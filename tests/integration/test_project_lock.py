"""The project lock against the emulator over real HTTP: acquire, refuse, wait, release, the
creation race, the heartbeat, expiry and force-unlock."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from xsync.apply.lock import ProjectLock, force_unlock, read_lock
from xsync.apply.lockrecord import LOCK_FILE, LOCK_LABEL, encode_content, new_lock
from xsync.emulator import Emulator
from xsync.emulator.store import Resource
from xsync.errors import LockError, ServerError
from xsync.xnat.client import XnatClient
from xsync.xnat.settings import ConnectionSettings, Credentials, RetryPolicy

WAIT = 20.0  # seconds a test waits for a background event before failing (never a measured duration)


@pytest.fixture
def connect(emulator: Emulator) -> Iterator[Callable[[], XnatClient]]:
    """Clients of their own, as two CI machines would have."""
    opened: list[XnatClient] = []

    def make() -> XnatClient:
        client = XnatClient(ConnectionSettings(server=emulator.url, credentials=Credentials("admin", "admin"))).open()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def lock_resources(emulator: Emulator) -> list[Resource]:
    with emulator.store.lock:
        return sorted((r for r in emulator.store.projects["P"].resources.values() if r.label == LOCK_LABEL),
                      key=lambda r: r.id)  # fmt: skip


def hide_from_the_exists_check(emulator: Emulator, resource_id: int) -> None:
    """XNAT checks for an existing resource, then inserts, with nothing between: a lock created
    inside another run's window is not seen by that run's check. The emulator's PUT is atomic, so
    the window is opened by hand: the resource is re-keyed in the store (which keys resources by
    label) under its id, still listed with its label but no longer found by it."""
    with emulator.store.lock:
        resources = emulator.store.projects["P"].resources
        r = resources.pop(LOCK_LABEL)
        assert r.id == resource_id
        resources[str(r.id)] = r


def plant_lock(emulator: Emulator, content: str, resource_id: int | None = None) -> int:
    """A lock resource whose insert landed inside our check-then-insert window (see above)."""
    with emulator.store.lock:
        rid = resource_id if resource_id is not None else emulator.store.next_resource_pk()
        emulator.store.projects["P"].resources[str(rid)] = Resource(id=rid, label=LOCK_LABEL, content=content)
    return rid


def a_record(lock_id: str, *, owner: str = "bob", now: datetime | None = None, ttl: float = 900) -> str:
    info = new_lock(lock_id, owner=owner, host="other-ci", pid=99, now=now or datetime.now(UTC), ttl=ttl)
    return encode_content(info)


# -- acquire and release -----------------------------------------------------------------------------
def test_acquire_records_the_owner_with_the_create_and_release_removes_it(
    emulator: Emulator, connect: Callable[[], XnatClient], admin_http: requests.Session
) -> None:
    lock = ProjectLock(connect(), "P", user="alice", settle=0)
    info = lock.acquire()
    assert (info.id, info.owner, info.host, info.pid) == (lock.lock_id, "alice", socket.gethostname()[:48], os.getpid())
    assert info.expires - info.started == timedelta(seconds=900)
    assert read_lock(connect(), "P") == info
    puts = [r for r in emulator.requests if r.method == "PUT" and r.path.endswith(f"/resources/{LOCK_LABEL}")]
    assert len(puts) == 1  # one request creates the lock and names its owner
    rows = admin_http.get(f"{emulator.url}/data/projects/P/resources", params={"format": "json"}).json()
    [row] = rows["ResultSet"]["Result"]
    assert row["label"] == LOCK_LABEL and f"id={lock.lock_id} owner=alice" in row["content"]
    assert row["xnat_abstractresource_id"] == str(info.resource_id) and row["file_count"] == "1"
    document = admin_http.get(f"{emulator.url}/data/projects/P/resources/{info.resource_id}/files/{LOCK_FILE}").json()
    assert document["id"] == lock.lock_id and "renewed" in document
    lock.release()
    assert lock.info is None and read_lock(connect(), "P") is None
    assert lock_resources(emulator) == []


def test_a_second_run_is_refused_with_a_message_naming_the_holder(
    emulator: Emulator, connect: Callable[[], XnatClient]
) -> None:
    holder = ProjectLock(connect(), "P", user="alice", settle=0)
    info = holder.acquire()
    other = ProjectLock(connect(), "P", user="bob", settle=0)
    with pytest.raises(LockError) as refused:
        other.acquire()
    message = str(refused.value)
    assert message.startswith("project P is locked by another xsync run: alice on ")
    assert f"(pid {os.getpid()}), started {info.started:%Y-%m-%dT%H:%M:%SZ}" in message
    assert f"expires {info.expires:%Y-%m-%dT%H:%M:%SZ}" in message
    assert f"lock id: {info.id}" in message
    assert "--lock-timeout SECONDS" in message and f"xsync force-unlock {info.id} --project P" in message
    assert other.info is None
    assert [r.id for r in lock_resources(emulator)] == [info.resource_id]  # the holder's, untouched
    holder.release()


def test_acquire_with_a_timeout_gets_the_lock_once_the_holder_releases(connect: Callable[[], XnatClient]) -> None:
    holder = ProjectLock(connect(), "P", user="alice", settle=0)
    holder.acquire()
    refused_once = threading.Event()

    def wait_a_little(seconds: float) -> None:
        refused_once.set()  # the waiter found the lock held and is polling
        time.sleep(seconds)

    def release_when_the_waiter_waits() -> None:
        if refused_once.wait(WAIT):
            holder.release()

    releaser = threading.Thread(target=release_when_the_waiter_waits)
    releaser.start()
    waiter = ProjectLock(connect(), "P", user="bob", poll_interval=0.05, settle=0, sleep=wait_a_little)
    info = waiter.acquire(timeout=WAIT)
    releaser.join()
    assert refused_once.is_set()
    assert info.id == waiter.lock_id and info.owner == "bob"
    assert read_lock(connect(), "P") == info
    waiter.release()


def test_a_timeout_that_runs_out_refuses_and_says_how_long_it_waited(connect: Callable[[], XnatClient]) -> None:
    with ProjectLock(connect(), "P", user="alice", settle=0):
        waiter = ProjectLock(connect(), "P", user="bob", poll_interval=0.01, settle=0)
        with pytest.raises(LockError, match=r"still held after waiting 0\.05 s"):
            waiter.acquire(timeout=0.05)


def test_release_leaves_another_runs_lock_alone(emulator: Emulator, connect: Callable[[], XnatClient]) -> None:
    first = ProjectLock(connect(), "P", user="alice", settle=0)
    first_info = first.acquire()
    force_unlock(connect(), "P", first_info.id)  # an operator broke it, thinking the run dead
    second = ProjectLock(connect(), "P", user="bob", settle=0)
    second_info = second.acquire()
    first.release()
    assert read_lock(connect(), "P") == second_info
    assert [r.id for r in lock_resources(emulator)] == [second_info.resource_id]
    second.release()


def test_a_context_manager_releases_even_when_the_block_fails(connect: Callable[[], XnatClient]) -> None:
    with pytest.raises(RuntimeError), ProjectLock(connect(), "P", user="alice", settle=0) as lock:
        assert lock.info is not None and read_lock(connect(), "P") == lock.info
        raise RuntimeError("apply failed")
    assert read_lock(connect(), "P") is None


def test_a_retried_create_whose_first_try_landed_is_recognised_as_ours(
    emulator: Emulator, connect: Callable[[], XnatClient], admin_http: requests.Session
) -> None:
    lock = ProjectLock(connect(), "P", user="alice", settle=0)
    # The first PUT arrived but its answer was lost; the retry is answered 409.
    first_try = a_record(lock.lock_id, owner="alice")
    response = admin_http.put(f"{emulator.url}/data/projects/P/resources/{LOCK_LABEL}", params={"content": first_try})
    assert response.status_code == 200
    info = lock.acquire()
    assert info.id == lock.lock_id
    assert [r.id for r in lock_resources(emulator)] == [info.resource_id]
    lock.release()


def test_a_start_that_fails_half_way_leaves_no_lock_behind(emulator: Emulator) -> None:
    settings = ConnectionSettings(
        server=emulator.url, credentials=Credentials("admin", "admin"), retry=RetryPolicy(attempts=1, backoff=0.01)
    )
    with XnatClient(settings) as client:
        lock = ProjectLock(client, "P", user="alice", settle=0)
        emulator.knobs.queue_faults(None, None, "503", "503")  # create, listing, then the lock file fails
        with pytest.raises(ServerError):
            lock.acquire()
    assert lock.info is None and lock._beat is None
    assert lock_resources(emulator) == []
    calls = [f"{r.method} {r.status}" for r in emulator.requests if "JSESSION" not in r.path]
    assert calls == ["PUT 200", "GET 200", "PUT 503", "PUT 503", "GET 200", "DELETE 200"]


# -- the creation race ---------------------------------------------------------------------------------
def test_two_runs_creating_at_once_resolve_to_one_holder(emulator: Emulator, connect: Callable[[], XnatClient]) -> None:
    """B creates first and, while it settles, A's create lands in B's window: both PUTs succeed.
    A lists, finds B's lower id, deletes its own and is refused; B lists again and holds."""
    a = ProjectLock(connect(), "P", user="alice", settle=0)
    refusals: list[LockError] = []

    def a_creates_during_bs_settle(seconds: float) -> None:
        hide_from_the_exists_check(emulator, lock_resources(emulator)[0].id)
        try:
            a.acquire()
        except LockError as e:
            refusals.append(e)

    b = ProjectLock(connect(), "P", user="bob", settle=0.5, sleep=a_creates_during_bs_settle)
    b_info = b.acquire()
    assert b_info.id == b.lock_id and a.info is None
    assert len(refusals) == 1 and "locked by another xsync run: bob on" in str(refusals[0])
    assert [r.id for r in lock_resources(emulator)] == [b_info.resource_id]
    creates = [r for r in emulator.requests if r.method == "PUT" and r.path.endswith(f"/resources/{LOCK_LABEL}")]
    assert [r.status for r in creates] == [200, 200]  # both creates succeeded, as in XNAT's window
    b.release()


def test_a_run_whose_create_raced_a_lower_id_deletes_its_own_and_reports_the_winner(
    emulator: Emulator, connect: Callable[[], XnatClient]
) -> None:
    winner = plant_lock(emulator, a_record("b" * 32))
    a = ProjectLock(connect(), "P", user="alice", settle=0)
    with pytest.raises(LockError, match=f"(?s)bob on other-ci \\(pid 99\\).*lock id: {'b' * 32}"):
        a.acquire()
    assert [r.id for r in lock_resources(emulator)] == [winner]
    deletes = [r.path for r in emulator.requests if r.method == "DELETE" and "/resources/" in r.path]
    assert deletes == [f"/data/projects/P/resources/{winner + 1}"]  # its own, by numeric id


def test_a_run_with_the_lowest_id_holds_and_leaves_the_loser_to_delete_its_own(
    emulator: Emulator, connect: Callable[[], XnatClient]
) -> None:
    a = ProjectLock(connect(), "P", user="alice", settle=0)
    plant_lock(emulator, a_record("b" * 32), resource_id=1000)  # committed after ours, with a later id
    info = a.acquire()
    assert info.id == a.lock_id and read_lock(connect(), "P") == info
    assert [r.id for r in lock_resources(emulator)] == [info.resource_id, 1000]
    a.release()
    assert [r.id for r in lock_resources(emulator)] == [1000]


def test_a_lower_id_committed_while_settling_wins(emulator: Emulator, connect: Callable[[], XnatClient]) -> None:
    """A slow insert drew its id before ours but committed after our first listing: the second
    listing, after `settle`, sees it."""
    drawn_first = emulator.store.next_resource_pk()

    def slow_insert_commits(seconds: float) -> None:
        plant_lock(emulator, a_record("c" * 32, owner="carol"), resource_id=drawn_first)

    a = ProjectLock(connect(), "P", user="alice", settle=0.5, sleep=slow_insert_commits)
    with pytest.raises(LockError, match="carol on other-ci"):
        a.acquire()
    assert [r.id for r in lock_resources(emulator)] == [drawn_first]


def test_the_heartbeat_reports_a_race_lost_after_settling(
    emulator: Emulator, connect: Callable[[], XnatClient]
) -> None:
    drawn_first = emulator.store.next_resource_pk()
    a = ProjectLock(connect(), "P", user="alice", ttl=0.3, settle=0)
    a.acquire()
    a.ensure_held()
    plant_lock(emulator, a_record("c" * 32, owner="carol"), resource_id=drawn_first)
    assert _wait_until_lost(a)
    with pytest.raises(LockError, match="is not the oldest: another run's lock c{32}"):
        a.ensure_held()
    a.release()  # ours is deleted; carol's stays
    assert [r.id for r in lock_resources(emulator)] == [drawn_first]


def _wait_until_lost(lock: ProjectLock) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            lock.ensure_held()
        except LockError:
            return True
        time.sleep(0.02)
    return False


# -- heartbeat and expiry -----------------------------------------------------------------------------
def test_the_heartbeat_extends_the_expiry_and_stops_on_release(connect: Callable[[], XnatClient]) -> None:
    lock = ProjectLock(connect(), "P", user="alice", ttl=0.6, settle=0)
    first = lock.acquire()
    reader = connect()
    deadline = time.monotonic() + WAIT
    seen = first.expires
    while seen <= first.expires and time.monotonic() < deadline:
        time.sleep(0.05)
        current = read_lock(reader, "P")
        assert current is not None and current.id == first.id
        seen = current.expires
    assert seen > first.expires
    assert lock.info is not None and lock.info.expires >= seen
    beat = lock._beat
    assert beat is not None and beat.is_alive()
    lock.release()
    assert not beat.is_alive()
    assert read_lock(reader, "P") is None


def test_the_heartbeat_notices_a_force_unlock_and_writes_nothing_more(
    emulator: Emulator, connect: Callable[[], XnatClient]
) -> None:
    # The first beat comes a second after the acquire, long after the force-unlock below. (A beat
    # that listed before an unlock and wrote after it would leave a resource named by the old id:
    # the window docs/apply.md describes.)
    lock = ProjectLock(connect(), "P", user="alice", ttl=3.0, settle=0)
    info = lock.acquire()
    force_unlock(connect(), "P", info.id)
    assert _wait_until_lost(lock)
    with pytest.raises(LockError, match="was removed"):
        lock.ensure_held()
    lock.release()  # nothing left to delete, and nothing recreated under the old id
    assert emulator.store.projects["P"].resources == {}


def test_an_expired_lock_still_refuses_and_says_it_expired(
    emulator: Emulator, connect: Callable[[], XnatClient], admin_http: requests.Session
) -> None:
    long_ago = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    dead = a_record("d" * 32, owner="dave", now=long_ago, ttl=900)  # a run killed in January
    response = admin_http.put(f"{emulator.url}/data/projects/P/resources/{LOCK_LABEL}", params={"content": dead})
    assert response.status_code == 200
    lock = ProjectLock(connect(), "P", user="alice", settle=0)
    with pytest.raises(LockError) as refused:
        lock.acquire()
    message = str(refused.value)
    assert "dave on other-ci (pid 99), started 2024-01-01T08:00:00Z, expired 2024-01-01T08:15:00Z" in message
    assert "The lock expired at 2024-01-01T08:15:00Z" in message
    assert f"xsync force-unlock {'d' * 32} --project P" in message
    assert len(lock_resources(emulator)) == 1 and lock.info is None


def test_a_lock_resource_that_cannot_be_read_refuses_and_can_be_forced(
    emulator: Emulator, connect: Callable[[], XnatClient], admin_http: requests.Session
) -> None:
    assert admin_http.put(f"{emulator.url}/data/projects/P/resources/{LOCK_LABEL}").status_code == 200
    rid = lock_resources(emulator)[0].id
    with pytest.raises(LockError, match=f"(?s)whose record cannot be read.*xsync force-unlock resource-{rid}"):
        ProjectLock(connect(), "P", user="alice", settle=0).acquire()
    assert force_unlock(connect(), "P", f"resource-{rid}").resource_id == rid
    assert lock_resources(emulator) == []


def test_force_unlock_refuses_another_id_and_an_unlocked_project(connect: Callable[[], XnatClient]) -> None:
    with pytest.raises(LockError, match="project P is not locked"):
        force_unlock(connect(), "P", "0" * 32)
    with ProjectLock(connect(), "P", user="alice", settle=0) as lock:
        with pytest.raises(LockError, match=f"the lock of P is {lock.lock_id}, not {'0' * 32}"):
            force_unlock(connect(), "P", "0" * 32)
        assert read_lock(connect(), "P") == lock.info
