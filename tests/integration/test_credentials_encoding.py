"""Credentials outside Latin-1 log in (sent as UTF-8, as XNAT's Spring Security reads Basic
credentials) instead of ending in an internal error; a wrong one is a clean 401."""

from __future__ import annotations

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig


@pytest.fixture
def emu() -> Emulator:
    with Emulator(EmulatorConfig(projects=("P",), users={"jürgen": "pä€ss"}, admins=("jürgen",))) as e:
        yield e


def test_a_utf8_user_and_password_log_in(emu: Emulator, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("XNAT_USER", "jürgen")
    monkeypatch.setenv("XNAT_PASS", "pä€ss")
    assert main(["state", "--project", "P", "--server", emu.url]) == 0
    monkeypatch.setenv("XNAT_PASS", "wröng€")
    assert main(["state", "--project", "P", "--server", emu.url]) == 1
    err = capsys.readouterr().err
    assert "wröng" not in err and "Traceback" not in err
