"""`xsync plan` / `xsync show` / `xsync state` behaviours at the command line: where files go,
what stays hidden, how bad options are refused, how rules and defaults resolve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.dicomgen import SECONDARY_CAPTURE, SeriesSpec, StudySpec, make_dataset, to_bytes, write_study


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
def emu(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """Every test runs against the lenient emulator and against XNAT 1.8's strict refusals."""
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)
    with Emulator(EmulatorConfig(projects=("P",), strict=request.param)) as e:
        yield e


def site(tmp_path: Path, spec_body: str, study: StudySpec | None = None) -> Path:
    roots = ""
    if study is not None:
        write_study(study, tmp_path / "dicom" / "s1")
        roots = "dicom: {roots: [dicom]}\n"
    spec = tmp_path / "xsync.yaml"
    spec.write_text("version: 1\nproject: P\n" + roots + spec_body)
    return spec


STUDY = StudySpec(
    patient_id="PAT_SECRET_ID",
    patient_name="Secret^Patient",
    birth_date="19500101",
    series=(
        SeriesSpec(1, "T1w_MPR", instances=2),
        SeriesSpec(99, "Screenshot", instances=1, modality="OT", sop_class_uid=SECONDARY_CAPTURE),
    ),
)
BOUND = "subjects:\n  s1:\n    sessions:\n      e1:\n        dicom: {path: dicom/s1}\n"


# -- saving -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nodir/plan.json", "does not exist"),
        ("xsync.yaml", "that is the spec itself"),
        ("notes.txt", "is not a saved xsync plan; not overwriting it"),
        ("/dev/null", "not a regular file"),
    ],
)
def test_plan_refuses_unsafe_save_targets(
    emu: Emulator, tmp_path: Path, target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = site(tmp_path, "")
    (tmp_path / "notes.txt").write_text("keep me")
    out = target if target.startswith("/") else str(tmp_path / target)
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "-o", out]) == 4
    assert message in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert Path("/dev/null").is_char_device()


def test_a_saved_plan_is_overwritten_by_the_next_plan(emu: Emulator, tmp_path: Path) -> None:
    spec = site(tmp_path, "")
    plan = tmp_path / "plan.json"
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "-o", str(plan)]) == 0
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "-o", str(plan)]) == 0
    assert json.loads(plan.read_text())["format_version"] == 1


@pytest.mark.parametrize(("content", "why"), [("[]", "not a JSON object"), ("null", "not a JSON object"),
                                              ("{", "not JSON (line 1, column 2)"),
                                              ('{"format_version": 2}', "format_version")])  # fmt: skip
def test_show_refuses_what_is_not_a_plan(
    tmp_path: Path, content: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "plan.json"
    f.write_text(content)
    assert main(["show", str(f)]) == 4
    assert why in capsys.readouterr().err


# -- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["0", "-1", "nan"])
def test_bad_timeouts_are_usage_errors(emu: Emulator, tmp_path: Path, timeout: str) -> None:
    assert main(["plan", "--spec", str(site(tmp_path, "")), "--server", emu.url, "--timeout", timeout]) == 4


def test_insecure_is_said_on_stderr(emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--spec", str(site(tmp_path, "")), "--server", emu.url, "--insecure"]) == 0
    assert "warning: TLS certificates of 127.0.0.1 are not verified (--insecure)" in capsys.readouterr().err


# -- what stays hidden --------------------------------------------------------------------------


def test_unmanaged_objects_only_with_the_flag(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.seed.add_subject("P", "Doe_Jane")  # a label XNAT may have made from a patient name
    spec = site(tmp_path, "")
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--json"]) == 0
    assert "Doe_Jane" not in capsys.readouterr().out
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--json", "--show-unmanaged"]) == 0
    assert json.loads(capsys.readouterr().out)["unmanaged"] == ["P/Doe_Jane"]


def test_birth_dates_stay_hidden_unless_asked(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.seed.add_subject("P", "s1", fields={"dob": "1950-01-01"})
    spec = site(tmp_path, "subjects:\n  s1: {dob: 1950-01-01}\n")
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"]) == 0  # read and equal
    capsys.readouterr()
    spec.write_text(spec.read_text().replace("1950-01-01", "1951-02-02"))
    plan_file = tmp_path / "plan.json"
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "-o", str(plan_file)]) == 0
    out = capsys.readouterr().out
    assert "1950" not in out + plan_file.read_text() and "1951" not in out + plan_file.read_text()
    assert '~ dob = "(hidden; --show-phi)" -> "(hidden; --show-phi)"' in out
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--show-phi"]) == 0
    assert '~ dob = "1950-01-01" -> "1951-02-02"' in capsys.readouterr().out


def test_state_hides_prearchive_urls_and_escapes_control_characters(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    body = to_bytes(make_dataset(STUDY, 0, 1))
    r = requests.post(
        emu.url + "/data/services/import",
        params={"import-handler": "gradual-DICOM", "PROJECT_ID": "P"},
        data=body,
        headers={"Content-Type": "application/dicom"},
        auth=("admin", "admin"),
        timeout=10,
    )
    assert r.status_code == 200
    emu.seed.add_subject("P", "s9", fields={"race": "\x1b]0;pwned\x07\x1b[2J"})
    assert main(["state", "--project", "P", "--server", emu.url, "--json"]) == 0
    out = capsys.readouterr().out
    assert "PAT_SECRET_ID" not in out and json.loads(out)["prearchive"][0]["url"] == "(hidden; --show-phi)"
    assert main(["state", "--project", "P", "--server", emu.url]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "race='\\x1b]0;pwned\\x07\\x1b[2J'" in out


# -- rules and defaults ---------------------------------------------------------------------------


def test_a_value_written_on_the_scan_settles_disagreeing_rules(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = (
        "rules:\n  scans:\n"
        "    - match: {series_description: 'T1w*'}\n      set: {type: A}\n"
        "    - match: {series_description: '*MPR'}\n      set: {type: B}\n"
    )
    spec = site(tmp_path, rules + BOUND, STUDY)
    assert main(["plan", "--spec", str(spec), "--server", emu.url]) == 1
    assert "scan 1 ('T1w_MPR'): rules disagree on type: rule 1 sets 'A', rule 2 sets 'B'" in capsys.readouterr().err
    spec.write_text(spec.read_text() + "        scans:\n          '1': {type: T1w}\n")
    assert main(["plan", "--spec", str(spec), "--server", emu.url]) == 0
    assert '~ type = "T1w_MPR" -> "T1w"' in capsys.readouterr().out


def test_scan_defaults_skip_scans_without_the_field(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = site(tmp_path, "defaults:\n  scan: {coil: HEAD32}\n" + BOUND, STUDY)
    assert main(["plan", "--spec", str(spec), "--server", emu.url]) == 0
    out = capsys.readouterr().out
    assert 'scan 1\n      + coil = "HEAD32"  # defaults' in out  # the MR scan gets it
    assert "P/s1/e1/scan:99: scan will be updated" not in out  # a secondary capture has no coil: none given


def test_patient_identifiers_never_reach_plan_output(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = site(tmp_path, BOUND, STUDY)
    plan_file = tmp_path / "plan.json"
    assert main(["--debug", "plan", "--spec", str(spec), "--server", emu.url, "-o", str(plan_file)]) == 0
    out, err = capsys.readouterr()
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--markdown"]) == 0
    md = capsys.readouterr().out
    for secret in ("PAT_SECRET_ID", "Secret^Patient", "Secret_Patient", "19500101", "1950-01-01"):
        assert secret not in out + err + md + plan_file.read_text()
    assert "  + session e1 (xnat:mrSessionData)" in out  # a real import was planned from that study


# -- saved plans going stale ---------------------------------------------------------------------


def test_show_check_names_what_moved_since_the_plan(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.seed.add_subject("P", "s1", fields={"gender": "male"})
    spec = site(tmp_path, "subjects:\n  s1: {gender: female}\n  s2: {absent: true}\n" + BOUND.replace(
        "subjects:\n  s1:\n", "  s3:\n"), STUDY)  # fmt: skip
    saved = tmp_path / "plan.json"
    args = ["--spec", str(spec), "--server", emu.url]
    assert main(["plan", *args, "-o", str(saved)]) == 0
    assert main(["show", str(saved), "--check", *args]) == 0
    assert "the saved plan" in capsys.readouterr().err

    emu.seed.add_subject("P", "s1", fields={"gender": "other"})  # someone edits a managed field
    emu.seed.add_session("P", "s2", "e9")  # the subject to delete grows
    emu.seed.add_subject("P", "zzz")  # and an unrelated subject appears: not a reason
    assert main(["show", str(saved), "--check", *args]) == 5
    err = capsys.readouterr().err
    assert f"error: the saved plan {saved} is stale" in err
    assert "  on the server: subject s1 changed; subject s2 appeared" in err

    spec.write_text(spec.read_text().replace("gender: female", "gender: unknown"))
    assert main(["show", str(saved), "--check", *args]) == 5
    assert "  the spec changed" in capsys.readouterr().err
