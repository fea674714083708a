"""`xsync state`: the project as xsync reads it, from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
def emu(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)
    with Emulator(EmulatorConfig(strict=request.param)) as e:
        e.seed.add_subject("CCF_TEST", "sub1", fields={"gender": "female", "age": "25"}, custom={"site": "LONI"})
        e.seed.add_session(
            "CCF_TEST", "sub1", "session1", fields={"scanner": "SIEMENS"},
            scans=[ScanSeed("1", fields={"type": "T1w", "series_description": "Structural"}, files=3)],
        )  # fmt: skip
        yield e


def write_spec(tmp_path: Path, server: str) -> Path:
    spec = tmp_path / "xsync.yaml"
    spec.write_text(f"version: 1\nserver: {server}\nproject: CCF_TEST\n")
    return spec


def test_state_tree_from_the_spec(emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, emu.url)
    assert main(["state", "--spec", str(spec), "--files"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("project CCF_TEST at http://127.0.0.1:")
    assert "subject sub1 (XNAT_S00001)  age=25  gender=female  fields.site=LONI" in out
    assert "  session session1 (XNAT_E00001, xnat:mrSessionData)  scanner=SIEMENS" in out
    assert "    scan 1, xnat:mrScanData  series_description=Structural  type=T1w  DICOM: 3 files" in out
    assert main(["state", "--spec", str(spec)]) == 0  # without --files: no counts, one request fewer
    out, err = capsys.readouterr()
    assert "    scan 1, xnat:mrScanData  series_description=Structural  type=T1w\n" in out
    assert "read CCF_TEST from http://127.0.0.1" in err and "1 subject, 1 session, 1 scan in" in err


def test_state_json_with_explicit_project_and_server(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state", "--project", "CCF_TEST", "--server", emu.url, "--json", "--files"]) == 0
    data = json.loads(capsys.readouterr().out)
    session = data["subjects"]["sub1"]["sessions"]["session1"]
    assert session["scans"]["1"]["resources"]["DICOM"]["file_count"] == 3
    assert data["subjects"]["sub1"]["custom"] == {"site": "LONI"}


def test_state_without_a_project_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(["state", "--server", "http://127.0.0.1:9"]) == 4
    assert "no project given" in capsys.readouterr().err


def test_state_with_wrong_credentials_fails_with_exit_1(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XNAT_PASS", "wrong-secret")
    assert main(["state", "--project", "CCF_TEST", "--server", emu.url]) == 1
    err = capsys.readouterr().err
    assert "error: login failed at 127.0.0.1: XNAT refused the user and password from XNAT_USER/XNAT_PASS" in err
    assert "wrong-secret" not in err


def test_debug_output_never_shows_the_secret_or_the_cookie(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XNAT_PASS", "s3cret-Value")
    assert main(["--debug", "state", "--project", "CCF_TEST", "--server", emu.url]) == 1
    monkeypatch.setenv("XNAT_PASS", "admin")
    assert main(["--debug", "state", "--project", "NOPE", "--server", emu.url, "--json"]) == 1
    out, err = capsys.readouterr()
    assert "s3cret-Value" not in out + err
    assert "JSESSIONID" not in out + err and "Authorization" not in out + err
    assert "error: Unable to find project NOPE. (GET http://127.0.0.1:" in err  # XNAT's own <h3> message
