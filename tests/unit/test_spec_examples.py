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


def _generator(example: str = "ccf_test") -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{example}_make_dicom", EXAMPLES / example / "make_dicom.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("example", ["ccf_test", "hcp_site"])
def test_example_dicom_regenerates_byte_for_byte(example: str, tmp_path: Path) -> None:
    written = _generator(example).write(tmp_path)
    committed_root = EXAMPLES / example
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


def test_hcp_site_dicom_is_what_its_spec_binds() -> None:
    """Each kind of binding in the spec finds exactly one study in the committed DICOM."""
    from xsync.inventory.scan import scan

    root = EXAMPLES / "hcp_site" / "dicom"
    inventory = scan([root], workers=1)
    assert len(inventory.studies) == 6
    for uid in ("2.25.300412345678901234567890", "2.25.300412345678901234567891", "2.25.300412345678901234567892"):
        assert inventory.study(uid) is not None, uid
    (hcp002,) = inventory.studies_for_patient("HCPSYN002", "2024-03-11")
    assert [s.scan_id for s in hcp002.series] == ["1", "4-MR1", "4-MR2", "5", "99"]
    for folder in ("HCP001/7T", "HCP002/PET"):
        assert len(inventory.studies_under(root / folder)) == 1, folder
    assert [d.file.endswith("notes.txt") for d in inventory.warnings] == [True]
