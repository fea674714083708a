"""Fixtures of the command-line integration tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials for the emulator's admin in the environment, no XNAT_HOST; the environment as
    a child process would get it."""
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)
    return {**os.environ}
