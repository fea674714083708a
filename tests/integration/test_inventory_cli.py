"""`xsync inventory` end to end: output, PHI, diagnostics, exit codes, the spec's roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xsync.cli.main import main
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_broken, write_study

STUDY = StudySpec(
    patient_id="PHI-ID-123",
    patient_name="Secret^Person",
    birth_date="19700203",
    patient_comments="Subject:sub1",
    seed="cli",
    series=(SeriesSpec(1, "T1w_MPR", 3), SeriesSpec(2, "T2w_SPC", 2)),
)
PHI = ("PHI-ID-123", "Secret", "19700203", "1970-02-03", "Subject:sub1")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_study(STUDY, tmp_path / "dicom" / "sub1")
    return tmp_path / "dicom"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["inventory", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_tree_without_phi(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tree), "--cache", str(tmp_path / "c.sqlite"))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"1 study, 2 series, 5 files (5 instances, {_size(out)}) under {tree}",
        "",
        f"study {STUDY.uid}",
        "  2024-01-31 09:30:00  SYNTHETIC  xnat:mrSessionData  SYNSTATION (SIEMENS Prisma)",
        "  patient (hidden; --show-phi shows it)",
        f"  in {tree / 'sub1'}",
        "    scan  type             number  description  files  instances  frames    size",
        f"    1     xnat:mrScanData  1       T1w_MPR          3          3       3  {_size(out, 1)}",
        f"    2     xnat:mrScanData  2       T2w_SPC          2          2       2  {_size(out, 2)}",
    ]
    assert not any(secret in out for secret in PHI)


def _size(out: str, row: int = 0) -> str:
    """The byte column as printed (its value is checked in the JSON test)."""
    lines = out.splitlines()
    if row == 0:
        return lines[0].split("instances, ")[1].split(")")[0]
    return " ".join(lines[-3 + row].split()[-2:])


def test_show_phi(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(tree), "--no-cache", "--show-phi")
    assert code == 0
    assert "  patient 'PHI-ID-123' 'Secret^Person', born 1970-02-03" in out.splitlines()


def test_json_document(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(tree), "--no-cache", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["format"] == "xsync-inventory/1" and doc["digest"].startswith("sha256:")
    assert doc["counts"]["files"] == 5 and doc["counts"]["studies"] == 1
    [study] = doc["studies"]
    assert study["patient"] is None and not any(secret in out for secret in PHI)
    assert [(s["scan_id"], s["scan_xsi_type"], s["n_files"]) for s in study["series"]] == [
        ("1", "xnat:mrScanData", 3),
        ("2", "xnat:mrScanData", 2),
    ]
    files = study["series"][0]["files"]
    assert [Path(f["path"]).name for f in files] == ["0001.dcm", "0002.dcm", "0003.dcm"]
    assert (
        sum(f["size"] for f in files)
        == study["series"][0]["n_bytes"]
        == sum(Path(f["path"]).stat().st_size for f in files)
    )
    code, out, _ = run(capsys, str(tree), "--no-cache", "--json", "--show-phi")
    patient = json.loads(out)["studies"][0]["patient"]
    assert patient == {
        "id": "PHI-ID-123",
        "name": "Secret^Person",
        "birth_date": "19700203",
        "comments": "Subject:sub1",
        "additional_history": "",
    }


def test_errors_exit_1_and_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = write_broken(tmp_path / "broken")
    code, out, err = run(capsys, str(tmp_path / "broken"), "--no-cache", "--json")
    assert code == 1
    assert json.loads(out)["counts"]["studies"] == 2  # the data is still printed
    assert f"{files['truncated-pixels.dcm']}: truncated: pixel data declares" in err
    assert f"{files['README.txt']}: warning: not a DICOM file" in err
    assert err.rstrip().splitlines()[-1] == "error: the DICOM inventory has 9 errors and 3 warnings"
    assert "BROKEN" not in err  # the patient ID of the broken study


def test_strict_fails_on_warnings(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "notes.txt").write_text("scanned on Monday")
    code, _, err = run(capsys, str(tree), "--no-cache")
    assert code == 0 and "notes.txt: warning: not a DICOM file" in err
    code, _, err = run(capsys, str(tree), "--no-cache", "--strict")
    assert code == 1 and err.rstrip().endswith("error: the DICOM inventory has 0 errors and 1 warning (--strict)")


def test_roots_from_the_spec_and_cache_next_to_it(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "xsync.yaml"
    spec.write_text("version: 1\nproject: CLI\ndicom:\n  roots: [dicom/]\n")
    code, out, err = run(capsys, "--spec", str(spec))
    assert (code, err) == (0, "")
    assert f"under {tree}" in out.splitlines()[0]
    assert (tmp_path / ".xsync" / "inventory.sqlite").is_file()


def test_usage_errors(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tree), "--cache", str(tmp_path / "c"), "--no-cache")
    assert code == 4 and "--cache and --no-cache contradict each other" in err
    spec = tmp_path / "empty.yaml"
    spec.write_text("version: 1\nproject: CLI\n")
    code, _, err = run(capsys, "--spec", str(spec))
    assert code == 4 and f"no DICOM roots: give ROOTS, or set dicom.roots in {spec}" in err
    code, _, err = run(capsys, str(tmp_path / "nowhere"))
    assert code == 1 and "DICOM root not found" in err
