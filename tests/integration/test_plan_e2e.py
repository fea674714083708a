"""`xsync plan` end to end against the emulator: the seed's CCF_TEST example plans the subject,
the import and the PUTs; after the same state is made by hand with curl (the seed's recipe),
the plan is empty."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
def site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[tuple[Emulator, Path]]:
    shutil.copytree(REPO / "examples" / "ccf_test", tmp_path / "ccf_test", ignore=shutil.ignore_patterns(".xsync"))
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), strict=request.param)) as emu:
        yield emu, tmp_path / "ccf_test" / "xsync.yaml"


def curl(*args: str) -> str:
    done = subprocess.run(["curl", "-s", "-S", "-f", "-u", "admin:admin", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def seed_recipe_by_hand(url: str, dicom_dir: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for f in sorted(dicom_dir.rglob("*.dcm")):
            zf.write(f, f.relative_to(dicom_dir))
    dest = "/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
    # The seed's recipe, with the Content-Type XNAT 1.8 needs to take the body as a zip (curl's
    # --data-binary alone says application/x-www-form-urlencoded, which a strict server refuses)
    out = curl("-X", "POST", f"{url}/REST/services/import?inbody=true&import-handler=DICOM-zip&dest={dest}",
               "-H", "Content-Type: application/zip", "--data-binary", f"@{zip_path}")  # fmt: skip
    assert out.strip() == "/data/archive/projects/CCF_TEST/subjects/sub1/experiments/session1"
    curl("-X", "PUT", f"{url}/REST/projects/CCF_TEST/subjects/sub1?xsiType=xnat:subjectData&gender=female&age=25")
    curl("-X", "PUT", f"{url}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1"
                      "?xsiType=xnat:mrSessionData&scanner=SIEMENS")  # fmt: skip
    curl("-X", "PUT", f"{url}/REST/projects/CCF_TEST/subjects/sub1/experiments/session1/scans/1"
                      "?xsiType=xnat:mrScanData&type=T1w&series_description=Structural")  # fmt: skip


def test_ccf_test_plans_then_converges(site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]) -> None:
    emu, spec = site
    plan_file = spec.parent / "plan.json"
    code = main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode", "-o", str(plan_file)])
    out, err = capsys.readouterr()
    assert code == 2
    assert '  + subject sub1\n      + age    = "25"\n      + gender = "female"\n' in out
    assert '  + session session1 (xnat:mrSessionData)\n      + scan 1  "T1w_MPR1"  xnat:mrScanData, 3 files' in out
    assert '      ~ scanner = "SYNSTATION" -> "SIEMENS"\n' in out
    assert '      ~ type               = "T1w_MPR1" -> "T1w"\n' in out
    assert '      ~ series_description = "T1w_MPR1" -> "Structural"\n' in out
    assert out.rstrip().endswith("Plan: 1 to create, 1 to import (3 files, 4.0 KB), 2 to change, 0 to delete.")
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "scanned 1 DICOM root: 1 study, 3 files" in err and "read CCF_TEST from" in err and "Plan:" not in err

    # the saved plan renders the same, and is the --json document
    assert main(["show", str(plan_file)]) == 0
    assert capsys.readouterr().out == out
    saved = json.loads(plan_file.read_text())
    assert saved["format_version"] == 1 and saved["summary"]["import_files"] == 3
    assert [op["kind"] for op in saved["operations"]] == ["create_subject", "import_session", "update_session",
                                                          "update_scan"]  # fmt: skip

    seed_recipe_by_hand(emu.url, spec.parent / "dicom" / "sub1" / "session1", spec.parent / "dicoms.zip")
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"]) == 0
    out, _ = capsys.readouterr()
    assert "No changes. The project matches the spec." in out
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--markdown"]) == 0
    assert "**No changes.**" in capsys.readouterr().out


def test_plan_outputs_json_and_markdown_on_stdout_only(
    site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = site
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"] == {
        "create": 1, "import": 1, "import_files": 3, "import_bytes": 4026, "change": 2, "delete": 0
    }  # fmt: skip
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("### xsync plan for `CCF_TEST`") and "<details>" in md


def test_plan_conflict_exits_1_and_names_it(site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]) -> None:
    emu, spec = site
    emu.seed.add_session("CCF_TEST", "sub1", "session1", fields={"UID": "9.9.9"})
    assert main(["plan", "--spec", str(spec), "--server", emu.url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: the plan has 1 conflict with the server" in err
    assert "CCF_TEST/sub1/session1: the session on the server holds study 9.9.9" in err


def test_invalid_spec_exits_4_without_touching_the_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "xsync.yaml"
    spec.write_text("version: 1\nproject: P\nsubjects:\n  sub1:\n    gender: woman\n")
    assert main(["plan", "--spec", str(spec), "--server", "http://127.0.0.1:9"]) == 4
    assert "xsync.yaml:5:13: subjects.sub1.gender:" in capsys.readouterr().err


def test_plan_keeps_its_header_cache_private_and_out_of_git(
    site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = site
    assert main(["plan", "--spec", str(spec), "--server", emu.url]) == 0
    cache_dir = spec.parent / ".xsync"
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache_dir / "inventory.sqlite").stat().st_mode & 0o777 == 0o600
