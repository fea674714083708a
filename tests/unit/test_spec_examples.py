"""Every example validates; the CCF_TEST example is the seed's, with reproducible DICOM."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pydicom
import pytest

from xsync.spec import load_spec, match_scan_rules

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SPECS = sorted(EXAMPLES.rglob("xsync.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.parent.name)
def test_example_validates(path: Path) -> None:
    assert load_spec(path).counts()["subjects"] >= 1


def test_ccf_test_example_is_the_seed() -> None:
    spec = load_spec(EXAMPLES / "ccf_test" / "xsync.yaml")
    assert spec.project == "CCF_TEST"
    sub1 = spec.subjects["sub1"]
    assert (sub1.gender, sub1.age) == ("female", 25)
    session = sub1.sessions["session1"]
    assert (session.xsi_type, session.scanner) == ("xnat:mrSessionData", "SIEMENS")
    assert session.dicom is not None and session.dicom.path == EXAMPLES / "ccf_test" / "dicom" / "sub1" / "session1"
    scan = session.scans["1"]
    assert (scan.type, scan.series_description) == ("T1w", "Structural")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ccf_make_dicom", EXAMPLES / "ccf_test" / "make_dicom.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ccf_test_dicom_regenerates_byte_for_byte(tmp_path: Path) -> None:
    written = _generator().write(tmp_path)
    committed_root = EXAMPLES / "ccf_test"
    committed = sorted(p.relative_to(committed_root) for p in (committed_root / "dicom").rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path) for p in written) == committed
    for rel in committed:
        assert (tmp_path / rel).read_bytes() == (committed_root / rel).read_bytes(), rel


def test_ccf_test_dicom_is_series_1_of_the_bound_session() -> None:
    files = sorted((EXAMPLES / "ccf_test" / "dicom" / "sub1" / "session1").rglob("*.dcm"))
    assert len(files) == 3
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    assert {(h.SeriesNumber, h.Modality, str(h.PatientName), h.PatientID) for h in headers} == {
        (1, "MR", "sub1", "session1")
    }
    assert len({h.StudyInstanceUID for h in headers}) == 1


HCP_SERIES = {
    "AAHead_Scout_64ch-head-coil": "Localizer",
    "localizer": "Localizer",
    "T1w_MPR1": "T1w",
    "T2w_SPC1": "T2w",
    "rfMRI_REST1_AP": "rfMRI",
    "rfMRI_REST1_AP_SBRef": "SBRef",
    "tfMRI_WM_PA": "tfMRI",
    "tfMRI_WM_PA_SBRef": "SBRef",
    "dMRI_dir98_AP": "dMRI",
    "SpinEchoFieldMap_AP": "FieldMap_SE_EPI",
}


def test_hcp_site_rules_type_each_series_without_conflict() -> None:
    spec = load_spec(EXAMPLES / "hcp_site" / "xsync.yaml")
    for description, expected in HCP_SERIES.items():
        attrs = {"series_description": description, "modality": "MR", "image_type": ("ORIGINAL", "PRIMARY")}
        outcome = match_scan_rules(spec.rules, attrs)
        assert outcome.conflicts == (), description
        if expected == "Localizer" and "localizer" not in description.lower():
            assert "type" not in outcome.fields, description  # the Scout is not named localizer
        else:
            assert outcome.fields.get("type") == expected, description
    pet = match_scan_rules(spec.rules, {"modality": "PT", "image_type": ("ORIGINAL", "PRIMARY"), "series_number": 2})
    assert pet.fields == {"type": "PET_FDG"}
    assert spec.counts() == {"subjects": 4, "sessions": 6, "scans": 3}
    assert spec.subjects["HCP004"].absent
