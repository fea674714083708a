"""A zip read front to back through its local headers, as java.util.zip.ZipInputStream (JDK 8)
reads an upload for XNAT's DicomZipImporter: the central directory is never consulted, and an
entry is handed on as soon as its bytes have been read, so memory holds one entry.

ZipInputStream's rules, followed here:
- The entries end at end of input met inside a local header's first 30 bytes, or at the
  first record that is not a local header (the central directory, or anything else).
- A name that is not UTF-8 is an IllegalArgumentException("MALFORMED") (`MalformedName`).
- Refused in the local header (a `ZipFormatError`, fatal): general-purpose flag bit 0
  ("encrypted ZIP entry not supported"); bit 3 (CRC and sizes deferred to a data descriptor)
  on anything but DEFLATED ("only DEFLATED entries can have EXT descriptor"); end of input
  inside the name or the extra field.
- Sizes come from the local header; when either is 0xFFFFFFFF, both come from a ZIP64 extra
  block (tag 1) of at least 16 bytes: original size, then compressed size.
- STORED: exactly the header's original size is read; the CRC is checked as the last byte
  comes in (so never for an empty entry).
- DEFLATED: inflated until the deflate stream ends; the bytes read past it are pushed back.
  With bit 3, a data descriptor follows: 16 bytes (CRC and 32-bit sizes, after an optional
  PK\\x07\\x08 signature: without it the last 4 bytes are pushed back), or 24 (64-bit sizes)
  only when the entry's actual sizes pass 4 GiB. Then original size, compressed size and CRC
  are checked in that order.
- Other methods (bzip2, LZMA ...) cannot be read ("invalid compression method").

A failure while an entry's bytes are read surfaces, in XNAT, inside the gradual importer that
is reading it: it is the entry's `damage`, not an exception here. When ZipInputStream cannot
move past such an entry (everything but a STORED entry's CRC mismatch: its next read fails
again), asking for the next entry raises `ZipFormatError`, as `getNextEntry` would.
A directory entry (name ending in `/`) is read and dropped, as XNAT skips it; its damage is
met by `getNextEntry` and is fatal.

The source raises OSError when the connection breaks (Tomcat's ClientAbortException): in a
header that is fatal, in an entry's bytes it is the entry's damage (and then fatal).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

CHUNK = 256 * 1024

_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # signature, version, flag, method, time, date, crc, csize, size, name, extra
_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _DESCRIPTOR = 0x1, 0x8
_MAGIC32 = 0xFFFFFFFF
_ZIP64_TAG = 0x0001


class ZipFormatError(Exception):
    """What `getNextEntry` throws: a ZipException or EOFException (an IOException)."""


class MalformedName(ValueError):
    """An entry name that is not UTF-8: Java's IllegalArgumentException("MALFORMED")."""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Source:
    """A forward-only byte source with push-back (ZipInputStream reads through a
    PushbackInputStream). `raw.read(n)` may return fewer bytes than asked; b"" is the end."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._pending = bytearray()  # pushed back or peeked, served before `raw`
        self._broken: OSError | None = None  # met while peeking: raised once `_pending` is served

    def read_some(self, n: int) -> bytes:
        """At most n bytes (at least one unless the input has ended)."""
        if self._pending:
            out = bytes(self._pending[:n])
            del self._pending[:n]
            return out
        if self._broken is not None:
            raise self._broken
        return self._raw.read(n)

    def read(self, n: int = -1) -> bytes:
        """n bytes, fewer only at the end of input; n < 0 reads to the end."""
        parts: list[bytes] = []
        self._gather(n, parts)
        return b"".join(parts)

    def peek(self, n: int) -> bytes:
        """Up to n bytes, left to be read. A broken source gives what came before the break;
        reading on past those bytes raises the error."""
        parts: list[bytes] = []
        try:
            self._gather(n, parts)
        except OSError as e:
            self._broken = e
        head = b"".join(parts)
        self.unread(head)
        return head

    def _gather(self, n: int, parts: list[bytes]) -> None:
        got = 0
        while n < 0 or got < n:
            chunk = self.read_some(CHUNK if n < 0 else min(CHUNK, n - got))
            if not chunk:
                return
            parts.append(chunk)
            got += len(chunk)

    def unread(self, data: bytes) -> None:
        self._pending[:0] = data


@dataclass(frozen=True)
class ZipEntry:
    name: str  # the path in the archive, as Java decodes it
    data: bytes  # what was read of it (all of it unless `damage` says otherwise)
    damage: str | None = None  # the ZipException the reader of the entry would meet


@dataclass(frozen=True)
class _Header:
    name: str
    flag: int
    method: int
    crc: int
    csize: int
    size: int


def read_zip(source: Source) -> Iterator[ZipEntry]:
    """Every entry of the zip in `source`, in stored order (module docstring for the rules)."""
    while True:
        header = _read_header(source)
        if header is None:
            return
        data, damage, positioned = _read_data(source, header)
        if header.name.endswith("/"):
            if damage is not None:
                raise ZipFormatError(damage)
            continue
        yield ZipEntry(header.name, data, damage)
        if damage is not None and not positioned:
            raise ZipFormatError(damage)


def _read_exact(source: Source, n: int) -> bytes:
    data = source.read(n)
    if len(data) < n:
        raise ZipFormatError("EOFException")
    return data


def _read_header(source: Source) -> _Header | None:
    fixed = source.read(_LOCAL.size)
    if len(fixed) < _LOCAL.size or not fixed.startswith(_LOCAL_SIG):
        return None
    _, _, flag, method, _, _, crc, csize, size, name_len, extra_len = _LOCAL.unpack(fixed)
    raw_name = _read_exact(source, name_len)
    try:
        name = raw_name.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedName("MALFORMED") from None
    if flag & _ENCRYPTED:
        raise ZipFormatError("encrypted ZIP entry not supported")
    if flag & _DESCRIPTOR:
        if method != _DEFLATED:
            raise ZipFormatError("only DEFLATED entries can have EXT descriptor")
        crc = csize = size = -1  # unknown until the descriptor
    extra = _read_exact(source, extra_len)
    if _MAGIC32 in (csize, size):
        size, csize = _zip64_sizes(extra, size, csize)
    return _Header(name, flag, method, crc, csize, size)


def _zip64_sizes(extra: bytes, size: int, csize: int) -> tuple[int, int]:
    """The sizes of a local header's ZIP64 block (both or neither), else the header's."""
    offset = 0
    while offset + 4 < len(extra):
        tag, length = struct.unpack_from("<HH", extra, offset)
        offset += 4
        if offset + length > len(extra):
            break
        if tag == _ZIP64_TAG and length >= 16:
            big_size, big_csize = struct.unpack_from("<QQ", extra, offset)
            return big_size, big_csize
        offset += length
    return size, csize


def _read_data(source: Source, header: _Header) -> tuple[bytes, str | None, bool]:
    """(bytes read, damage, whether the source stands at the next header)."""
    if header.method == _STORED:
        return _read_stored(source, header)
    if header.method == _DEFLATED:
        return _read_deflated(source, header)
    return b"", "invalid compression method", False


def _read_stored(source: Source, header: _Header) -> tuple[bytes, str | None, bool]:
    parts: list[bytes] = []
    remaining, crc = header.size, 0
    try:
        while remaining > 0:
            chunk = source.read_some(min(CHUNK, remaining))
            if not chunk:
                return b"".join(parts), "unexpected EOF", False
            parts.append(chunk)
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
    except OSError as e:
        return b"".join(parts), f"connection broken: {e}", False
    data = b"".join(parts)
    if header.size > 0 and crc != header.crc:  # Java checks once the last byte is in: never when empty
        return data, _crc_damage(header.crc, crc), True
    return data, None, True


def _read_deflated(source: Source, header: _Header) -> tuple[bytes, str | None, bool]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    consumed = written = crc = 0
    try:
        while not inflater.eof:
            chunk = source.read_some(CHUNK)
            if not chunk:
                return b"".join(parts), "Unexpected end of ZLIB input stream", False
            out = inflater.decompress(chunk)
            consumed += len(chunk)
            parts.append(out)
            written += len(out)
            crc = zlib.crc32(out, crc)
        consumed -= len(inflater.unused_data)
        source.unread(inflater.unused_data)
        expected_crc, expected_csize, expected_size = header.crc, header.csize, header.size
        if header.flag & _DESCRIPTOR:
            big = max(written, consumed) > _MAGIC32
            expected_crc, expected_csize, expected_size = _read_descriptor(source, big=big)
    except zlib.error as e:
        return b"".join(parts), str(e), False
    except ZipFormatError as e:  # the descriptor is cut short
        return b"".join(parts), str(e), False
    except OSError as e:
        return b"".join(parts), f"connection broken: {e}", False
    data = b"".join(parts)
    if expected_size != written:
        return data, f"invalid entry size (expected {expected_size} but got {written} bytes)", False
    if expected_csize != consumed:
        return data, f"invalid entry compressed size (expected {expected_csize} but got {consumed} bytes)", False
    if expected_crc != crc:
        return data, _crc_damage(expected_crc, crc), False
    return data, None, True


def _read_descriptor(source: Source, *, big: bool) -> tuple[int, int, int]:
    """(crc, compressed size, original size) of the data descriptor after an entry."""
    fields = struct.Struct("<4sIQQ" if big else "<4sIII")
    raw = _read_exact(source, fields.size)
    signature, crc, csize, size = fields.unpack(raw)
    if signature == _DESCRIPTOR_SIG:
        return crc, csize, size
    # No signature: the record starts with the CRC, and its last 4 bytes belong to what follows.
    crc = int.from_bytes(signature, "little")
    source.unread(raw[-4:])
    return (crc, *struct.unpack_from("<QQ" if big else "<II", raw, 4))


def _crc_damage(expected: int, got: int) -> str:
    return f"invalid entry CRC (expected 0x{expected:x} but got 0x{got:x})"
