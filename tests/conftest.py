"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dcmtk import dcmtk_storescp, dcmtk_storescp_factory  # noqa: F401  (fixtures for every module)
from xsync.emulator import Emulator, EmulatorConfig

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the expected files of golden tests (tests/golden/) from the current output; review the diff.",
    )


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made once per test process."""
    from tests.network import self_signed_certificate

    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _testdata_root() -> Path:
    # The NRG files are never committed; CI always has them beside the checkout.
    return Path(os.environ.get("XSYNC_TESTDATA", REPO_ROOT.parent / "shared" / "testdata")).resolve()


@pytest.fixture(scope="session")
def nrg_root() -> Path:
    """`../shared/testdata/nrg` (or $XSYNC_TESTDATA/nrg); tests using it are skipped, with this
    reason, only where the folder is absent."""
    root = _testdata_root() / "nrg"
    if not root.is_dir():
        pytest.skip(f"NRG test data not found at {root} (set XSYNC_TESTDATA)")
    return root


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A started XNAT emulator on 127.0.0.1 (a free port), user `admin:admin` (an admin), one
    empty project `P`, state in memory, no DICOM receiver. Fresh for every test.

    Any `EmulatorConfig` field can be overridden by indirect parametrization, e.g.
        @pytest.mark.parametrize("emulator", [{"projects": ("A", "B"), "context_path": "/xnat",
                                               "dicom_port": 0, "quiet_seconds": 0.2}], indirect=True)
    Seed data fast with `emulator.seed.add_subject(...)` / `add_session(..., scans=[...])`; turn
    knobs at run time with `emulator.set_latency(ms)`, `emulator.set_faults(rate, seed)`; read
    `emulator.requests` (cleared by `emulator.clear_log()`).
    """
    overrides: dict[str, Any] = {"projects": ("P",), **getattr(request, "param", {})}
    with Emulator(EmulatorConfig(**overrides)) as emu:
        yield emu


@pytest.fixture
def admin_http(emulator: Emulator) -> requests.Session:
    """A requests session that logs in to `emulator` as admin:admin (HTTP Basic)."""
    session = requests.Session()
    session.auth = ("admin", "admin")
    return session
