"""The emulator's sequential zip reader against java.util.zip.ZipInputStream's rules (JDK 8), on
zips from Python's zipfile and on hand-made records; and the archive walk that turns its
failures into XNAT's answers."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

import pytest

from tests.handmade_zip import END_OF_CENTRAL_DIRECTORY, Unseekable, local_entry
from xsync.emulator.archive_entries import ArchiveEntry, entries
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.zipreader import MalformedName, Source, ZipEntry, ZipFormatError, read_zip

A, B, C = b"first entry " * 40, b"second" * 300, bytes(range(256)) * 20


def read_all(data: bytes) -> list[ZipEntry]:
    return list(read_zip(Source(io.BytesIO(data))))


def read_until_fatal(data: bytes) -> tuple[list[ZipEntry], str]:
    got: list[ZipEntry] = []
    with pytest.raises(ZipFormatError) as fatal:
        for entry in read_zip(Source(io.BytesIO(data))):
            got.append(entry)
    return got, str(fatal.value)


def python_zip(method: int, *, seekable: bool = True, zip64: bool = False) -> bytes:
    target: io.BytesIO | Unseekable = io.BytesIO() if seekable else Unseekable()
    with zipfile.ZipFile(target, "w", method) as zf:
        zf.writestr("dir/", b"")
        for name, data in (("dir/a.dcm", A), ("b.dcm", B)):
            with zf.open(name, "w", force_zip64=zip64) as f:
                f.write(data)
    return target.getvalue() if isinstance(target, io.BytesIO) else bytes(target.written)


# -- what ZipInputStream reads -------------------------------------------------------------
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("zip64", [False, True], ids=["plain", "zip64-local-headers"])
def test_zipfile_archives_read_entry_by_entry(method: int, zip64: bool) -> None:
    data = python_zip(method, zip64=zip64)
    assert [(e.name, e.data, e.damage) for e in read_all(data)] == [("dir/a.dcm", A, None), ("b.dcm", B, None)]


def test_deflated_entries_with_data_descriptors_are_read() -> None:
    streamed = python_zip(zipfile.ZIP_DEFLATED, seekable=False)
    assert [(e.name, e.data) for e in read_all(streamed)] == [("dir/a.dcm", A), ("b.dcm", B)]
    # A descriptor may omit its signature: Java then pushes its last 4 bytes back.
    unsigned = local_entry("a", A, deflate=True, descriptor=True, descriptor_signature=False)
    unsigned += local_entry("b", B, deflate=True, descriptor=True, descriptor_signature=False)
    assert [(e.name, e.data, e.damage) for e in read_all(unsigned + END_OF_CENTRAL_DIRECTORY)] == [
        ("a", A, None),
        ("b", B, None),
    ]


def test_a_stored_entry_with_a_data_descriptor_is_refused_where_it_starts() -> None:
    got, fatal = read_until_fatal(python_zip(zipfile.ZIP_STORED, seekable=False))
    assert (got, fatal) == ([], "only DEFLATED entries can have EXT descriptor")
    mixed = local_entry("a", A) + local_entry("b", B, deflate=True) + local_entry("c", C, descriptor=True)
    got, fatal = read_until_fatal(mixed + END_OF_CENTRAL_DIRECTORY)
    assert [e.name for e in got] == ["a", "b"] and fatal == "only DEFLATED entries can have EXT descriptor"


def test_zipfile_zip64_descriptors_read_as_java_reads_them() -> None:
    """zipfile writes 24-byte descriptors for a forced ZIP64 entry; Java reads 16 bytes unless
    the entry passes 4 GiB, so its original size reads as 0 and the entry fails."""
    got, fatal = read_until_fatal(python_zip(zipfile.ZIP_DEFLATED, seekable=False, zip64=True))
    assert [(e.name, e.damage) for e in got] == [
        ("dir/a.dcm", f"invalid entry size (expected 0 but got {len(A)} bytes)")
    ]
    assert fatal == got[0].damage


def test_a_wrong_crc_fails_the_entry_and_only_stored_ones_can_be_passed() -> None:
    stored = local_entry("a", A) + local_entry("b", B, crc=1) + local_entry("c", C) + END_OF_CENTRAL_DIRECTORY
    entries_read = read_all(stored)
    assert [(e.name, e.damage) for e in entries_read] == [
        ("a", None),
        ("b", f"invalid entry CRC (expected 0x1 but got 0x{zlib.crc32(B):x})"),
        ("c", None),
    ]
    deflated = local_entry("a", A) + local_entry("b", B, deflate=True, crc=1) + local_entry("c", C)
    got, fatal = read_until_fatal(deflated)
    assert [e.name for e in got] == ["a", "b"] and got[1].damage == fatal and fatal.startswith("invalid entry CRC")
    # Java checks a STORED CRC as the last byte comes in: an empty entry is never checked.
    assert [e.damage for e in read_all(local_entry("empty", b"", crc=99))] == [None]


def test_where_the_entries_end() -> None:
    two = local_entry("a", A) + local_entry("b", B)
    # The first record that is not a local header ends them, whatever follows.
    assert [e.name for e in read_all(two + END_OF_CENTRAL_DIRECTORY + local_entry("c", C))] == ["a", "b"]
    assert [e.name for e in read_all(two + b"junk" * 20)] == ["a", "b"]
    # End of input inside a header's first 30 bytes is a normal end (Java catches that EOF) ...
    third = local_entry("c", C)
    assert [e.name for e in read_all(two + third[:29])] == ["a", "b"]
    # ... but not inside its name, and a STORED entry cut short fails, then stops the reader.
    assert read_until_fatal(two + third[:30])[1] == "EOFException"
    got, fatal = read_until_fatal(two + third[:-5])
    assert [(e.name, e.damage, len(e.data)) for e in got][-1] == ("c", "unexpected EOF", len(C) - 5)
    assert fatal == "unexpected EOF"
    got, fatal = read_until_fatal(local_entry("a", A, deflate=True)[:-3])
    assert got[0].damage == fatal == "Unexpected end of ZLIB input stream"


def test_refused_headers() -> None:
    encrypted = bytearray(local_entry("a", A))
    encrypted[6] |= 1
    assert read_until_fatal(bytes(encrypted))[1] == "encrypted ZIP entry not supported"
    with pytest.raises(MalformedName):
        read_all(local_entry("", A, raw_name="é.dcm".encode("latin-1")))
    bzip2 = io.BytesIO()
    with zipfile.ZipFile(bzip2, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("a", A)
        zf.writestr("b", B)
    got, fatal = read_until_fatal(bzip2.getvalue())
    assert [(e.name, e.damage) for e in got] == [("a", "invalid compression method")]


class BreaksAfter:
    """A connection that drops after `n` bytes (the OSError Tomcat's reader raises)."""

    def __init__(self, data: bytes, n: int) -> None:
        self._data, self._left = io.BytesIO(data), n

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError("connection reset")
        chunk = self._data.read(min(size if size >= 0 else self._left, self._left))
        self._left -= len(chunk)
        return chunk


def test_a_dropped_connection_fails_the_entry_it_cuts_or_the_header() -> None:
    body = local_entry("a", A) + local_entry("b", B) + local_entry("c", C)
    cut_in_b = len(local_entry("a", A)) + 100
    got, fatal = read_until_fatal_from(BreaksAfter(body, cut_in_b))
    assert [(e.name, e.damage is None) for e in got] == [("a", True), ("b", False)]
    assert fatal.startswith("connection broken")
    with pytest.raises(OSError):
        list(read_zip(Source(BreaksAfter(body, len(local_entry("a", A)) + 10))))


def read_until_fatal_from(raw: BreaksAfter) -> tuple[list[ZipEntry], str]:
    got: list[ZipEntry] = []
    with pytest.raises(ZipFormatError) as fatal:
        for entry in read_zip(Source(raw)):
            got.append(entry)
    return got, str(fatal.value)


def test_source_pushes_back_and_peeks() -> None:
    source = Source(io.BytesIO(b"abcdef"))
    assert source.peek(3) == b"abc" and source.read(2) == b"ab"
    source.unread(b"XY")
    assert source.read() == b"XYcdef" and source.read(4) == b""
    # A break met while peeking keeps the bytes before it, and is raised once they are read.
    broken = Source(BreaksAfter(b"PK\x03\x04", 2))
    assert broken.peek(262) == b"PK" and broken.read(2) == b"PK"
    with pytest.raises(OSError):
        broken.read(1)


# -- the archive walk --------------------------------------------------------------------------
def walk(name: str, data: bytes, *, sniff: bool = True) -> Iterator[ArchiveEntry]:
    return entries(name, Source(io.BytesIO(data)), sniff=sniff)


def failures(got: list[ArchiveEntry]) -> list[tuple[str, str | None]]:
    return [(e.path, e.failure.message if e.failure else None) for e in got]


def test_failed_entries_carry_xnats_answer() -> None:
    body = local_entry("dir\\x\\b.dcm", B, crc=1) + local_entry("c.dcm", C)
    assert failures(list(walk("upload.zip", body))) == [
        ("dir\\x\\b.dcm", "unable to read DICOM object b.dcm"),
        ("c.dcm", None),
    ]
    with pytest.raises(XnatHTTPError) as fatal:
        list(walk("upload.zip", local_entry("a", A, descriptor=True)))
    assert (fatal.value.status, fatal.value.message) == (400, "unable to read data from file")
    with pytest.raises(XnatHTTPError) as malformed:
        list(walk("upload.zip", local_entry("", A, raw_name=b"\xff.dcm")))
    assert malformed.value.message == "MALFORMED"


def test_nested_archives_fail_as_one_entry_of_their_parent() -> None:
    inner_ok = local_entry("n1.dcm", A) + END_OF_CENTRAL_DIRECTORY
    inner_bad = local_entry("n2.dcm", B) + local_entry("n3.dcm", C, descriptor=True)
    body = local_entry("ok.zip", inner_ok) + local_entry("bad.zip", inner_bad) + local_entry("after.dcm", C)
    assert failures(list(walk("upload.zip", body))) == [
        ("n1.dcm", None),
        ("n2.dcm", None),
        ("bad.zip", "unable to read data from file"),
        ("after.dcm", None),
    ]
    # Damage to the nested archive's own bytes is met when the parent's next entry is read.
    damaged = local_entry("ok.zip", inner_ok, crc=7) + local_entry("after.dcm", C)
    got: list[ArchiveEntry] = []
    with pytest.raises(XnatHTTPError, match="unable to read data from file"):
        got.extend(walk("upload.zip", damaged))
    assert failures(got) == [("n1.dcm", None)]
    # Strict mode nests by XNAT's Format names: a `.gz` entry is an unsupported format.
    assert failures(list(walk("upload.zip", local_entry("x.gz", A), sniff=False))) == [
        ("x.gz", "Unsupported format GZ")
    ]
