"""The dcmtk fixtures themselves (tests/dcmtk.py): the tool found is dcmtk's and not pynetdicom's
namesake, and `dcmtk_storescp`, in single-process and `--fork` mode, receives what a DICOM sender
sends (here pynetdicom with TCP_NODELAY) into its folder, one file per object."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE, evt

from tests.dcmtk import StoreSCP, dcmtk_env, require_dcmtk
from xsync.emulator.cstore import nodelay_handler
from xsync.testing.dicomgen import MR_IMAGE, StudySpec, write_study

STUDY = StudySpec(patient_id="SCP001")


def send(scp: StoreSCP, paths: list[Path]) -> list[int]:
    ae = AE(ae_title="XSYNC_SCU")
    ae.add_requested_context(MR_IMAGE)
    assoc = ae.associate(scp.host, scp.port, ae_title=scp.ae_title, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay_handler)])
    assert assoc.is_established
    try:
        statuses = [int(assoc.send_c_store(dcmread(path)).Status) for path in paths]
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()
    return statuses


def received_uids(folder: Path) -> list[str]:
    return sorted(str(dcmread(path).SOPInstanceUID) for path in folder.iterdir())


@pytest.mark.parametrize("tool", ["storescp", "storescu", "echoscu"])
def test_the_tool_found_is_dcmtks(tool: str) -> None:
    path = require_dcmtk(tool)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, env=dcmtk_env(), check=True)
    assert f"$dcmtk: {tool} v" in version.stdout


@pytest.mark.parametrize("fork", [False, True])
def test_storescp_receives_every_object(
    dcmtk_storescp_factory: Callable[..., StoreSCP], tmp_path: Path, fork: bool
) -> None:
    scp = dcmtk_storescp_factory(fork=fork)
    assert scp.ae_title == "STORESCP" and list(scp.folder.iterdir()) == []
    paths = write_study(STUDY, tmp_path / "send")
    assert send(scp, paths) == [0x0000] * len(paths)
    assert received_uids(scp.folder) == sorted(str(dcmread(path).SOPInstanceUID) for path in paths)


def test_two_associations_to_the_default_storescp(dcmtk_storescp: StoreSCP, tmp_path: Path) -> None:
    paths = write_study(STUDY, tmp_path / "send")
    assert send(dcmtk_storescp, paths[:2]) == [0x0000] * 2
    assert send(dcmtk_storescp, paths[2:]) == [0x0000] * (len(paths) - 2)
    assert len(received_uids(dcmtk_storescp.folder)) == len(paths)
