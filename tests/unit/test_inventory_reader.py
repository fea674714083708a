"""The header reader against pydicom, the oracle: every field of every file must agree."""

from __future__ import annotations

import gzip
import io
import warnings
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from xsync.inventory.fields import KEYWORDS, Header
from xsync.inventory.header import CHUNK, NeedsFallback, ReadAt, parse
from xsync.inventory.read import (
    CORRUPT,
    DICOMDIR,
    NOT_DICOM,
    OK,
    TRUNCATED,
    Entry,
    dicom_bytes,
    outcomes,
    read_file,
)
from xsync.testing.dicomgen import (
    StudySpec,
    make_dataset,
    to_bytes,
    write_broken,
    write_variety,
)

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"


def _oracle(ds: Dataset, tag: int) -> str:
    """The text of an element as pydicom reads it: values joined by `\\`, "" when absent."""
    if tag not in ds:
        return ""
    value = ds[tag].value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list):
        return "\\".join(str(v) for v in value)
    return str(value)


def _pydicom(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)


def _reader(data: bytes) -> ReadAt:
    return lambda offset, n: data[offset : offset + n]


def _assert_agrees(path: Path, entry: Entry) -> None:
    assert entry.kind == OK, (path, entry.message)
    assert entry.header is not None
    ds = _pydicom(dicom_bytes(str(path), entry.member))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        differences = {
            name: (getattr(entry.header, name), _oracle(ds, tag))
            for tag, name in KEYWORDS.items()
            if getattr(entry.header, name) != _oracle(ds, tag)
        }
    assert differences == {}, path
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        assert entry.header.transfer_syntax_uid == meta.TransferSyntaxUID


@pytest.fixture(scope="module")
def variety(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return write_variety(tmp_path_factory.mktemp("variety"))


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_broken(tmp_path_factory.mktemp("broken"))


FAST_CASES = [
    "explicit-le", "implicit-le", "no-preamble-implicit-le", "no-preamble-explicit-le", "enhanced", "mr-with-sc",
    "same-number", "no-series-number", "charset-latin1", "charset-utf8", "charset-japanese", "charset-chinese",
    "charset-cyrillic", "sequences", "private-sequence-implicit",
]  # fmt: skip


@pytest.mark.parametrize("case", FAST_CASES)
def test_fast_path_reads_it_and_agrees_with_pydicom(variety: dict[str, list[Path]], case: str) -> None:
    for path in variety[case]:
        data = path.read_bytes()
        parse(data[:CHUNK], len(data), _reader(data))  # no NeedsFallback
        [entry] = read_file(str(path), path.stat().st_size)
        _assert_agrees(path, entry)


@pytest.mark.parametrize("case", ["explicit-be", "deflated"])
def test_pydicom_fallback_reads_what_the_fast_path_declines(variety: dict[str, list[Path]], case: str) -> None:
    for path in variety[case]:
        data = path.read_bytes()
        with pytest.raises(NeedsFallback):
            parse(data[:CHUNK], len(data), _reader(data))
        [entry] = read_file(str(path), len(data))
        _assert_agrees(path, entry)


def test_names_in_other_character_sets_are_decoded(variety: dict[str, list[Path]]) -> None:
    [entry] = read_file(str(variety["charset-japanese"][0]), variety["charset-japanese"][0].stat().st_size)
    assert entry.header is not None
    assert entry.header.patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    [entry] = read_file(str(variety["charset-cyrillic"][0]), variety["charset-cyrillic"][0].stat().st_size)
    assert entry.header is not None
    assert entry.header.institution_name == "Иванов^Иван"


def test_gzip_and_zip_members(variety: dict[str, list[Path]]) -> None:
    gz = variety["gzip"][0]
    [entry] = read_file(str(gz), gz.stat().st_size)
    assert entry.gzipped and entry.size == len(gzip.decompress(gz.read_bytes())) > gz.stat().st_size
    _assert_agrees(gz, entry)
    archive = variety["zip"][0]
    entries = read_file(str(archive), archive.stat().st_size)
    assert [e.member for e in entries] == ["1/0001.dcm", "1/0002.dcm", "2/0001.dcm", "2/0002.dcm"]
    with zipfile.ZipFile(archive) as zf:
        assert [e.size for e in entries] == [zf.getinfo(e.member).file_size for e in entries if e.member]
    for entry in entries:
        _assert_agrees(archive, entry)


def test_zip_with_other_members(tmp_path: Path) -> None:
    data = to_bytes(make_dataset(StudySpec(), 0, 1))
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/1.dcm", data)
        zf.writestr("a/1.dcm.gz", gzip.compress(data))
        zf.writestr("notes.txt", "not DICOM")
        zf.writestr("__MACOSX/a/._1.dcm", b"resource fork")
        zf.writestr("a/.hidden.dcm", data)
    entries = {e.member: e for e in read_file(str(archive), archive.stat().st_size)}
    assert set(entries) == {"a/1.dcm", "a/1.dcm.gz", "notes.txt"}
    assert entries["a/1.dcm"].kind == OK and entries["a/1.dcm.gz"].kind == OK and entries["a/1.dcm.gz"].gzipped
    assert entries["notes.txt"].kind == NOT_DICOM


def test_values_beyond_the_first_read_are_fetched(tmp_path: Path) -> None:
    # A private block larger than the first read sits before the patient and study values.
    ds = make_dataset(StudySpec(patient_id="FAR", study_comments="after the block"), 0, 1)
    ds.private_block(0x0009, "BIG BLOCK", create=True).add_new(0x10, "OB", b"\x01" * (3 * CHUNK))
    path = tmp_path / "big.dcm"
    path.write_bytes(to_bytes(ds))
    [entry] = read_file(str(path), path.stat().st_size)
    _assert_agrees(path, entry)
    assert entry.header is not None and entry.header.study_comments == "after the block"


@pytest.mark.parametrize(
    ("case", "kind", "text"),
    [
        ("empty.dcm", NOT_DICOM, "no DICM magic"),
        ("README.txt", NOT_DICOM, "no DICM magic"),
        ("truncated-header.dcm", TRUNCATED, "inside the element header"),
        ("truncated-pixels.dcm", TRUNCATED, "pixel data declares"),
        ("dicm-garbage.dcm", TRUNCATED, ""),
        ("broken.dcm.gz", TRUNCATED, "gzip stream ends early"),
        ("broken.zip", CORRUPT, "damaged zip archive"),
    ],
)
def test_broken_files_become_outcomes_not_exceptions(broken: dict[str, Path], case: str, kind: str, text: str) -> None:
    path = broken[case]
    [entry] = read_file(str(path), path.stat().st_size)
    assert (entry.kind, entry.header) == (kind, None)
    assert text in entry.message


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    [entry] = read_file(str(tmp_path / "gone.dcm"), 10)
    assert entry.kind == "unreadable" and "No such file" in entry.message


def test_dicomdir_is_recognised() -> None:
    path = PYDICOM_DATA / "test_files" / "dicomdirtests" / "DICOMDIR"
    [entry] = read_file(str(path), path.stat().st_size)
    assert entry.kind == DICOMDIR


def _pydicom_files() -> list[Path]:
    files = sorted((PYDICOM_DATA / "test_files").rglob("*")) + sorted((PYDICOM_DATA / "charset_files").glob("*.dcm"))
    return [p for p in files if p.is_file()]


def test_agrees_with_pydicom_on_its_own_test_files() -> None:
    """Every file of pydicom's own test data that is a DICOM instance: MR_small in every
    transfer syntax, the character-set files, RT, SR, DICOMDIR trees, odd VRs."""
    checked = 0
    for path in _pydicom_files():
        data = path.read_bytes()
        [entry] = read_file(str(path), len(data))
        if entry.kind != OK:
            continue
        _assert_agrees(path, entry)
        checked += 1
    assert checked >= 150


def test_nrg_gzipped_siemens_files_agree_with_pydicom(nrg_root: Path) -> None:
    files = sorted((nrg_root / "sample-mr").glob("*.dcm.gz"))
    assert len(files) == 9
    for path in files:
        [entry] = read_file(str(path), path.stat().st_size)
        assert entry.gzipped and entry.size == len(gzip.decompress(path.read_bytes()))
        _assert_agrees(path, entry)


def test_outcomes_share_one_series_level_part(variety: dict[str, list[Path]]) -> None:
    memo: dict[tuple[str, ...], tuple[str, ...]] = {}
    a, b = (outcomes(read_file(str(p), p.stat().st_size), memo)[0] for p in variety["explicit-le"])
    assert a[4] != b[4]  # different SOP instances
    assert a[6] is b[6] and a[6] is not None  # one object for what they share
    assert Header._make((a[4], a[5], *a[6])).sop_instance_uid == a[4]


def test_header_fields_are_the_wanted_tags() -> None:
    # Every Header field but the transfer syntax comes from one dataset tag.
    assert set(KEYWORDS.values()) == set(Header._fields) - {"transfer_syntax_uid"}


@pytest.mark.parametrize("transfer_syntax", ["explicit-le", "implicit-le", "explicit-be"])
def test_a_file_cut_anywhere_is_an_outcome_never_an_exception(tmp_path: Path, transfer_syntax: str) -> None:
    good = to_bytes(make_dataset(StudySpec(), 0, 1), transfer_syntax=transfer_syntax)
    little = transfer_syntax != "explicit-be"
    pixels_at = good.rindex(b"\xe0\x7f\x10\x00" if little else b"\x7f\xe0\x00\x10")
    kinds = set()
    path = tmp_path / "cut.dcm"
    for cut in range(0, len(good), 3):
        path.write_bytes(good[:cut])
        [entry] = read_file(str(path), cut)
        kinds.add(entry.kind)
        if little and cut > pixels_at + 12:  # pixel data shorter than declared (pydicom does not check)
            assert entry.kind == TRUNCATED, cut
    assert kinds <= {OK, NOT_DICOM, TRUNCATED, CORRUPT} and TRUNCATED in kinds


def test_garbage_after_the_magic_is_an_outcome(tmp_path: Path) -> None:
    import random

    rng = random.Random(5)
    path = tmp_path / "noise.dcm"
    for _ in range(200):
        path.write_bytes(b"\0" * 128 + b"DICM" + rng.randbytes(rng.randrange(0, 600)))
        [entry] = read_file(str(path), path.stat().st_size)
        assert entry.kind in {OK, TRUNCATED, CORRUPT}
