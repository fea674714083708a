"""`xsync force-unlock` from the command line, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xsync.apply.lock import read_lock
from xsync.apply.lockrecord import LOCK_LABEL, LockInfo, encode_content, new_lock
from xsync.cli.main import main
from xsync.emulator import Emulator
from xsync.xnat.client import XnatClient
from xsync.xnat.settings import ConnectionSettings, Credentials


def dead_run(client: XnatClient) -> LockInfo:
    """The lock a killed apply left behind: the resource it created, no run renewing it."""
    record = new_lock("a" * 32, owner="alice", host="ci-7", pid=1234, now=datetime.now(UTC), ttl=900)
    client.request("PUT", f"/data/projects/P/resources/{LOCK_LABEL}", params={"content": encode_content(record)})
    info = read_lock(client, "P")
    assert info is not None and info.id == record.id
    return info


@pytest.fixture
def client(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[XnatClient]:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)
    with XnatClient(ConnectionSettings(server=emulator.url, credentials=Credentials("admin", "admin"))) as c:
        yield c


def test_force_unlock_with_the_right_id_removes_the_lock(
    emulator: Emulator, client: XnatClient, capsys: pytest.CaptureFixture[str]
) -> None:
    info = dead_run(client)
    assert main(["force-unlock", info.id, "--project", "P", "--server", emulator.url]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"unlocked P: removed lock {info.id} (alice on ci-7 (pid 1234), started ")
    assert read_lock(client, "P") is None


def test_force_unlock_with_another_id_refuses_and_shows_the_holder(
    emulator: Emulator, client: XnatClient, capsys: pytest.CaptureFixture[str]
) -> None:
    info = dead_run(client)
    assert main(["force-unlock", "f" * 32, "--project", "P", "--server", emulator.url]) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"error: not unlocked: the lock of P is {info.id}, not {'f' * 32}\n")
    assert "project P is locked by another xsync run: alice on " in err
    assert f"xsync force-unlock {info.id} --project P" in err
    assert read_lock(client, "P") == info


def test_force_unlock_takes_project_and_server_from_the_spec(
    emulator: Emulator, client: XnatClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "xsync.yaml"
    spec.write_text(f"version: 1\nserver: {emulator.url}\nproject: P\n")
    assert main(["force-unlock", "0" * 32, "--spec", str(spec)]) == 1
    assert "error: project P is not locked" in capsys.readouterr().err
    info = dead_run(client)
    assert main(["force-unlock", info.id, "--spec", str(spec)]) == 0
    assert read_lock(client, "P") is None


def test_force_unlock_needs_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(["force-unlock", "0" * 32, "--server", "http://127.0.0.1:9"]) == 4
    assert "no project given: use --project or `project:` in the spec" in capsys.readouterr().err
