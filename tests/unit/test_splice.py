"""Header edits on an object's own bytes: what pydicom reads back is the edited dataset, and
every byte outside the edited elements is the original's."""

from __future__ import annotations

import io
import struct

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from xsync.dicom.dictionary import attribute, encode_text
from xsync.dicom.splice import ElementEdit, SpliceError, splice
from xsync.testing.dicomgen import TRANSFER_SYNTAXES, SeriesSpec, StudySpec, make_dataset, to_bytes

STUDY = StudySpec(patient_name="Doe^Jane", patient_id="PID-1", patient_comments="clinical note",
                  series=(SeriesSpec(1, "T1w"),))  # fmt: skip


def _edit(keyword: str, value: str | None) -> ElementEdit:
    attr = attribute(keyword)
    assert attr is not None
    return ElementEdit(attr.tag, attr.vr, None if value is None else encode_text(attr, value) if value else b"")


def _spliced(data: bytes, ts: str, *edits: ElementEdit) -> tuple[bytes, int, int]:
    s = splice(lambda off, n: data[off : off + n], len(data), ts, tuple(sorted(edits, key=lambda e: e.tag)))
    out = data[: s.start] + s.data + data[s.end :]
    assert len(out) == s.size(len(data))
    return out, s.start, s.end


def _file(syntax: str = "explicit-le", **extra: object) -> bytes:
    ds = make_dataset(STUDY, 0, 1)
    for k, v in extra.items():
        setattr(ds, k, v)
    return to_bytes(ds, transfer_syntax=syntax)


@pytest.mark.parametrize("syntax", ["explicit-le", "implicit-le"])
def test_set_blank_remove_and_add(syntax: str) -> None:
    data = _file(syntax)
    ts = str(TRANSFER_SYNTAXES[syntax])
    out, start, end = _spliced(
        data, ts, _edit("PatientName", ""), _edit("PatientID", "sub1_ses1"), _edit("PatientComments", None),
        _edit("StudyComments", "Project:P Subject:S Session:E"),
    )  # fmt: skip
    before, after = dcmread(io.BytesIO(data)), dcmread(io.BytesIO(out))
    assert after.PatientName == "" and after.PatientID == "sub1_ses1"
    assert "PatientComments" not in after and before.PatientComments == "clinical note"
    assert after.StudyComments == "Project:P Subject:S Session:E"
    assert after.PixelData == before.PixelData
    others = {e.tag for e in before} - {0x00100010, 0x00100020, 0x00104000}
    assert all(before[t] == after[t] for t in others)
    # everything outside the replaced range is byte for byte the original
    assert out[:start] == data[:start] and out[len(out) - (len(data) - end) :] == data[end:]


def test_an_odd_value_is_padded_and_a_ui_with_nul() -> None:
    data = _file()
    out, _, _ = _spliced(data, str(TRANSFER_SYNTAXES["explicit-le"]), _edit("PatientID", "abc"))
    assert b"abc " in out
    assert encode_text(attribute("StudyInstanceUID"), "1.2.3") == b"1.2.3\0"  # type: ignore[arg-type]


def test_an_undefined_length_sequence_before_the_edit_is_kept_whole() -> None:
    item = Dataset()
    item.CodeValue = "X"
    data = _file(ReferencedStudySequence=Sequence([item]))
    ds = dcmread(io.BytesIO(data))
    ds["ReferencedStudySequence"].is_undefined_length = True
    raw = io.BytesIO()
    ds.save_as(raw, enforce_file_format=True)
    data = raw.getvalue()
    out, _, _ = _spliced(data, str(TRANSFER_SYNTAXES["explicit-le"]), _edit("PatientID", "S1"))
    after = dcmread(io.BytesIO(out))
    assert after.PatientID == "S1" and after.ReferencedStudySequence[0].CodeValue == "X"


def _group_elements(data: bytes, dataset: int, group: int) -> tuple[int, int]:
    """(where `group` starts, the bytes of its elements but a group length) in an implicit VR file."""
    pos, first, length = dataset, -1, 0
    while pos < len(data):
        g, e, n = struct.unpack_from("<HHI", data, pos)
        if g == group:
            first = pos if first < 0 else first
            length += 8 + n if e else 0
        pos += 8 + n
    return first, length


def test_a_group_length_is_kept_true() -> None:
    data = _file("implicit-le")
    dataset = 132 + 12 + struct.unpack_from("<I", data, 140)[0]
    first, length = _group_elements(data, dataset, 0x0010)
    data = data[:first] + struct.pack("<HHII", 0x0010, 0, 4, length) + data[first:]
    out, _, _ = _spliced(data, str(TRANSFER_SYNTAXES["implicit-le"]), _edit("PatientName", "A_much_longer^Name"))
    after = dcmread(io.BytesIO(out))
    assert after.PatientName == "A_much_longer^Name"
    assert after[0x00100000].value == _group_elements(out, dataset, 0x0010)[1] != length


@pytest.mark.parametrize("syntax", ["explicit-be", "deflated"])
def test_big_endian_and_deflated_are_refused(syntax: str) -> None:
    data = _file(syntax)
    with pytest.raises(SpliceError, match="cannot be edited"):
        _spliced(data, str(TRANSFER_SYNTAXES[syntax]), _edit("PatientID", "S1"))


def test_a_truncated_header_is_refused() -> None:
    data = _file()[:200]
    with pytest.raises(SpliceError, match="cannot be read exactly"):
        _spliced(data, str(TRANSFER_SYNTAXES["explicit-le"]), _edit("PatientID", "S1"))
