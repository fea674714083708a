"""scan() on real trees: NRG's real Siemens files against XNAT's own expected values, generated
corpora in every encoding, broken files, links, several roots, and the worker pool."""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

import pytest

from xsync.errors import InventoryError, Severity
from xsync.inventory import raise_for_diagnostics, scan
from xsync.model.inventory import Inventory
from xsync.testing.dicomgen import CHARSET_NAMES, SeriesSpec, StudySpec, write_broken, write_study, write_variety

NRG_STUDY = "1.3.12.2.1107.5.2.32.35177.30000006121218324675000000034"


@pytest.fixture(scope="module")
def variety_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("variety")
    write_variety(root)
    return root


@pytest.fixture(scope="module")
def variety(variety_root: Path) -> Inventory:
    return scan([variety_root])


def _study(inv: Inventory, patient_id: str):  # type: ignore[no-untyped-def]
    [study] = inv.studies_for_patient(patient_id)
    return study


def test_nrg_session_fields_match_xnat_golden(nrg_root: Path) -> None:
    golden = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSessionAttributes.json").read_text())
    inv = scan([nrg_root / "sample-mr"])
    assert inv.diagnostics == ()
    [study] = inv.studies
    assert study.uid == golden["UID"] == NRG_STUDY
    date, time = study.date, study.time
    assert f"{date[:4]}-{date[4:6]}-{date[6:]}" == golden["date"]
    assert f"{time[:2]}:{time[2:4]}:{time[4:6]}" == golden["time"]
    assert ",".join(study.station_names) == golden["scanner"]
    assert study.description == golden["session_type"]
    assert study.institution == golden["acquisition_site"]
    assert (study.manufacturer, study.model) == (golden["scanner/manufacturer"], golden["scanner/model"])
    assert study.modalities == (golden["modality"],)
    assert float(study.magnetic_field_strength) == float(golden["fieldStrength"])
    assert study.accession_number == golden["dcmAccessionNumber"]
    assert (study.patient_id, study.patient_name) == (golden["dcmPatientId"], golden["dcmPatientName"])
    bd = study.birth_date
    assert f"{bd[:4]}-{bd[4:6]}-{bd[6:]}" == golden["dcmPatientBirthDate"]
    assert study.session_xsi_type == "xnat:mrSessionData"


def test_nrg_scan_fields_match_xnat_golden(nrg_root: Path) -> None:
    golden = json.loads((nrg_root / "rest-tests/dicom_extraction/mrSeriesAttributes.json").read_text())
    [study] = scan([nrg_root / "sample-mr"]).studies
    assert [s.scan_id for s in study.series] == ["4", "5", "6"]
    scan4 = study.scan(golden["ID"])
    assert scan4 is not None
    assert (scan4.uid, scan4.description, scan4.modality) == (
        golden["UID"],
        golden["series_description"],
        golden["modality"],
    )
    assert "\\".join(scan4.image_type) == golden["parameters/imageType"]
    assert scan4.scan_xsi_type == "xnat:mrScanData"
    # The 9 sample files are a subset of the study: 5 of series 4, gzip-ed, counted unzipped.
    assert (scan4.n_files, scan4.n_instances, scan4.frames) == (5, 5, 5)
    assert all(f.gzipped and f.size > os.path.getsize(f.path) for f in scan4.files)


def test_nrg_zips(nrg_root: Path) -> None:
    inv = scan([nrg_root / "rest-tests"])
    by_zip = {Path(s.common_path).name: s for s in inv.studies}
    assert set(by_zip) == {"mr_1.zip", "rest-tests", "scan2_diffUID.zip"}
    assert [(s.scan_id, s.n_files) for s in by_zip["rest-tests"].series] == [("1", 16), ("2", 16)]
    assert [(s.scan_id, s.n_files) for s in by_zip["mr_1.zip"].series] == [("1", 6)]
    # scan2_diffUID holds series 2 again under another study: XNAT refuses it as a conflict.
    split = [d for d in inv.errors if d.message.startswith("one series split across 2 studies")]
    assert len(split) == 1 and "scan2_diffUID.zip!scan2_diffUID/000000.dcm" in split[0].message


def test_every_encoding_becomes_one_study_per_case(variety: Inventory) -> None:
    assert variety.diagnostics == ()
    for case in ("explicit-le", "implicit-le", "explicit-be", "deflated", "no-preamble-implicit-le",
                 "no-preamble-explicit-le", "sequences", "priv-seq", "gzip"):  # fmt: skip
        study = _study(variety, f"VAR-{case}")
        assert [(s.scan_id, s.n_instances) for s in study.series] == [("1", 2)], case
    gz = _study(variety, "VAR-gzip").series[0].files
    assert all(f.gzipped for f in gz)
    zipped = _study(variety, "VAR-zip")
    assert [(s.scan_id, s.n_files) for s in zipped.series] == [("1", 2), ("2", 2)]
    assert all(f.member and f.path.endswith("study.zip") for s in zipped.series for f in s.files)


def test_predictions_for_xnat(variety: Inventory) -> None:
    same = _study(variety, "VAR-same-number")
    # Series sharing a number are taken in UID order and counted per modality.
    assert [s.uid for s in same.series] == sorted(s.uid for s in same.series)
    assert sorted((s.scan_id, s.modality) for s in same.series) == [("4-MR1", "MR"), ("4-MR2", "MR"), ("4-OT1", "OT")]
    mixed = _study(variety, "VAR-mr-with-sc")
    assert mixed.session_xsi_type == "xnat:mrSessionData"
    assert [(s.scan_id, s.scan_xsi_type) for s in mixed.series] == [("1", "xnat:mrScanData"), ("99", "xnat:scScanData")]
    enhanced = _study(variety, "VAR-enhanced")
    assert [(s.scan_id, s.n_instances, s.frames) for s in enhanced.series] == [("3", 1, 5)]
    [unnumbered] = _study(variety, "VAR-no-number").series
    assert unnumbered.number == "" and unnumbered.scan_id == unnumbered.uid.replace(".", "_")


def test_character_sets(variety: Inventory) -> None:
    for name, (_, person) in CHARSET_NAMES.items():
        study = _study(variety, f"VAR-charset-{name}")
        assert (study.patient_name, study.institution) == (person, person)


def test_broken_files_are_named_and_the_good_ones_kept(tmp_path: Path) -> None:
    files = write_broken(tmp_path)
    inv = scan([tmp_path])
    problems = {(Path(d.file).relative_to(tmp_path).as_posix(), d.severity): d.message for d in inv.diagnostics}
    W, E = Severity.WARNING, Severity.ERROR
    assert problems[("README.txt", W)].startswith("not a DICOM file")
    assert problems[("empty.dcm", W)].startswith("not a DICOM file")
    assert problems[("truncated-header.dcm", E)].startswith("truncated:")
    assert problems[("truncated-pixels.dcm", E)].startswith("truncated: pixel data declares")
    assert problems[("broken.dcm.gz", E)] == "truncated: the gzip stream ends early"
    assert problems[("broken.zip", E)].startswith("cannot be read as DICOM: a damaged zip archive")
    assert problems[("dicm-garbage.dcm", E)].startswith("truncated:")
    assert problems[("no-study-uid.dcm", E)] == "DICOM without StudyInstanceUID: XNAT cannot import it"
    assert problems[("no-series-uid.dcm", E)].startswith("1 file(s) without SeriesInstanceUID, left out: ")
    assert problems[("conflict/0001.dcm", E)] == (
        f"3 files with different content claim this instance: {files['conflict/0001.dcm']}, "
        f"{files['copy/0001.dcm']}, {files['good/0001.dcm']}"
    )
    assert problems[("split/0001.dcm", E)].startswith("one series split across 2 studies")
    [study] = [s for s in inv.studies if s.patient_id == "BROKEN"]
    assert [(s.scan_id, s.n_files, s.n_instances) for s in study.series] == [("1", 4, 2), ("2", 1, 1)]
    [disagreement] = [d for d in inv.warnings if d.file == str(files["conflict/0001.dcm"])]
    assert disagreement.message.endswith("disagree on series_description; XNAT leaves these out")
    with pytest.raises(InventoryError, match=r"the DICOM inventory has 9 errors and 3 warnings"):
        raise_for_diagnostics(inv, strict=False)


def test_identical_copies_warn_and_strict_refuses(tmp_path: Path) -> None:
    study = StudySpec(patient_id="COPY", seed="copy", series=(SeriesSpec(1, "t1", 2),))
    write_study(study, tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    inv = scan([tmp_path])
    assert [d.severity for d in inv.diagnostics] == [Severity.WARNING, Severity.WARNING]
    assert all("2 identical copies (counted once)" in d.message for d in inv.diagnostics)
    raise_for_diagnostics(inv, strict=False)  # warnings alone do not fail
    with pytest.raises(InventoryError, match=r"0 errors and 2 warnings \(--strict\)") as raised:
        scan([tmp_path], strict=True)
    assert str(tmp_path / "a" / "1" / "0001.dcm") in raised.value.detail


def test_links_hidden_files_and_loops(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_study(StudySpec(patient_id="LINKS", seed="links", series=(SeriesSpec(1, "t1", 2),)), root / "study")
    (root / "study" / "loop").symlink_to(root)  # a loop back to the root
    (root / "alias").symlink_to(root / "study")  # the same directory again
    os.link(root / "study" / "1" / "0001.dcm", root / "hardlink.dcm")  # the same file again
    (root / "dangling.dcm").symlink_to(tmp_path / "nowhere.dcm")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.dcm").write_bytes(b"not even looked at")
    (root / ".DS_Store").write_bytes(b"\0")
    inv = scan([root])
    assert [d.message for d in inv.diagnostics] == ["a broken symbolic link"]
    assert inv.diagnostics[0].file == str(root / "dangling.dcm")
    [series] = inv.studies[0].series
    assert series.n_files == 2
    assert sorted(Path(f.path).relative_to(root).as_posix() for f in series.files) == [
        "alias/1/0002.dcm",
        "hardlink.dcm",
    ]  # sorted walk: alias/ comes before study/, hardlink.dcm before study/1/0001.dcm


def test_study_spread_over_two_roots(tmp_path: Path) -> None:
    study = StudySpec(patient_id="SPREAD", seed="spread", series=(SeriesSpec(1, "t1", 1), SeriesSpec(2, "t2", 1)))
    paths = write_study(study, tmp_path / "staging")
    (tmp_path / "archive").mkdir()
    paths[1].rename(tmp_path / "archive" / "t2.dcm")
    inv = scan([tmp_path / "staging", tmp_path / "archive"])
    [warning] = inv.warnings
    assert warning.message == (
        f"study {study.uid} is spread over 2 roots: {tmp_path / 'staging'}, {tmp_path / 'archive'}"
    )
    assert inv.studies[0].roots == (str(tmp_path / "staging"), str(tmp_path / "archive"))  # in the order given
    with pytest.raises(InventoryError, match="DICOM root not found"):
        scan([tmp_path / "missing"])


def test_worker_pool_gives_the_same_inventory(
    variety_root: Path, variety: Inventory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Real worker processes, even for this small tree: to read it, then to check it against the cache.
    scan_module = importlib.import_module("xsync.inventory.scan")
    monkeypatch.setattr(scan_module, "POOL_THRESHOLD", 0)
    monkeypatch.setattr(scan_module, "VERIFY_POOL_THRESHOLD", 0)
    pooled = scan([variety_root], workers=2, cache_path=tmp_path / "c.sqlite")
    rescanned = scan([variety_root], workers=2, cache_path=tmp_path / "c.sqlite")
    assert pooled == variety == rescanned and pooled.digest == variety.digest == rescanned.digest


def test_digest_is_the_same_for_a_moved_tree(variety_root: Path, variety: Inventory, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(variety_root, moved)
    assert scan([moved]).digest == variety.digest
