"""`xsync demo`: on a machine with no XNAT and no network, plan, apply and plan again, and leave
a site and the emulator's state behind for the commands it suggests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig


def test_demo_plans_applies_and_converges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "Plan: 2 to create, 3 to import" in out
    assert "Apply complete. 14 operations done and verified, 0 failed" in out
    assert out.rstrip().endswith("No changes. The project matches the spec.")
    assert "xsync emulator serve --data-dir .xnat --project DEMO --port 8080" in err
    assert "admin" not in out  # credentials are not printed with the commands
    spec = json.loads((folder / "xsync.yaml").read_text())
    assert spec["server"] == "http://127.0.0.1:8080" and len(spec["subjects"]) == 2
    # the state it leaves is what the suggested `xsync emulator serve --data-dir .xnat` serves
    with Emulator(EmulatorConfig(data_dir=folder / ".xnat")) as emu:
        assert sorted(e.label for e in emu.store.experiments.values()) == ["sub01_mr1", "sub01_pet2", "sub02_ct1"]


def test_demo_never_writes_into_a_folder_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["demo", str(tmp_path)]) == 4
    assert "exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
