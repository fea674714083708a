"""Property: for any dataset holding the fields the inventory reads (any VR's values, padded,
multi-valued, ASCII or Latin-1, explicit or implicit VR, with or without preamble and file
meta, sequences before the wanted elements, holding wanted tags themselves), the inventory's
reader gives every field exactly as pydicom reads it."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from xsync.inventory.fields import _DATASET_FIELDS
from xsync.inventory.read import OK, read_file
from xsync.testing.dicomgen import to_bytes

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
UID_CHARS = "0123456789."
CS_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ "
ASCII_TEXT = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "\\")
LATIN1_TEXT = ASCII_TEXT + "éüøßÀÇñ°µ"
PADDING = st.sampled_from(["", " ", "  "])


def _values(vr: str, text: str) -> st.SearchStrategy[str]:
    """One value of `vr` as a file may hold it (leading/trailing spaces where the VR allows)."""
    if vr == "UI":
        return st.from_regex(r"[12]\.[0-9]{1,3}(\.[0-9]{1,8}){1,5}", fullmatch=True)
    if vr == "CS":
        return st.text(CS_CHARS, min_size=0, max_size=16).map(str.rstrip)
    if vr == "DA":
        return st.from_regex(r"(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])", fullmatch=True)
    if vr == "TM":
        return st.from_regex(r"([01][0-9]|2[0-3])[0-5][0-9]([0-5][0-9](\.[0-9]{1,6})?)?", fullmatch=True)
    if vr == "IS":
        return st.builds(lambda n, a, b: f"{a}{n}{b}", st.integers(-9999, 99999), PADDING, PADDING)
    if vr == "DS":
        return st.builds(lambda n, a, b: f"{a}{n}{b}", st.sampled_from(["1.5", "3", "0.35", "-2", "7E-1", "3.0"]),
                         PADDING, PADDING)  # fmt: skip
    limit = {"SH": 16, "LO": 64, "PN": 64, "LT": 200}[vr]
    chars = text if vr != "PN" else text.replace("=", "")
    return st.text(chars, max_size=limit // 2).map(lambda v: v.rstrip(" "))  # leading spaces kept


@st.composite
def datasets(draw: st.DrawFn) -> tuple[Dataset, str]:
    """A dataset and its encoding."""
    latin1 = draw(st.booleans())
    text = LATIN1_TEXT if latin1 else ASCII_TEXT
    ds = Dataset()
    ds.SOPClassUID = MR_IMAGE
    for tag, vr, _, name in _DATASET_FIELDS:
        if tag == 0x00080005:
            if latin1:
                ds.add_new(tag, vr, "ISO_IR 100")
            continue
        required = name in ("sop_instance_uid", "study_instance_uid", "series_instance_uid", "sop_class_uid")
        if name == "sop_class_uid" or (not required and not draw(st.booleans())):
            continue
        multi = vr in ("CS", "LO", "SH", "PN") and not required and draw(st.booleans())
        values = draw(st.lists(_values(vr, text), min_size=1, max_size=3 if multi else 1))
        ds.add_new(tag, vr, values if len(values) > 1 else values[0])
    if draw(st.booleans()):  # a sequence before most wanted elements, holding some of them
        item = Dataset()
        item.StudyInstanceUID = draw(_values("UI", text))
        item.SeriesDescription = draw(_values("LO", text))
        item.PatientName = "Nested^Name"
        ds.ReferencedStudySequence = Sequence([item] * draw(st.integers(1, 3)))  # (0008,1110)
    return ds, draw(st.sampled_from(["explicit-le", "implicit-le"]))


def _encode(ds: Dataset, ts: str, form: str) -> bytes:
    if form == "bare":
        return to_bytes(ds, transfer_syntax=ts, preamble=False)
    data = to_bytes(ds, transfer_syntax=ts)
    return data if form == "part10" else data[132:]  # "meta": a meta group, no preamble


def _pydicom_text(ds: Dataset, tag: int) -> str:
    if tag not in ds or ds[tag].value is None:
        return ""
    value = ds[tag].value
    if isinstance(value, MultiValue | list):
        return "\\".join(str(v) for v in value)
    return str(value)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on values it finds odd: it writes them
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=datasets(), form=st.sampled_from(["part10", "meta", "bare"]))
def test_the_reader_reads_every_field_as_pydicom_does(tmp_path: Path, case: tuple[Dataset, str], form: str) -> None:
    ds, ts = case
    data = _encode(ds, ts, form)
    path = tmp_path / "x.dcm"
    path.write_bytes(data)
    [entry] = read_file(str(path), len(data))
    assert entry.kind == OK, entry.message
    assert entry.header is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        expected = {name: _pydicom_text(oracle, tag) for tag, _, _, name in _DATASET_FIELDS}
    got = {name: getattr(entry.header, name) for _, _, _, name in _DATASET_FIELDS}
    assert got == expected
