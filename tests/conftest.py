"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


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
