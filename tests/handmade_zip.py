"""Zip bytes built by hand, for the records Python's zipfile will not write (a wrong CRC, a
descriptor without its signature, a STORED entry with a descriptor between good ones), and a
zipfile target that cannot seek, which makes zipfile defer every entry's CRC and sizes to a
data descriptor as the streaming-zip libraries do."""

from __future__ import annotations

import io
import struct
import zlib

_UTF8 = 1 << 11
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06" + bytes(18)  # an empty one: where ZipInputStream stops


def local_entry(
    name: str,
    data: bytes,
    *,
    deflate: bool = False,
    descriptor: bool = False,
    descriptor_signature: bool = True,
    crc: int | None = None,
    zip64: bool = False,
    raw_name: bytes | None = None,
) -> bytes:
    """One local header and its data (and data descriptor): `crc` overrides the true one,
    `zip64` puts both sizes in a ZIP64 extra block (the header says 0xFFFFFFFF), `raw_name`
    replaces the UTF-8 name's bytes."""
    if deflate:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        payload = packer.compress(data) + packer.flush()
    else:
        payload = data
    crc = zlib.crc32(data) if crc is None else crc
    flag = _UTF8 | (0x8 if descriptor else 0)
    head_crc, head_csize, head_size = (0, 0, 0) if descriptor else (crc, len(payload), len(data))
    extra = b""
    if zip64:
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(payload))
        head_csize = head_size = 0xFFFFFFFF
    encoded = name.encode("utf-8") if raw_name is None else raw_name
    header = _LOCAL.pack(
        b"PK\x03\x04", 45 if zip64 else 20, flag, 8 if deflate else 0, 0, 0x21,
        head_crc, head_csize, head_size, len(encoded), len(extra),
    )  # fmt: skip
    tail = b""
    if descriptor:
        tail = (b"PK\x07\x08" if descriptor_signature else b"") + struct.pack("<III", crc, len(payload), len(data))
    return header + encoded + extra + payload + tail


class Unseekable(io.RawIOBase):
    """A write-only target zipfile cannot seek back in: `bytes(target.written)` after closing."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.written += b
        return len(b)
