"""The fast DICOM header parser: explicit/implicit VR little-endian datasets read element by
element up to pixel data (whose declared length also tells a truncated file), keeping the raw
values of the elements in `fields.WANTED` and handing them to `fields.decode`.

Everything it cannot read exactly as pydicom would (big endian, deflate, a VR that is not a
VR, a preamble-less file it cannot place) raises `NeedsFallback`, and the caller hands the
file to pydicom. No pydicom at module level: worker processes that meet only plain files
never pay for importing it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from xsync.inventory.fields import WANTED, Header, decode

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR

# Enough for the header of a typical MR file, and the point where a file is worth a second read.
CHUNK = 16384


PIXEL_DATA = 0x7FE00010

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL",
     b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)  # fmt: skip
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD

_tag_vr_len16 = struct.Struct("<HH2sH").unpack_from
_tag_len32 = struct.Struct("<HHI").unpack_from
_u32 = struct.Struct("<I").unpack_from

ReadAt = Callable[[int, int], bytes]  # (offset, n) -> up to n bytes at offset


class NeedsFallback(Exception):
    """The fast path cannot read this file exactly; pydicom must."""


class NotDicom(Exception):
    """Not a DICOM file (no DICM magic and no recognisable dataset)."""


class Truncated(Exception):
    """The file ends before an element it declares."""


class DicomDir(Exception):
    """A DICOMDIR (a file-set index), not an instance."""


def _looks_like_dataset_start(buf: bytes) -> bool:
    """A preamble-less file: the first element is in group 0002 or 0008, little endian."""
    return len(buf) >= 8 and buf[1] == 0 and buf[0] in (2, 8) and buf[3] == 0


def classify(buf: bytes) -> str:
    """What the first bytes of a file say it is: "dicom" (DICM at 128), "bare" (a dataset with
    no preamble, little endian), "bare-be" (big endian), "gzip", "zip" or "other"."""
    if len(buf) >= 132 and buf[128:132] == b"DICM":
        return "dicom"
    if buf[:2] == b"\x1f\x8b":
        return "gzip"
    if buf[:4] == b"PK\x03\x04":
        return "zip"
    if _looks_like_dataset_start(buf):
        return "bare"
    if len(buf) >= 8 and buf[0] == 0 and buf[1] in (2, 8) and buf[2] == 0:
        return "bare-be"
    return "other"


class _Window:
    """A view of a file's bytes that re-reads when the parser moves past what it holds."""

    __slots__ = ("buf", "base", "size", "read_at")

    def __init__(self, buf: bytes, size: int, read_at: ReadAt) -> None:
        self.buf = buf
        self.base = 0
        self.size = size
        self.read_at = read_at

    def need(self, pos: int, n: int) -> int:
        """Make [pos, pos+n) available; return its index in `buf`. Raises Truncated at EOF."""
        if pos + n > self.size:
            raise Truncated(f"ends at byte {self.size}, inside an element that starts at byte {pos}")
        rel = pos - self.base
        if rel >= 0 and rel + n <= len(self.buf):
            return rel
        self.buf = self.read_at(pos, max(n, CHUNK))
        self.base = pos
        if len(self.buf) < n:
            raise Truncated(f"ends at byte {pos + len(self.buf)}, inside an element that starts at byte {pos}")
        return 0


def _skip_undefined(win: _Window, pos: int, explicit: bool) -> int:
    """Skip the items of an undefined-length sequence starting at `pos`; return the position
    after its delimiter."""
    while True:
        rel = win.need(pos, 8)
        group, elem, length = _tag_len32(win.buf, rel)
        tag = group << 16 | elem
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise NeedsFallback(f"unexpected tag {tag:08X} inside a sequence")
        if length != _UNDEFINED:
            pos += length
            continue
        # An undefined-length item: its elements, up to the item delimiter.
        while True:
            rel = win.need(pos, 8)
            group, elem, length = _tag_len32(win.buf, rel)
            if (group << 16 | elem) == _ITEM_END:
                pos += 8
                break
            pos, length, vr = _element_extent(win, pos, explicit)
            if length == _UNDEFINED:
                # A nested sequence; an undefined-length UN holds implicit VR items (PS3.5 6.2.2).
                pos = _skip_undefined(win, pos, explicit and vr != b"UN")
            else:
                pos += length


def _element_extent(win: _Window, pos: int, explicit: bool) -> tuple[int, int, bytes]:
    """(value position, value length, VR or b"") of the element starting at `pos`."""
    rel = win.need(pos, 8)
    if not explicit:
        _, _, length = _tag_len32(win.buf, rel)
        return pos + 8, length, b""
    _, _, vr, length = _tag_vr_len16(win.buf, rel)
    if vr in _LONG_VRS:
        rel = win.need(pos, 12)
        return pos + 12, _u32(win.buf, rel + 8)[0], vr
    if vr in _SHORT_VRS:
        return pos + 8, length, vr
    raise NeedsFallback(f"not a VR: {vr!r}")


def _read_meta(win: _Window, pos: int) -> tuple[int, str, str]:
    """Parse the file meta group (always explicit VR little endian) at `pos`.

    Returns (position after the group, transfer syntax UID, media storage SOP class UID).
    """
    buf = win.buf
    # The usual case: the whole group in the first read, its length announced by (0002,0000).
    if win.base == 0 and buf[pos : pos + 8] == b"\x02\x00\x00\x00UL\x04\x00" and pos + 12 <= len(buf):
        end = pos + 12 + _u32(buf, pos + 8)[0]
        if end + 2 <= len(buf) and buf[end : end + 2] != b"\x02\x00":
            found = _meta_values(buf, pos + 12, end)
            if found is not None:
                return end, *found
    return _read_meta_by_element(win, pos)


def _meta_values(buf: bytes, pos: int, end: int) -> tuple[str, str] | None:
    """(transfer syntax, media storage SOP class) of the meta elements in buf[pos:end]; None
    when they do not exactly fill it."""
    ts = media_class = ""
    while pos + 8 <= end:
        stag, vr, length = _explicit_element(buf, pos)
        hl = _HEADER_LENGTH[vr]
        if hl == 12:
            length = _u32(buf, pos + 8)[0]
        elif hl == 0:
            return None
        pos += hl
        if stag == 0x00100002:  # (0002,0010), swapped
            ts = buf[pos : pos + length].decode("latin-1").rstrip("\0 ")
        elif stag == 0x00020002:
            media_class = buf[pos : pos + length].decode("latin-1").rstrip("\0 ")
        pos += length
    return (ts, media_class) if pos == end else None


def _read_meta_by_element(win: _Window, pos: int) -> tuple[int, str, str]:
    ts = media_class = ""
    size = win.size
    while pos + 8 <= size:
        rel = win.need(pos, min(12, size - pos))
        buf = win.buf
        stag, vr, length = _explicit_element(buf, rel)
        if stag & 0xFFFF != 0x0002:
            break
        hl = _HEADER_LENGTH[vr]
        if hl == 12:
            if rel + 12 > len(buf):
                raise Truncated(f"the file ends inside the element header at byte {pos}")
            length = _u32(buf, rel + 8)[0]
        elif hl == 0:
            raise NeedsFallback(f"file meta element with no VR: {vr:04X}")
        pos += hl
        if length == _UNDEFINED:
            raise NeedsFallback("undefined length in the file meta group")
        elem = stag >> 16
        if elem == 0x0010 or elem == 0x0002:
            rel = win.need(pos, length)
            value = win.buf[rel : rel + length].decode("latin-1").rstrip("\0 ")
            if elem == 0x0010:
                ts = value
            else:
                media_class = value
        pos += length
    return pos, ts, media_class


def parse(buf: bytes, size: int, read_at: ReadAt) -> Header:
    """Read the header of a DICOM file whose first bytes are `buf` (the whole file when it is
    small) and whose length is `size`; `read_at(offset, n)` reads further.

    Raises NeedsFallback, NotDicom, Truncated or DicomDir.
    """
    win = _Window(buf, size, read_at)
    kind = classify(buf)
    if kind == "dicom":
        pos, ts, media_class = _read_meta(win, 132)
        if media_class == MEDIA_STORAGE_DIRECTORY:
            raise DicomDir("DICOMDIR")
        if ts in (EXPLICIT_VR_BE, DEFLATED_EXPLICIT_VR_LE):
            raise NeedsFallback(ts)
        explicit = _explicit_at(win, pos)
        if ts == IMPLICIT_VR_LE and explicit:
            raise NeedsFallback("implicit VR declared, explicit VR found")  # pydicom copes
        if not ts:
            ts = EXPLICIT_VR_LE if explicit else IMPLICIT_VR_LE
    elif kind == "bare":
        pos = 0
        if buf[0] == 2:  # a meta group without a preamble
            pos, ts, media_class = _read_meta(win, 0)
            if media_class == MEDIA_STORAGE_DIRECTORY:
                raise DicomDir("DICOMDIR")
            if ts not in ("", IMPLICIT_VR_LE, EXPLICIT_VR_LE):
                raise NeedsFallback(ts)
        else:
            ts = ""
        explicit = _explicit_at(win, pos)
        if not ts:
            ts = EXPLICIT_VR_LE if explicit else IMPLICIT_VR_LE
    elif kind == "bare-be":
        raise NeedsFallback("big endian without a preamble")
    else:
        raise NotDicom("no DICM magic at byte 128 and no DICOM dataset at byte 0")
    return _read_dataset(win, pos, explicit, ts)


def _explicit_at(win: _Window, pos: int) -> bool:
    if pos + 8 > win.size:
        return True
    rel = win.need(pos, 6)
    vr = win.buf[rel + 4 : rel + 6]
    return vr in _SHORT_VRS or vr in _LONG_VRS


def _read_dataset(win: _Window, pos: int, explicit: bool, ts: str) -> Header:
    found: list[tuple[tuple[int, int], bytes]] = []
    if explicit:
        _walk_explicit(win, pos, found)
    else:
        _walk_implicit(win, pos, found)
    return decode(found, ts)


# The hot loops below look tags up "swapped" (element << 16 | group, which is how a 32-bit
# little-endian read sees the 4 tag bytes), so one unpack gives the dictionary key. They run
# once per element of every file, so the explicit and implicit walks are written out in full
# rather than sharing helpers: a function call per element would cost more than the parsing.
def _swap(tag: int) -> int:
    return (tag & 0xFFFF) << 16 | tag >> 16


_PIXEL = (-1, -1)
_BY_SWAPPED_TAG: dict[int, tuple[int, int]] = {_swap(tag): v for tag, v in WANTED.items()}
_BY_SWAPPED_TAG[_swap(PIXEL_DATA)] = _PIXEL
# Element header length by VR read as a little-endian 16-bit number; 0 for bytes that are no VR.
_HEADER_LENGTH: list[int] = [0] * 65536
for _vr in _LONG_VRS | _SHORT_VRS:
    _HEADER_LENGTH[_vr[0] | _vr[1] << 8] = 12 if _vr in _LONG_VRS else 8
_explicit_element = struct.Struct("<IHH").unpack_from
_implicit_element = struct.Struct("<II").unpack_from
_UN = ord("U") | ord("N") << 8


def _walk_explicit(win: _Window, pos: int, found: list[tuple[tuple[int, int], bytes]]) -> None:
    """Collect the wanted values of an explicit VR little-endian dataset, up to pixel data."""
    size = win.size
    buf, base = win.buf, win.base
    blen = len(buf)
    rel = pos - base
    fields = _BY_SWAPPED_TAG
    header_length = _HEADER_LENGTH
    unpack = _explicit_element
    undefined = _UNDEFINED
    while True:
        if rel + 12 > blen:
            pos = base + rel
            if pos + 8 > size:
                _check_end(pos, size)
                return
            rel = win.need(pos, min(12, size - pos))
            buf, base = win.buf, win.base
            blen = len(buf)
        stag, vr, length = unpack(buf, rel)
        hl = header_length[vr]
        if hl == 8:
            # A short VR: a 16-bit length, never undefined. Most elements end here.
            if stag not in fields:
                rel += 8 + length
                continue
            rel += 8
        elif hl == 12:
            if rel + 12 > blen:
                raise Truncated(f"the file ends inside the element header at byte {base + rel}")
            length = _u32(buf, rel + 8)[0]
            rel += 12
            if stag not in fields:
                if length != undefined:
                    rel += length
                    continue
                if stag & 0xFFFF == 0xFFFE:
                    raise NeedsFallback("a delimiter at the top level")
                pos = _skip_undefined(win, base + rel, vr != _UN)
                buf, base = win.buf, win.base
                blen = len(buf)
                rel = pos - base
                continue
        else:
            raise NeedsFallback(f"not a VR: {vr:04X} at byte {base + rel}")
        field = fields[stag]
        if field is _PIXEL:
            _check_pixel_data(base + rel, length, size)
            return
        if length == undefined:
            raise NeedsFallback("a text element of undefined length")
        if rel + length > blen:
            rel = win.need(base + rel, length)
            buf, base = win.buf, win.base
            blen = len(buf)
        found.append((field, buf[rel : rel + length]))
        rel += length


def _walk_implicit(win: _Window, pos: int, found: list[tuple[tuple[int, int], bytes]]) -> None:
    """Collect the wanted values of an implicit VR little-endian dataset, up to pixel data."""
    size = win.size
    buf, base = win.buf, win.base
    blen = len(buf)
    rel = pos - base
    fields = _BY_SWAPPED_TAG
    unpack = _implicit_element
    undefined = _UNDEFINED
    while True:
        if rel + 8 > blen:
            pos = base + rel
            if pos + 8 > size:
                _check_end(pos, size)
                return
            rel = win.need(pos, 8)
            buf, base = win.buf, win.base
            blen = len(buf)
        stag, length = unpack(buf, rel)
        rel += 8
        if stag not in fields:
            if length != undefined:
                rel += length
                continue
            if stag & 0xFFFF == 0xFFFE:
                raise NeedsFallback("a delimiter at the top level")
            pos = _skip_undefined(win, base + rel, False)  # a sequence (or UN holding one)
            buf, base = win.buf, win.base
            blen = len(buf)
            rel = pos - base
            continue
        field = fields[stag]
        if field is _PIXEL:
            _check_pixel_data(base + rel, length, size)
            return
        if length == undefined:
            raise NeedsFallback("a text element of undefined length")
        if rel + length > blen:
            rel = win.need(base + rel, length)
            buf, base = win.buf, win.base
            blen = len(buf)
        found.append((field, buf[rel : rel + length]))
        rel += length


def _check_end(pos: int, size: int) -> None:
    """The dataset ends at `pos`: exactly at the end of the file, or the file is cut short."""
    if pos > size:
        raise Truncated(f"an element runs past the end of the file ({size} bytes)")
    if pos < size:
        raise Truncated(f"the file ends at byte {size}, inside the element header at byte {pos}")


def _check_pixel_data(pos: int, length: int, size: int) -> None:
    if length != _UNDEFINED and pos + length > size:
        raise Truncated(f"pixel data declares {length} bytes at byte {pos}, but the file ends at byte {size}")
