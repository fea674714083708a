"""The streamed zip: exact length in advance, readable by Python's zipfile (central directory) and
by a sequential local-header reader as strict as Java's ZipInputStream (which XNAT uses: a STORED
entry must carry its CRC and sizes in the local header), ZIP64 records where needed."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from xsync.apply.zipstream import Entry, ZipStream


def entries(tmp_path: Path, sizes: list[int]) -> list[Entry]:
    out = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}.dcm"
        path.write_bytes(os.urandom(size))
        out.append(Entry(f"1.2.3.{i}.dcm", size, lambda p=path: p.open("rb")))
    return out


def java_like_read(data: bytes) -> dict[str, bytes]:
    """Local headers one after another, as ZipInputStream reads them: no data descriptors for
    STORED entries, the CRC and sizes of the header must match the bytes that follow."""
    out: dict[str, bytes] = {}
    pos = 0
    while data[pos : pos + 4] == b"PK\x03\x04":
        _, version, flags, method, _, _, crc, csize, usize, nlen, xlen = struct.unpack_from("<IHHHHHIIIHH", data, pos)
        name = data[pos + 30 : pos + 30 + nlen].decode()
        extra = data[pos + 30 + nlen : pos + 30 + nlen + xlen]
        assert method == 0 and not flags & 0x08, "a STORED entry with an EXT descriptor: ZipInputStream refuses it"
        if usize == 0xFFFFFFFF:
            tag, length, usize, csize = struct.unpack_from("<HHQQ", extra)
            assert (tag, length) == (1, 16)
        start = pos + 30 + nlen + xlen
        body = data[start : start + usize]
        assert zlib.crc32(body) == crc and csize == usize == len(body), name
        out[name] = body
        pos = start + usize
    assert data[pos : pos + 4] in (b"PK\x01\x02", b"PK\x05\x06"), "the central directory follows the last entry"
    return out


@pytest.mark.parametrize("sizes", [[], [0], [1, 10, 5000], [2 * 1024 * 1024 + 3, 17]])
def test_length_is_known_in_advance_and_both_readers_agree(tmp_path: Path, sizes: list[int]) -> None:
    files = entries(tmp_path, sizes)
    stream = ZipStream(files)
    data = b"".join(stream)
    assert len(data) == len(stream)
    expected = {e.name: (tmp_path / f"f{i}.dcm").read_bytes() for i, e in enumerate(files)}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert {i.filename: zf.read(i) for i in zf.infolist()} == expected
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    assert java_like_read(data) == expected
    assert b"".join(stream) == data  # a retry replays the same bytes


def test_zip64_records_when_an_entry_or_offset_passes_the_limit(tmp_path: Path) -> None:
    files = entries(tmp_path, [300, 10, 700])
    stream = ZipStream(files, zip64_limit=256)  # as if 256 bytes were 4 GiB
    data = b"".join(stream)
    assert len(data) == len(stream)
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [zf.read(n) for n in zf.namelist()] == [(tmp_path / f"f{i}.dcm").read_bytes() for i in range(3)]
    assert len(java_like_read(data)) == 3


def test_progress_counts_source_bytes(tmp_path: Path) -> None:
    seen: list[int] = []
    stream = ZipStream(entries(tmp_path, [100, 200]), on_bytes=seen.append)
    b"".join(stream)
    assert sum(seen) == 300


def test_a_file_that_changes_between_the_passes_is_an_error_not_a_bad_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    path.write_bytes(b"x" * 100)
    opened = []

    def opener() -> io.BufferedReader:
        opened.append(1)
        if len(opened) == 2:  # the send pass reads other bytes than the CRC pass did
            path.write_bytes(b"y" * 100)
        return path.open("rb")

    with pytest.raises(OSError, match="changed while it was sent"):
        b"".join(ZipStream([Entry("a.dcm", 100, opener)]))


def test_a_file_shorter_than_recorded_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    path.write_bytes(b"x" * 10)
    with pytest.raises(OSError, match="not the 11"):
        b"".join(ZipStream([Entry("a.dcm", 11, lambda: path.open("rb"))]))
