"""Learned layouts must read every file exactly as the element walk does: the same values, the
same exceptions with the same messages; and they must actually be learned and used."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from xsync.inventory import elements, header, layout
from xsync.inventory.elements import CHUNK
from xsync.inventory.fields import KEYWORDS, Header
from xsync.inventory.header import parse
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes

STUDY = StudySpec(patient_id="LAYOUT", series=(SeriesSpec(7, "t1_mprage", instances=40),))


def _instance(i: int, transfer_syntax: str, *, big: bool = False) -> bytes:
    """A realistic instance whose element lengths vary from file to file in every way a layout
    handles: a few lengths (instance number, image position, window width, a wanted image
    type), many lengths (a private block, a wanted comment), a long fixed block, and an
    undefined-length sequence."""
    ds = make_dataset(STUDY, 0, i, rows=4, cols=4, realistic=True)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M"] if i % 3 else ["DERIVED", "SECONDARY", "MPR", "ND"]
    ds.ImagePositionPatient = [f"{-i * 1.37:.{i % 4}f}", "0", f"{i * 2.5:g}"]
    ds.WindowWidth = str(600 + i * 37)
    ds.PatientComments = "x" * (i % 11)
    ref = Dataset()
    ref.ReferencedSOPClassUID = ds.SOPClassUID
    ref.ReferencedSOPInstanceUID = STUDY.uid + ".9"
    ds.ReferencedImageSequence = Sequence([ref])
    ds["ReferencedImageSequence"].is_undefined_length = True
    block = ds.private_block(0x0029, "SYNTH CSA HEADER", create=True)
    block.add_new(0x11, "OB", b"\x01" * (1000 + 2 * (i % 4)))
    block.add_new(0x12, "OB", b"\x02" * (200 + 2 * i))
    block.add_new(0x13, "OB", b"\x03" * (layout.LONG_VALUE + 10))
    if big:  # wanted values beyond the first read
        ds.private_block(0x0009, "BIG BLOCK", create=True).add_new(0x10, "OB", b"\x04" * (3 * CHUNK))
    return to_bytes(ds, transfer_syntax=transfer_syntax)


def _read(data: bytes) -> Header | tuple[str, str]:
    """parse() as read_file calls it: the first CHUNK bytes, then reads at offsets."""
    try:
        return parse(data[:CHUNK], len(data), lambda off, n: data[off : off + n])
    except Exception as e:
        return type(e).__name__, str(e)


def _walked(data: bytes) -> Header | tuple[str, str]:
    """The same file read with nothing learned: element by element."""
    header.forget()
    try:
        return _read(data)
    finally:
        header.forget()


@pytest.fixture(autouse=True)
def _fresh_layouts() -> Iterator[None]:
    header.forget()
    yield
    header.forget()


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the files (or their rests) that were walked element by element."""
    calls: list[int] = []

    def counting(real: Callable[..., bool]) -> Callable[..., bool]:
        def walk(*args: Any) -> bool:
            calls.append(1)
            return real(*args)

        return walk

    monkeypatch.setattr(layout, "walk_explicit", counting(elements.walk_explicit))
    monkeypatch.setattr(layout, "walk_implicit", counting(elements.walk_implicit))
    return calls


@pytest.mark.parametrize("transfer_syntax", ["explicit-le", "implicit-le"])
@pytest.mark.parametrize("big", [False, True])
def test_a_series_is_read_through_its_layout_as_the_walk_reads_it(
    transfer_syntax: str, big: bool, walks: list[int]
) -> None:
    files = [_instance(i, transfer_syntax, big=big) for i in range(1, 41)]
    through_layouts = [_read(data) for data in files]
    learned = len(walks)
    assert through_layouts == [_walked(data) for data in files]
    assert all(isinstance(h, Header) for h in through_layouts)
    # Two files of a shape are walked before it is learned; then only files with a length not
    # seen yet are walked (and then only from the element that differs).
    assert learned <= 12
    assert through_layouts[5] != through_layouts[6]  # not one memorised header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(files[-1]), stop_before_pixels=True)
    header = through_layouts[-1]
    assert isinstance(header, Header)
    for tag, name in KEYWORDS.items():
        if tag in ds and name != "patient_name":
            value = ds[tag].value
            text = "\\".join(map(str, value)) if isinstance(value, list | pydicom.multival.MultiValue) else str(value)
            assert getattr(header, name) == text, name


def test_lengths_seen_to_vary_become_alternations_or_are_read_in_python() -> None:
    for i in range(1, 41):
        _read(_instance(i, "explicit-le"))
    [learned] = layout._LAYOUTS
    by_tag = {e.head[:4]: i for i, e in enumerate(learned.elements)}

    def variants(group: int, element: int) -> tuple[bytes, ...] | None:
        return learned.variants.get(by_tag[group.to_bytes(2, "little") + element.to_bytes(2, "little")])

    assert len(variants(0x0008, 0x0008) or ()) == 2  # two image types (wanted): an alternation
    assert len(variants(0x0010, 0x4000) or ()) == 6  # six comment lengths (wanted)
    assert len(variants(0x0029, 0x1011) or ()) == 4
    assert variants(0x0029, 0x1012) == ()  # a new length in every file: read in Python
    assert variants(0x0029, 0x1013) is None  # long but fixed
    assert variants(0x0008, 0x1140) is None  # the undefined-length sequence
    # Python takes over at the block of many lengths, the sequence, the long block, and pixel data.
    assert len(learned.segments) == 4


@pytest.mark.parametrize("transfer_syntax", ["explicit-le", "implicit-le"])
def test_every_cut_and_every_damaged_header_byte_reads_as_the_walk_reads_it(transfer_syntax: str) -> None:
    for i in range(1, 6):
        _read(_instance(i, transfer_syntax))
    good = _instance(6, transfer_syntax)
    variants = [good[:cut] for cut in range(0, len(good), 7)]
    # A flipped byte in the first 1,500 bytes hits tags, VRs and lengths as well as values, in the
    # file meta group (learned too) and in the dataset.
    variants += [good[:k] + bytes([good[k] ^ 0x41]) + good[k + 1 :] for k in range(128, 1500, 3)]
    through_layouts = [_read(data) for data in variants]
    assert through_layouts == [_walked(data) for data in variants]
    assert {type(r) for r in through_layouts} == {Header, tuple}  # both outcomes were exercised


def test_interleaved_series_of_different_shapes_keep_their_layouts(walks: list[int]) -> None:
    plain = StudySpec(patient_id="OTHER", series=(SeriesSpec(3, "localizer", instances=20),))
    others = [to_bytes(make_dataset(plain, 0, i)) for i in range(1, 21)]
    ours = [_instance(i, "explicit-le") for i in range(1, 21)]
    mixed = [data for pair in zip(ours, others, strict=True) for data in pair]
    results = [_read(data) for data in mixed]
    assert len(layout._LAYOUTS) == 2
    assert len(walks) <= 16  # each shape twice, then new lengths; not one walk per file
    assert results == [_walked(data) for data in mixed]
