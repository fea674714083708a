"""Grouping files into studies and series, XNAT's predictions, diagnostics and lookups. Pure:
items are built in memory, no file is read."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from xsync.errors import Diagnostic, Severity
from xsync.inventory.fields import INSTANCE_FIELDS, Header
from xsync.inventory.group import build_inventory
from xsync.inventory.items import Item, ItemMaker, RawItem, items
from xsync.inventory.read import CORRUPT, DICOMDIR, NOT_DICOM, TRUNCATED, UNREADABLE, Outcome
from xsync.model.inventory import DicomFile, Inventory, inventory_digest

MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
ROOTS = ("/data/a", "/data/b")


def header(**values: str) -> Header:
    base = dict.fromkeys(Header._fields, "")
    base.update(
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        sop_class_uid=MR,
        modality="MR",
        study_instance_uid="1.1",
        series_instance_uid="1.1.1",
        series_number="1",
        series_description="t1",
        study_date="20240131",
        study_time="093000",
        patient_id="P1",
        patient_name="Doe^Jane",
        patient_birth_date="19800101",
        station_name="SCANNER1",
    )
    base.update(values)
    return Header(**base)


class Tree:
    """Items as the scanner would hand them over."""

    def __init__(self) -> None:
        self.maker = ItemMaker()
        self.raw: list[RawItem] = []
        self.parts: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def items(self) -> list[Item]:
        return items(self.raw)

    def add(self, path: str, h: Header, *, size: int = 1000, root: int = 0, member: str | None = None) -> None:
        shared = h[INSTANCE_FIELDS:]
        shared = self.parts.setdefault(shared, shared)
        self.raw.append(
            self.maker.make(path, root, 1, member, size, False, h.sop_instance_uid, h.instance_number, shared)
        )

    def series(self, directory: str, n: int, **values: str) -> None:
        series_uid = values.get("series_instance_uid", "1.1.1")
        for i in range(1, n + 1):
            h = header(sop_instance_uid=f"{series_uid}.{i}", instance_number=str(i), **values)
            self.add(f"{directory}/{i:03d}.dcm", h)

    def build(self, content: dict[str, str] | None = None) -> Inventory:
        content_id = (lambda f: content[f.path]) if content is not None else None
        return build_inventory(ROOTS, self.items, content_id=content_id)


def messages(inv: Inventory, severity: Severity) -> list[str]:
    return [d.message for d in inv.diagnostics if d.severity is severity]


def test_study_and_series_records() -> None:
    tree = Tree()
    tree.series("/data/a/s1/t1", 3, series_instance_uid="1.1.1", series_number="1", series_description="t1")
    tree.series("/data/a/s1/t2", 2, series_instance_uid="1.1.2", series_number="2", series_description="t2")
    inv = tree.build()
    assert inv.diagnostics == ()
    [study] = inv.studies
    assert (study.uid, study.date, study.time, study.session_xsi_type) == (
        "1.1",
        "20240131",
        "093000",
        "xnat:mrSessionData",
    )
    assert (study.patient_id, study.patient_name, study.birth_date) == ("P1", "Doe^Jane", "19800101")
    assert study.station_names == ("SCANNER1",) and study.modalities == ("MR",)
    assert study.roots == ("/data/a",) and study.common_path == "/data/a/s1"
    assert [(s.scan_id, s.scan_xsi_type, s.n_files, s.n_instances, s.n_bytes, s.frames) for s in study.series] == [
        ("1", "xnat:mrScanData", 3, 3, 3000, 3),
        ("2", "xnat:mrScanData", 2, 2, 2000, 2),
    ]
    t1 = study.series[0]
    assert [f.path for f in t1.files] == ["/data/a/s1/t1/001.dcm", "/data/a/s1/t1/002.dcm", "/data/a/s1/t1/003.dcm"]
    assert t1.files[0] == DicomFile("/data/a/s1/t1/001.dcm", None, 1000, 1, "1.1.1.1", MR, "1.1.1", "1.1", "1", 1,
                                    "1.2.840.10008.1.2.1", False)  # fmt: skip
    assert (study.n_files, study.n_instances, study.n_bytes, inv.n_files) == (5, 5, 5000, 5)


def test_scan_ids_follow_xnat_clash_rule_and_order() -> None:
    tree = Tree()
    tree.series("/d/a", 1, series_instance_uid="1.5", series_number="4")
    tree.series("/d/b", 1, series_instance_uid="1.3", series_number="4")
    tree.series("/d/c", 1, series_instance_uid="1.4", series_number="4", modality="OT", sop_class_uid=SC)
    tree.series("/d/d", 1, series_instance_uid="1.9", series_number="9")
    tree.series("/d/e", 1, series_instance_uid="1.2", series_number="2")
    tree.series("/d/f", 1, series_instance_uid="1.7.8", series_number="")
    [study] = tree.build().studies
    # A UID-derived ID sorts among the numbers as text, as XNAT's comparator has it: "1_7_8" < "2".
    assert [(s.scan_id, s.uid, s.scan_xsi_type) for s in study.series] == [
        ("1_7_8", "1.7.8", "xnat:mrScanData"),
        ("2", "1.2", "xnat:mrScanData"),
        ("4-MR1", "1.3", "xnat:mrScanData"),
        ("4-OT1", "1.4", "xnat:scScanData"),
        ("4-MR2", "1.5", "xnat:mrScanData"),
        ("9", "1.9", "xnat:mrScanData"),
    ]
    assert study.session_xsi_type == "xnat:mrSessionData"  # a screenshot does not make it another session type
    assert study.scan("4-OT1") is study.series[3] and study.series_by_uid("1.9") is study.series[5]


def test_screenshots_alone_make_an_other_dicom_session() -> None:
    tree = Tree()
    tree.series("/d/sc", 2, modality="OT", sop_class_uid=SC)
    [study] = tree.build().studies
    assert study.session_xsi_type == "xnat:otherDicomSessionData"
    # Secondary captures are no primary imaging class: XNAT counts no frames for them.
    assert [(s.scan_xsi_type, s.n_instances, s.frames) for s in study.series] == [("xnat:scScanData", 2, 0)]


def test_frames_count_multi_frame_objects_of_the_primary_class_only() -> None:
    tree = Tree()
    tree.add("/d/e/1.dcm", header(sop_instance_uid="9.1", sop_class_uid=ENHANCED_MR, number_of_frames="5"))
    tree.add("/d/e/2.dcm", header(sop_instance_uid="9.2", sop_class_uid=ENHANCED_MR, number_of_frames="7"))
    tree.add("/d/e/3.dcm", header(sop_instance_uid="9.3", sop_class_uid=SC, number_of_frames=""))
    [series] = tree.build().studies[0].series
    assert (series.frames, series.n_instances, series.sop_classes) == (12, 3, (ENHANCED_MR, SC))
    assert [f.number_of_frames for f in series.files] == [5, 7, 1]


def test_fields_the_files_disagree_on_are_left_out_and_reported_without_values() -> None:
    tree = Tree()
    tree.add("/d/1.dcm", header(sop_instance_uid="2.1", patient_name="Doe^Jane", station_name="S1"))
    tree.add("/d/2.dcm", header(sop_instance_uid="2.2", patient_name="Roe^Richard", station_name="S2",
                                series_description="t1 (derived)"))  # fmt: skip
    inv = tree.build()
    study = inv.studies[0]
    assert study.patient_name == "" and study.station_names == ("S1", "S2") and study.series[0].description == ""
    warnings = messages(inv, Severity.WARNING)
    assert warnings == [
        "files of series 1.1.1 disagree on series_description; XNAT leaves these out",
        "files of study 1.1 disagree on patient_name; XNAT leaves these out",
    ]
    assert not any("Doe" in str(d) or "Roe" in str(d) for d in inv.diagnostics)


def test_copies_of_one_instance() -> None:
    identical, different, resized = Tree(), Tree(), Tree()
    for tree in (identical, different, resized):
        tree.add("/d/a/1.dcm", header(sop_instance_uid="3.1"))
        tree.add("/d/b/1.dcm", header(sop_instance_uid="3.1"), size=1000 if tree is not resized else 999)
    inv = identical.build({"/d/a/1.dcm": "x", "/d/b/1.dcm": "x"})
    assert messages(inv, Severity.WARNING) == ["2 identical copies (counted once): /d/a/1.dcm, /d/b/1.dcm"]
    [series] = inv.studies[0].series
    assert (series.n_files, series.n_instances, series.n_bytes) == (2, 1, 1000)
    for inv in (different.build({"/d/a/1.dcm": "x", "/d/b/1.dcm": "y"}), resized.build()):
        [error] = inv.errors
        assert error.path == "SOP instance 3.1"
        assert error.message == "2 files with different content claim this instance: /d/a/1.dcm, /d/b/1.dcm"


def test_series_split_across_studies() -> None:
    tree = Tree()
    tree.add("/d/x/1.dcm", header(sop_instance_uid="4.1", study_instance_uid="1.1", series_instance_uid="7.7"))
    tree.add("/d/y/1.dcm", header(sop_instance_uid="4.2", study_instance_uid="1.2", series_instance_uid="7.7"))
    inv = tree.build()
    [error] = inv.errors
    assert error.path == "series 7.7"
    assert error.message == (
        "one series split across 2 studies (XNAT makes a scan in each): study 1.1: /d/x/1.dcm; study 1.2: /d/y/1.dcm"
    )
    assert [len(s.series) for s in inv.studies] == [1, 1]


def test_files_without_identifiers() -> None:
    tree = Tree()
    tree.add("/d/ok.dcm", header(sop_instance_uid="5.1"))
    tree.add("/d/noseries1.dcm", header(sop_instance_uid="5.2", series_instance_uid=""))
    tree.add("/d/noseries2.dcm", header(sop_instance_uid="5.3", series_instance_uid=""))
    tree.add("/d/nostudy.dcm", header(sop_instance_uid="5.4", study_instance_uid=""))
    tree.add("/d/nothing.dcm", header(sop_instance_uid="", study_instance_uid=""))
    inv = tree.build()
    assert sorted((d.file, d.message) for d in inv.errors) == [
        ("/d/noseries1.dcm", "2 file(s) without SeriesInstanceUID, left out: /d/noseries1.dcm, /d/noseries2.dcm"),
        ("/d/nostudy.dcm", "DICOM without StudyInstanceUID: XNAT cannot import it"),
        ("/d/nothing.dcm", "DICOM without StudyInstanceUID and SOPInstanceUID: XNAT cannot import it"),
    ]
    assert inv.n_files == 1


def test_study_spread_over_roots() -> None:
    tree = Tree()
    tree.add("/data/a/1.dcm", header(sop_instance_uid="6.1"), root=0)
    tree.add("/data/b/2.dcm", header(sop_instance_uid="6.2"), root=1)
    inv = tree.build()
    assert messages(inv, Severity.WARNING) == ["study 1.1 is spread over 2 roots: /data/a, /data/b"]
    assert inv.studies[0].roots == ROOTS and inv.studies[0].common_path == "/data"


def test_lookups() -> None:
    tree = Tree()
    tree.series("/data/a/sub1/ses1", 2, study_instance_uid="1.1", series_instance_uid="1.1.1", patient_id="P1")
    tree.series("/data/a/sub1/ses2", 2, study_instance_uid="1.2", series_instance_uid="1.2.1", patient_id="P1",
                study_date="20240301")  # fmt: skip
    tree.add("/data/a/zips/s3.zip", header(sop_instance_uid="8.1", study_instance_uid="1.3", patient_id="P2"),
             member="a/1.dcm")  # fmt: skip
    tree.add("/data/a/zips/s3.zip", header(sop_instance_uid="8.2", study_instance_uid="1.3", patient_id="P2"),
             member="a/2.dcm")  # fmt: skip
    inv = tree.build()
    assert inv.study("1.2") is inv.studies[1] and inv.study("9.9") is None
    assert [s.uid for s in inv.studies_under("/data/a/sub1")] == ["1.1", "1.2"]
    assert [s.uid for s in inv.studies_under("/data/a/sub1/ses2/")] == ["1.2"]
    assert [s.uid for s in inv.studies_under("/data/a/sub1/ses")] == []  # a prefix is not a directory
    assert [s.uid for s in inv.studies_under("/data/a/zips/s3.zip")] == ["1.3"]
    assert [s.uid for s in inv.studies_for_patient("P1")] == ["1.1", "1.2"]
    assert [s.uid for s in inv.studies_for_patient("P1", "2024-03-01")] == ["1.2"]
    assert [s.uid for s in inv.studies_for_patient("P1", "20240131")] == ["1.1"]
    assert inv.studies_for_patient("nobody") == ()
    assert inv.studies[2].series[0].files[0].location == "/data/a/zips/s3.zip!a/1.dcm"
    assert [f.member for f in inv.studies[2].iter_files()] == ["a/1.dcm", "a/2.dcm"]


def test_digest_depends_on_content_not_on_paths_or_order() -> None:
    def tree(paths: list[str], size: int = 1000) -> Inventory:
        t = Tree()
        for i, path in enumerate(paths):
            t.add(path, header(sop_instance_uid=f"9.{i}"), size=size)
        return t.build()

    a = tree(["/x/1.dcm", "/x/2.dcm", "/x/3.dcm"])
    b = tree(["/elsewhere/c.dcm", "/elsewhere/b.dcm", "/elsewhere/a.dcm"])
    assert a.digest == b.digest == inventory_digest(reversed(a.studies))
    assert len(a.digest) == 64
    assert tree(["/x/1.dcm", "/x/2.dcm", "/x/3.dcm"], size=1001).digest != a.digest
    assert tree(["/x/1.dcm", "/x/2.dcm"]).digest != a.digest


def test_outcomes_become_items_and_diagnostics() -> None:
    h = header(sop_instance_uid="1.2.3")
    results: list[list[Outcome]] = [
        [("a.dcm", "ok", 5, False, h[0], h[1], h[INSTANCE_FIELDS:], "")],
        [("b.txt", NOT_DICOM, 5, False, "", "", None, "no DICM magic")],
        [("c.dcm", TRUNCATED, 5, False, "", "", None, "pixel data short")],
        [("d.dcm", CORRUPT, 5, False, "", "", None, "bad")],
        [(None, UNREADABLE, 5, False, "", "", None, "Permission denied")],
        [("DICOMDIR", DICOMDIR, 5, False, "", "", None, "a DICOMDIR index")],
    ]
    raw: list[RawItem] = []
    problems: list[Diagnostic] = []
    maker = ItemMaker()
    for found in results:
        maker.add("/d/f.zip", 0, 7, found, raw, problems)
    [(f, shared, root)] = items(raw)
    assert (f.location, f.sop_instance_uid, f.mtime_ns, f.size, shared, root) == (
        "/d/f.zip!a.dcm",
        "1.2.3",
        7,
        5,
        h[INSTANCE_FIELDS:],
        0,
    )
    assert [(p.severity, p.file, p.message) for p in problems] == [
        (Severity.WARNING, "/d/f.zip!b.txt", "not a DICOM file: no DICM magic"),
        (Severity.ERROR, "/d/f.zip!c.dcm", "truncated: pixel data short"),
        (Severity.ERROR, "/d/f.zip!d.dcm", "cannot be read as DICOM: bad"),
        (Severity.ERROR, "/d/f.zip", "cannot be read: Permission denied"),
    ]


def test_records_are_frozen_and_hide_patient_identifiers() -> None:
    tree = Tree()
    tree.series("/d", 1)
    study = tree.build().studies[0]
    with pytest.raises(FrozenInstanceError):
        study.uid = "x"  # type: ignore[misc]
    assert "Doe" not in repr(study) and "P1" not in repr(study) and "19800101" not in repr(study)


def test_files_without_an_element_have_no_say() -> None:
    tree = Tree()
    tree.add("/d/mr.dcm", header(sop_instance_uid="7.1", magnetic_field_strength="3"))
    tree.add("/d/sc.dcm", header(sop_instance_uid="7.2", magnetic_field_strength="", series_instance_uid="7.7",
                                 sop_class_uid=SC, modality="OT"))  # fmt: skip
    inv = tree.build()
    assert inv.diagnostics == () and inv.studies[0].magnetic_field_strength == "3"
