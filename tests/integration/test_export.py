"""`xsync export` against the emulator: a project built the way the HCP guide builds one (curl
PUTs and a DICOM-zip import) exports to a spec that plans empty, whole or split; `--update`
changes exactly the value the server changed, byte for byte, in a spec of comments, anchors and
includes; `--adopt` adds what the spec omits; patient identifiers stay out unless asked for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.sites import SiteShape, write_site

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu() -> Emulator:
    with Emulator(EmulatorConfig(projects=("CCF_TEST", "REAL"), strict=True)) as e:
        yield e


def _http() -> requests.Session:
    s = requests.Session()
    s.auth = ("admin", "admin")
    return s


def _hcp_guide_project(emu: Emulator, tmp_path: Path) -> None:
    """CCF_TEST as the HCP upload guide builds it: the study zipped and POSTed to the import
    service, then gender, age, the session's scanner and the scan's type and description PUT."""
    import zipfile

    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted((REPO / "examples" / "ccf_test" / "dicom").rglob("*.dcm")):
            z.write(f, f.name)
    http, base = _http(), f"{emu.url}/data"
    http.post(f"{base}/services/import", params={"import-handler": "DICOM-zip", "PROJECT_ID": "CCF_TEST",
              "SUBJECT_ID": "sub1", "EXPT_LABEL": "session1", "dest": "/archive/projects/CCF_TEST"},
              data=archive.read_bytes(), headers={"Content-Type": "application/zip"}).raise_for_status()  # fmt: skip
    subject = f"{base}/projects/CCF_TEST/subjects/sub1"
    http.put(subject, params={"xsiType": "xnat:subjectData", "gender": "female", "age": "25"}).raise_for_status()
    http.put(f"{subject}/experiments/session1", params={"xsiType": "xnat:mrSessionData", "scanner": "SIEMENS"},
             ).raise_for_status()  # fmt: skip
    http.put(f"{subject}/experiments/session1/scans/1", params={"xsiType": "xnat:mrScanData", "type": "T1w",
             "series_description": "Structural"}).raise_for_status()  # fmt: skip
    http.put(subject, params={"xsiType": "xnat:subjectData", "dob": "1990-02-03"}).raise_for_status()  # PHI


def test_a_project_built_by_the_guides_recipes_exports_to_a_spec_that_plans_empty(
    emu: Emulator, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _hcp_guide_project(emu, tmp_path)
    spec = tmp_path / "xsync.yaml"
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "-o", str(spec)]) == 0
    text = spec.read_text()
    assert "gender: female" in text and "age: 25" in text and "scanner: SIEMENS" in text
    assert '"1": {type: T1w, series_description: Structural}' in text
    assert "study_uid: 2.25." in text and "1990" not in text and "dob" not in text  # no PHI unless asked
    assert main(["validate", "--spec", str(spec)]) == 0
    assert main(["plan", "--spec", str(spec), "--detailed-exitcode"]) == 0
    capsys.readouterr()

    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--split", str(tmp_path / "site")]) == 0
    assert sorted(p.name for p in (tmp_path / "site" / "subjects").iterdir()) == ["sub1.yaml"]
    assert 'include:\n  - "subjects/*.yaml"' in (tmp_path / "site" / "xsync.yaml").read_text()
    assert main(["plan", "--spec", str(tmp_path / "site" / "xsync.yaml"), "--detailed-exitcode"]) == 0

    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--fields", "dob"]) == 4
    assert "dob identifies a patient: add --show-phi" in capsys.readouterr().err
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--fields", "dob", "--show-phi"]) == 0
    assert 'dob: "1990-02-03"' in capsys.readouterr().out


def test_a_realistic_site_round_trips(
    emu: Emulator, tmp_path: Path, env: dict[str, str], nrg_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MR, PET and CT sessions, custom variables, NRG's sample: applied, exported with every
    field, planned empty against the same server."""
    site = write_site(tmp_path / "site", "REAL", SiteShape(subjects=4, nrg_sample=nrg_root / "sample-mr"))
    assert main(["apply", "--spec", str(site), "--server", emu.url, "--auto-approve"]) == 0
    out = tmp_path / "exported.yaml"
    assert main(["export", "--project", "REAL", "--server", emu.url, "-o", str(out), "--fields", "all"]) == 0
    capsys.readouterr()
    assert main(["plan", "--spec", str(out), "--detailed-exitcode"]) == 0
    assert "tracer_name: FDG" in out.read_text() and "fields: {cohort: C1, site: WU}" in out.read_text()


SPEC = """\
# The site's spec: comments, anchors, a merge and an include, all kept by --update.
version: 1
project: CCF_TEST
dicom:
  roots: [dicom/]                 # the synthetic DICOM
defaults:
  session:
    scanner: &scanner "SIEMENS"   # one scanner name for the site
include: [more/*.yaml]
subjects:
  sub1:
    gender: female                # as consented
    age: 25
    sessions:
      session1:
        xsi_type: xnat:mrSessionData
        scanner: *scanner
        dicom: {path: dicom/sub1/session1}
        scans:
          "1": {type: T1w, series_description: 'Structural'}   # quoted on purpose
"""
MORE = """\
# another coordinator's subjects
subjects:
  sub2:
    gender: male
    fields: {site: WU}
"""


def _write_site(root: Path) -> Path:
    shutil.copytree(REPO / "examples" / "ccf_test" / "dicom", root / "dicom")
    (root / "more").mkdir()
    (root / "xsync.yaml").write_text(SPEC)
    (root / "more" / "sub2.yaml").write_text(MORE)
    return root / "xsync.yaml"


def test_update_changes_exactly_the_value_the_server_changed(
    emu: Emulator, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _write_site(tmp_path / "site")
    assert main(["validate", "--spec", str(spec)]) == 0
    assert main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]) == 0
    assert main(["export", "--update", "--spec", str(spec), "--server", emu.url, "--check"]) == 0
    http, base = _http(), f"{emu.url}/data/projects/CCF_TEST/subjects"
    http.put(f"{base}/sub1/experiments/session1/scans/1", params={"xsiType": "xnat:mrScanData",
             "series_description": "T1 MPRAGE"}).raise_for_status()  # fmt: skip
    http.put(f"{base}/sub2", params={"xsiType": "xnat:subjectData", "gender": "female"}).raise_for_status()
    http.put(f"{base}/sub1/experiments/session1", params={"xsiType": "xnat:mrSessionData", "scanner": "PRISMA"},
             ).raise_for_status()  # fmt: skip
    capsys.readouterr()

    assert main(["export", "--update", "--spec", str(spec), "--server", emu.url, "--check"]) == 2
    assert (tmp_path / "site" / "xsync.yaml").read_text() == SPEC  # --check writes nothing
    assert main(["export", "--update", "--spec", str(spec), "--server", emu.url]) == 0
    err = capsys.readouterr().err
    assert "xsync.yaml: subjects.sub1.sessions.session1.scans.1.series_description: Structural -> T1 MPRAGE" in err
    assert "more/sub2.yaml: subjects.sub2.gender: male -> female" in err
    # Byte for byte: only the three values, each in its own file and quote style; the alias is
    # replaced where it is used, its anchor (and the other comment) untouched.
    assert (tmp_path / "site" / "xsync.yaml").read_text() == SPEC.replace(
        "'Structural'", "'T1 MPRAGE'").replace("scanner: *scanner", "scanner: PRISMA")  # fmt: skip
    assert (tmp_path / "site" / "more" / "sub2.yaml").read_text() == MORE.replace("gender: male", "gender: female")
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"]) == 0
    assert main(["export", "--update", "--spec", str(spec), "--server", emu.url, "--check"]) == 0


def test_update_adopts_what_the_spec_omits_and_removes_what_the_server_dropped(
    emu: Emulator, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _write_site(tmp_path / "site")
    assert main(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve"]) == 0
    emu.seed.add_subject("CCF_TEST", "sub3", fields={"gender": "other"}, custom={"site": "UMN"})
    emu.seed.add_session("CCF_TEST", "sub1", "session2", fields={"scanner": "PRISMA"},
                         scans=[{"id": "7", "fields": {"type": "rest"}}])  # fmt: skip
    with emu.store.lock:
        subject = emu.store.subject("CCF_TEST", "sub2")
        assert subject is not None
        subject.custom.pop("site")  # a custom variable cleared on the server
    capsys.readouterr()
    assert main(["export", "--update", "--adopt", "--spec", str(spec), "--server", emu.url]) == 0
    err = capsys.readouterr().err
    assert "xsync.yaml: subjects.sub3: added from the server" in err
    assert "xsync.yaml: subjects.sub1.sessions.session2: added from the server" in err
    assert "more/sub2.yaml: subjects.sub2.fields.site: removed (the server holds no value)" in err
    text = (tmp_path / "site" / "xsync.yaml").read_text()
    assert "  sub3: {gender: other, fields: {site: UMN}}\n" in text
    assert '      session2: {xsi_type: mr, scanner: PRISMA, scans: {"7": {type: rest}}}\n' in text
    assert main(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"]) == 0


def test_mistakes_are_refused_before_anything_is_written(
    emu: Emulator, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "xsync.yaml"
    out.write_text("# mine\n")
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "-o", str(out)]) == 4
    assert "exists: refresh it with `xsync export --update" in capsys.readouterr().err
    assert out.read_text() == "# mine\n"
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--adopt"]) == 4
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--fields", "gendr"]) == 4
    assert 'no field the spec can manage (did you mean "gender"?)' in capsys.readouterr().err
    assert main(["export", "--project", "NOPE", "--server", emu.url]) == 1
    assert main(["export", "--project", "CCF_TEST", "--server", emu.url, "--password", "wrong"]) == 1
    assert "wrong" not in capsys.readouterr().err
