"""`xsync apply` over DICOM C-STORE, end to end against the emulator's receiver (strict), and
header remaps on both upload paths: the realistic site converges over DICOM; a remap that blanks
PatientName and sets PatientID shows in the archived headers and nowhere else (not in the local
files, not in the output); every other byte arrives as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pydicom import dcmread

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.store import FileEntry
from xsync.testing.sites import SiteShape, write_site

REPO = Path(__file__).resolve().parents[2]
REMAP = {"blank": ["PatientName"], "set": {"PatientID": "{subject}_{session}"}}
HOLD = 3600.0  # XNAT's idle timer never fires: only apply's own build moves a received session


@pytest.fixture
def receiver() -> Iterator[Emulator]:
    config = EmulatorConfig(projects=("REAL", "CCF_TEST"), strict=True, dicom_port=0, quiet_seconds=HOLD)
    with Emulator(config) as emu:
        yield emu


def _rewrite_spec(spec: Path, **top: object) -> None:
    data = json.loads(spec.read_text())
    data.update(top)
    spec.write_text(json.dumps(data, indent=2))


def _digests(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _archived(emu: Emulator, label: str) -> list[FileEntry]:
    session = next(e for e in emu.store.experiments.values() if e.label == label)
    return [f for scan in session.scans.values() for r in scan.resources.values() for f in r.files.values()]


def test_the_realistic_site_applies_over_dicom_and_converges(
    tmp_path: Path, env: dict[str, str], nrg_root: Path, receiver: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_site(tmp_path / "site", "REAL", SiteShape(nrg_sample=nrg_root / "sample-mr"))
    upload = {"method": "cstore", "host": "127.0.0.1", "port": receiver.dicom_port}
    _rewrite_spec(spec, upload=upload, remap=REMAP)
    before = _digests(tmp_path / "site" / "dicom")

    assert main(["plan", "--spec", str(spec), "--server", receiver.url]) == 0
    plan_out = capsys.readouterr().out
    assert "# sent over DICOM C-STORE" in plan_out
    assert "headers as sent (local files unchanged): PatientComments set to route the session, PatientID set, " \
           "PatientName blanked" in plan_out  # fmt: skip

    args = ["apply", "--spec", str(spec), "--server", receiver.url, "--auto-approve", "--parallelism", "6"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Apply complete. 97 operations done and verified, 0 failed" in out
    assert main(["plan", "--spec", str(spec), "--server", receiver.url, "--detailed-exitcode"]) == 0
    assert [r for r in receiver.store.prearchive if r.project == "REAL"] == []

    # The remap is in the archived headers ...
    for label, subject in (("sub01_mr1", "sub01"), ("nrg01_mr1", "nrg01")):
        files = _archived(receiver, label)
        assert files
        for f in files:
            ds = dcmread(f.path, stop_before_pixels=True)
            assert ds.PatientName == ""
            assert ds.PatientID == f"{subject}_{label}"
            assert ds.PatientComments == f"Project:REAL Subject:{subject} Session:{label}"
    # ... and nowhere else: the local files are untouched, the output never shows a patient value.
    assert _digests(tmp_path / "site" / "dicom") == before
    for text in (plan_out, out):
        assert "sub01_sub01_mr1" not in text and "Synthetic^" not in text and "PID-" not in text


def test_a_remap_on_the_rest_path_changes_only_the_named_elements(
    tmp_path: Path, env: dict[str, str], receiver: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "ccf_test"
    shutil.copytree(REPO / "examples" / "ccf_test", site, ignore=shutil.ignore_patterns(".xsync"))
    spec = site / "xsync.yaml"
    text = spec.read_text()
    remap = "remap:\n  blank: [PatientName]\n  set: {PatientID: '{subject}_{session}'}\n"
    spec.write_text(text.replace("subjects:", remap + "subjects:", 1))
    before = _digests(site / "dicom")
    assert main(["plan", "--spec", str(spec), "--server", receiver.url, "--markdown"]) == 0
    summary = capsys.readouterr().out.split("<details>")[0]
    assert ("Imports are sent to the import service. Headers changed in the DICOM sent (local files unchanged): "
            "`PatientID` set, `PatientName` blanked.") in summary  # fmt: skip
    assert main(["apply", "--spec", str(spec), "--server", receiver.url, "--auto-approve"]) == 0
    assert "PatientID set, PatientName blanked" in capsys.readouterr().out
    assert main(["plan", "--spec", str(spec), "--server", receiver.url, "--detailed-exitcode"]) == 0
    assert _digests(site / "dicom") == before

    local = {dcmread(p).SOPInstanceUID: dcmread(p) for p in (site / "dicom").rglob("*.dcm")}
    archived = _archived(receiver, "session1")
    assert len(archived) == len(local) > 0
    for f in archived:
        ds = dcmread(f.path)
        original = local[ds.SOPInstanceUID]
        assert ds.PatientName == "" and ds.PatientID == "sub1_session1"
        assert original.PatientName != "" and original.PatientID != "sub1_session1"
        changed = {e.keyword for e in ds if e.tag not in original or original[e.tag] != e}
        changed |= {e.keyword for e in original if e.tag not in ds}
        assert changed == {"PatientName", "PatientID"}


def _ccf_over_dicom(tmp_path: Path, receiver: Emulator) -> Path:
    """The CCF_TEST example set to send over C-STORE to the receiver; its spec's path."""
    site = tmp_path / "ccf_test"
    shutil.copytree(REPO / "examples" / "ccf_test", site, ignore=shutil.ignore_patterns(".xsync"))
    spec = site / "xsync.yaml"
    upload = f"upload: {{method: cstore, host: 127.0.0.1, port: {receiver.dicom_port}}}"
    spec.write_text(spec.read_text().replace("upload: {method: rest, dest: archive}", upload, 1))
    return spec


@pytest.mark.parametrize("quiet", [HOLD, 0.05])
def test_a_project_that_auto_archives_converges_too(
    tmp_path: Path, env: dict[str, str], receiver: Emulator, quiet: float, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whether XNAT's idle timer archives the session first (code 4, a short quiet period) or
    apply's build and archive do, the session is verified and converges."""
    receiver.store.projects["CCF_TEST"].prearchive_code = 4
    receiver.prearchive_worker.quiet_seconds = quiet
    spec = _ccf_over_dicom(tmp_path, receiver)
    assert main(["apply", "--spec", str(spec), "--server", receiver.url, "--auto-approve"]) == 0
    assert "Apply complete." in capsys.readouterr().out
    assert main(["plan", "--spec", str(spec), "--server", receiver.url, "--detailed-exitcode"]) == 0
    assert len(_archived(receiver, "session1")) == 3


def test_a_missing_series_is_appended_over_dicom(
    tmp_path: Path, env: dict[str, str], receiver: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scan deleted on the server is sent again over C-STORE into the existing session: the
    received session is archived into it, not beside it."""
    spec = _ccf_over_dicom(tmp_path, receiver)
    assert main(["apply", "--spec", str(spec), "--server", receiver.url, "--auto-approve"]) == 0
    session = next(e for e in receiver.store.experiments.values() if e.label == "session1")
    http = requests.Session()
    http.auth = ("admin", "admin")
    http.delete(
        f"{receiver.url}/data/experiments/{session.id}/scans/1", params={"removeFiles": "true"}
    ).raise_for_status()
    capsys.readouterr()
    assert main(["apply", "--spec", str(spec), "--server", receiver.url, "--auto-approve"]) == 0
    out = capsys.readouterr().out
    assert "done    append series CCF_TEST/sub1/session1 (1 series, 3 instances on the server" in out
    assert main(["plan", "--spec", str(spec), "--server", receiver.url, "--detailed-exitcode"]) == 0
    sessions = [e for e in receiver.store.experiments.values() if e.label == "session1"]
    assert len(sessions) == 1 and len(_archived(receiver, "session1")) == 3
