"""A local DICOM object as it is sent: its bytes with the session's header edits made (the
spec's remaps, and for C-STORE the routing comment), the local file never touched.

The edit is a splice (`xsync.dicom.splice`): only the head of the object is read to plan it,
and the rest streams from the file as it is. An object with no edits streams unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from xsync.apply.files import Instance, entry_name, open_instance
from xsync.apply.zipstream import Entry
from xsync.dicom.dictionary import attribute, encode_text
from xsync.dicom.splice import ElementEdit, Splice, SpliceError, splice
from xsync.errors import InventoryError
from xsync.model.inventory import DicomFile
from xsync.spec.remap import HeaderChange


def element_edits(changes: tuple[HeaderChange, ...]) -> tuple[ElementEdit, ...]:
    """The byte-level edits of a session's header changes, in tag order."""
    out = []
    for change in changes:
        attr = attribute(change.keyword)
        assert attr is not None, "keywords are checked when the spec loads"
        value = (
            None if change.action == "remove" else b"" if change.action == "blank" else encode_text(attr, change.value)
        )
        out.append(ElementEdit(attr.tag, attr.vr, value))
    return tuple(sorted(out, key=lambda e: e.tag))


class _Head:
    """Random access to the head of a stream that can only be read forward: what the splice
    asks for is read on demand and kept (the walk stops at the last edited tag)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = bytearray()

    def read_at(self, offset: int, n: int) -> bytes:
        want = offset + n
        while want > len(self.buf):  # a zip member or a gzip stream may answer in parts
            data = self.stream.read(max(want - len(self.buf), 65536))
            if not data:
                break
            self.buf += data
        return bytes(self.buf[offset:want])


class SentObject:
    """One instance as sent: `size` of the whole object (file meta included) and `dataset_size`
    without it; `open()` and `open_dataset()` stream those bytes."""

    def __init__(self, instance: Instance, edits: tuple[ElementEdit, ...]) -> None:
        self.instance = instance
        self.edits = edits
        f = instance.file
        with open_instance(f) as stream:
            head = _Head(stream)
            try:
                self.splice = splice(head.read_at, f.size, f.transfer_syntax_uid, edits)
            except SpliceError as e:
                raise InventoryError(f"{_name(f)}: {e}") from None
        self.size = self.splice.size(f.size)
        self.dataset_size = self.size - self.splice.dataset

    def open(self) -> BinaryIO:
        return _spliced(self.instance.file, self.splice, 0)

    def open_dataset(self) -> BinaryIO:
        return _spliced(self.instance.file, self.splice, self.splice.dataset)


def _name(f: DicomFile) -> str:
    return f"{f.path}:{f.member}" if f.member else f.path


def _spliced(f: DicomFile, s: Splice, start: int) -> BinaryIO:
    """The object's bytes from `start`, with [s.start, s.end) replaced by s.data."""
    return cast(BinaryIO, io.BufferedReader(_Chunks(open_instance(f), s, start), buffer_size=1 << 16))


class _Chunks(io.RawIOBase):
    """A readable stream over `_pieces`: the source before the splice, the new bytes, the
    source after it."""

    def __init__(self, source: BinaryIO, s: Splice, start: int) -> None:
        super().__init__()
        self._source = source
        self._chunks = self._pieces(s, start)
        self._left = memoryview(b"")  # a view: handing out a chunk in parts copies nothing twice

    def _pieces(self, s: Splice, start: int) -> Iterator[bytes]:
        _skip(self._source, start)
        yield from _copy(self._source, s.start - start)
        yield s.data
        _skip(self._source, s.end - s.start)
        while chunk := self._source.read(1 << 20):
            yield chunk

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def _copy(stream: BinaryIO, n: int) -> Iterator[bytes]:
    while n > 0:
        data = stream.read(min(n, 1 << 20))
        if not data:
            raise InventoryError("a local DICOM file ended early; plan again")
        n -= len(data)
        yield data


def _skip(stream: BinaryIO, n: int) -> None:
    for _ in _copy(stream, n):
        pass


def remapped_entries(chosen: list[Instance], edits: tuple[ElementEdit, ...]) -> list[Entry]:
    """`files.zip_entries` with the edits made: each entry's size is known before the first
    byte is sent (the zip is STORED, its length announced)."""
    out = []
    for i in chosen:
        sent = SentObject(i, edits)
        out.append(Entry(entry_name(i), sent.size, sent.open))
    return out
