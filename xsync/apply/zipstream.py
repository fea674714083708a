"""A zip of local files produced while it is sent: no archive in memory or on disk, the exact
length known before the first byte (for Content-Length), entries STORED (pixel data barely
compresses, and deflate would cap an upload at about 12 MB/s here).

Why not a streaming-zip library: XNAT reads uploads with java.util.zip.ZipInputStream, which
refuses a STORED entry that defers its CRC and sizes to a data descriptor ("only DEFLATED entries
can have EXT descriptor"), and the streaming libraries all write one. Here each entry's CRC is
computed in a first pass over its source and written in its local header; the bytes are read
again to be sent (the page cache serves the second read). Memory stays at one chunk.

ZIP64 records are written only when the archive needs them (an entry or an offset past 4 GiB,
more than 65,535 entries), so ordinary studies stay plain zips.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_VERSION_PLAIN, _VERSION_ZIP64 = 20, 45
_UTF8 = 1 << 11  # general purpose flag: the name is UTF-8
_DOS_DATE, _DOS_TIME = (1980 - 1980) << 9 | 1 << 5 | 1, 0  # 1980-01-01 00:00: reproducible bytes


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its name there, its exact length, and how to read it."""

    name: str
    size: int
    open: Callable[[], BinaryIO]


class ZipStream:
    """`len(stream)` is the archive's exact length; iterating yields its bytes in chunks.
    `on_bytes(n)` is called as source bytes go out (progress). Iterating twice sends the same
    bytes twice, so a retry can replay it."""

    def __init__(self, entries: Sequence[Entry], *, zip64_limit: int = _U32,
                 on_bytes: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.entries = tuple(entries)
        self._limit = zip64_limit  # lowered in tests to exercise the ZIP64 records
        self._on_bytes = on_bytes
        names = [e.name.encode("utf-8") for e in self.entries]
        if len(set(names)) != len(names):
            raise ValueError("two entries of one zip share a name")
        self._names = names
        self._length = self._layout()
        self.failure: OSError | None = None  # why the last iteration broke on our side, if it did

    def __len__(self) -> int:
        return self._length

    # -- layout ----------------------------------------------------------------------------
    def _big(self, value: int) -> bool:
        return value >= self._limit

    def _local_extra_len(self, entry: Entry) -> int:
        return 20 if self._big(entry.size) else 0

    def _layout(self) -> int:
        offset = 0
        central = 0
        for entry, name in zip(self.entries, self._names, strict=True):
            central += 46 + len(name) + self._central_extra_len(entry.size, offset)
            offset += 30 + len(name) + self._local_extra_len(entry) + entry.size
        return offset + central + self._end_len(offset, central)

    def _central_extra_len(self, size: int, offset: int) -> int:
        n = 8 * (2 if self._big(size) else 0) + (8 if self._big(offset) else 0)
        return 4 + n if n else 0

    def _needs_zip64_end(self, directory_offset: int, directory_size: int) -> bool:
        return len(self.entries) >= _U16 or self._big(directory_offset) or self._big(directory_size)

    def _end_len(self, directory_offset: int, directory_size: int) -> int:
        return 22 + (56 + 20 if self._needs_zip64_end(directory_offset, directory_size) else 0)

    # -- bytes -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[bytes]:
        """The archive's bytes. A source that cannot be read as recorded raises OSError, also kept
        in `failure`: an HTTP client sending the body reports it as its own transport error."""
        self.failure = None
        try:
            yield from self._bytes()
        except OSError as e:
            self.failure = e
            raise

    def _bytes(self) -> Iterator[bytes]:
        offset = 0
        central: list[bytes] = []
        for entry, name in zip(self.entries, self._names, strict=True):
            crc = _crc_of(entry)
            header = self._local_header(entry, name, crc)
            central.append(self._central_header(entry, name, crc, offset))
            yield header
            yield from self._body(entry, crc)
            offset += len(header) + entry.size
        directory = b"".join(central)
        yield directory
        yield self._end(offset, len(directory))

    def _body(self, entry: Entry, crc: int) -> Iterator[bytes]:
        """Exactly `entry.size` bytes, with the CRC checked again as they go: a file that changed
        between the passes fails here rather than on the server."""
        remaining, check = entry.size, 0
        with entry.open() as source:
            while remaining:
                chunk = source.read(min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"{entry.name} shrank while it was sent")
                remaining -= len(chunk)
                check = zlib.crc32(chunk, check)
                if self._on_bytes is not None:
                    self._on_bytes(len(chunk))
                yield chunk
            if source.read(1) or check != crc:
                raise OSError(f"{entry.name} changed while it was sent")

    def _local_header(self, entry: Entry, name: bytes, crc: int) -> bytes:
        big = self._big(entry.size)
        size32 = _U32 if big else entry.size
        extra = struct.pack("<HHQQ", 0x0001, 16, entry.size, entry.size) if big else b""
        version = _VERSION_ZIP64 if big else _VERSION_PLAIN
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, version, _UTF8, 0, _DOS_TIME, _DOS_DATE, crc,
                           size32, size32, len(name), len(extra)) + name + extra  # fmt: skip

    def _central_header(self, entry: Entry, name: bytes, crc: int, offset: int) -> bytes:
        big_size, big_offset = self._big(entry.size), self._big(offset)
        fields = b""
        if big_size:
            fields += struct.pack("<QQ", entry.size, entry.size)
        if big_offset:
            fields += struct.pack("<Q", offset)
        extra = struct.pack("<HH", 0x0001, len(fields)) + fields if fields else b""
        version = _VERSION_ZIP64 if fields else _VERSION_PLAIN
        size32 = _U32 if big_size else entry.size
        return struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, _UTF8, 0, _DOS_TIME, _DOS_DATE, crc,
            size32, size32, len(name), len(extra), 0, 0, 0, 0, _U32 if big_offset else offset,
        ) + name + extra  # fmt: skip

    def _end(self, directory_offset: int, directory_size: int) -> bytes:
        count = len(self.entries)
        out = b""
        if self._needs_zip64_end(directory_offset, directory_size):
            record_offset = directory_offset + directory_size
            out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _VERSION_ZIP64, _VERSION_ZIP64, 0, 0, count, count,
                               directory_size, directory_offset)  # fmt: skip
            out += struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1)
            count16 = min(count, _U16)
            size32 = _U32 if self._big(directory_size) else directory_size
            offset32 = _U32 if self._big(directory_offset) else directory_offset
        else:
            count16, size32, offset32 = count, directory_size, directory_offset
        return out + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count16, count16, size32, offset32, 0)


def _crc_of(entry: Entry) -> int:
    crc = 0
    seen = 0
    with entry.open() as source:
        while chunk := source.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            seen += len(chunk)
    if seen != entry.size:
        raise OSError(f"{entry.name} is {seen} bytes, not the {entry.size} the inventory recorded")
    return crc
