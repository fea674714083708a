"""The tool's DICOM rules (`xsync.dicom`) against the emulator's own (`xsync.emulator`), which
are written separately from XNAT's source: the two must agree on every input tried, so a rule
the tool gets wrong shows up here as a disagreement rather than being confirmed by shared code."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from xsync.dicom import labels as tool_labels
from xsync.dicom import naming as tool_naming
from xsync.dicom import scanids as tool_scanids
from xsync.dicom import sop as tool_sop
from xsync.emulator import sopmodel
from xsync.emulator.assignments import assignment
from xsync.emulator.filenames import FileNameTemplate, kept_name
from xsync.emulator.labels import label_chars
from xsync.emulator.scan_ids import SeriesIdentity, assign

# Every SOP class either side knows, and some neither does.
SOP_CLASSES = sorted(
    set(sopmodel._tables()[0])
    | set(sopmodel._tables()[1])
    | set(sopmodel._tables()[3])
    | set(tool_sop._SOP_TYPES)
    | {"1.2.840.10008.5.1.4.1.1.104.1", "1.2.840.10008.5.1.4.1.1.66", "1.2.3.4"}
)
MODALITY_SETS = [
    [], ["MR"], ["OT"], ["SC"], ["SC", "MR"], ["RTIMAGE"], ["RTSTRUCT", "CT"], ["IVUS"], ["XC", "SR"],
    ["DOC"], ["PT", "MR"], ["OT", "SR"], ["ECG"], ["RF"], ["KO", "PR"],
]  # fmt: skip


def test_scan_types_agree_for_every_sop_class_and_pair() -> None:
    cases = [(u,) for u in SOP_CLASSES] + list(combinations(SOP_CLASSES, 2))
    disagreements = [c for c in cases if tool_sop.scan_type(c) != sopmodel.scan_type(c)]
    assert disagreements == []
    assert len(cases) > 1500


@pytest.mark.parametrize("modalities", MODALITY_SETS, ids=lambda m: "+".join(m) or "none")
def test_session_types_agree(modalities: list[str]) -> None:
    cases = [(u,) for u in SOP_CLASSES] + list(combinations(SOP_CLASSES, 2)) + [()]
    disagreements = [
        (c, tool_sop.session_type(c, modalities), sopmodel.session_type(c, modalities))
        for c in cases
        if tool_sop.session_type(c, modalities) != sopmodel.session_type(c, modalities)
    ]
    assert disagreements == []


def test_primary_classes_and_lead_modalities_agree() -> None:
    assert [u for u in SOP_CLASSES if tool_sop.is_primary(u) != sopmodel.is_primary(u)] == []
    rng = random.Random(7)
    for _ in range(300):
        mods = set(rng.sample(sopmodel.LEAD_MODALITIES + ("KO", "RTIMAGE", ""), rng.randint(0, 4)))
        assert tool_sop.lead_modality(mods) == sopmodel.lead_modality(mods)


TEXTS = [
    "Doe^John", "Sample ID", "sub-01_a", "a.b/c", "Müller^Jürgen", "山田^太郎", "a\U0001f600b", "",
    "Project:BobsProj Subject:subj001 Session:subj001_MR1", "Project: P; Subject: S, Session: E",
    "Project:A Project:B", "Project:A Project:", "xProject:abc", "Project:a.b", "Project:a.b Project:c",
    "notes\nProject:P", "a\nb Project:P", "Project:P\nmore words", "Project:P\nmore\nlines",
    "PROJECT:X", "\u017fubject:X", "Project:Ünï", "Subject:s1, AA:true", "aa: F", "Session:\tE2\r\n",
    "Project:P\r\n", "Project:P\n\n", "foo Project : spaced ; bar",
]  # fmt: skip


@pytest.mark.parametrize("text", TEXTS)
def test_labels_and_assignments_agree(text: str) -> None:
    assert tool_labels.clean_label(text) == label_chars(text)
    for key in ("Project", "Subject", "Session", "AA"):
        assert tool_labels.contained_assignment(text, key) == (assignment(text, key) or None)


@pytest.mark.parametrize(
    "name", ["IM 0001.dcm", "7/0001.dcm", "a/b/c.dcm", "dir\\x+y.dcm", "Müller.dcm", "x-y_z.1.dcm", "dir/"]
)
def test_kept_names_agree(name: str) -> None:
    assert tool_naming.safe_incoming_name(name) == kept_name(name)


def test_template_names_agree() -> None:
    rng = random.Random(3)
    template = FileNameTemplate()
    for _ in range(200):
        values = {
            "StudyInstanceUID": f"1.2.{rng.randint(0, 10**9)}",
            "SeriesNumber": rng.choice(["", " ", "4", "+4", "1001"]),
            "InstanceNumber": str(rng.randint(1, 500)),
            "SOPClassUID": rng.choice(SOP_CLASSES),
            "SOPInstanceUID": f"1.3.{rng.randint(0, 10**12)}.{rng.randint(0, 99)}",
        }
        tool = tool_naming.template_file_name(
            values["StudyInstanceUID"],
            values["SeriesNumber"],
            values["InstanceNumber"],
            values["SOPClassUID"],
            values["SOPInstanceUID"],
        )
        assert tool == template.name(lambda keyword, v=values: v.get(keyword, ""))


def test_scan_ids_and_order_agree_on_random_studies() -> None:
    """Random studies: numbers below 10 (XNAT's order is a total order there), missing numbers,
    shared numbers, `04` beside `4`, several modalities."""
    rng = random.Random(11)
    for _ in range(500):
        series = []
        for i in range(rng.randint(1, 8)):
            uid = f"1.{rng.randint(1, 3)}.{i}.{rng.randint(0, 99)}"
            number = rng.choice(["", "1", "2", "3", "4", "04", "5", "+6", "7"])
            modalities = frozenset(rng.sample(["MR", "OT", "SC", "CT", "PT", ""], rng.randint(0, 2))) - {""}
            series.append((uid, number, modalities))
        tool = [(i, s.uid) for i, s in tool_scanids.assign_scan_ids(tool_scanids.SeriesKey(*x) for x in series)]
        emulator = [(i, s.uid) for i, s in assign(SeriesIdentity(*x) for x in series)]
        assert tool == emulator, series
