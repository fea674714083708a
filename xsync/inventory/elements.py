"""Element-by-element reading of a little-endian DICOM dataset (explicit or implicit VR): the
exceptions that send a file elsewhere, the window over a file's bytes, and the walks that
collect the raw values of the wanted elements up to pixel data (whose declared length also
tells a truncated file).

The walks also note where each top-level element starts, so that `layout` can learn the
arrangement and check the next files of a series without walking them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from xsync.inventory.fields import WANTED

# Enough for the header of a typical MR file, and the point where a file is worth a second read.
CHUNK = 16384

PIXEL_DATA = 0x7FE00010
UNDEFINED = 0xFFFFFFFF

LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL",
     b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)  # fmt: skip
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD

_tag_vr_len16 = struct.Struct("<HH2sH").unpack_from
_tag_len32 = struct.Struct("<HHI").unpack_from
u32 = struct.Struct("<I").unpack_from

ReadAt = Callable[[int, int], bytes]  # (offset, n) -> up to n bytes at offset
Found = list[tuple[tuple[int, int], bytes]]  # (field of WANTED, raw value) in file order


class NeedsFallback(Exception):
    """The fast path cannot read this file exactly; pydicom must."""


class NotDicom(Exception):
    """Not a DICOM file (no DICM magic and no recognisable dataset)."""


class Truncated(Exception):
    """The file ends before an element it declares."""


class DicomDir(Exception):
    """A DICOMDIR (a file-set index), not an instance."""


class Window:
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


def skip_undefined(win: Window, pos: int, explicit: bool) -> int:
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
        if length != UNDEFINED:
            pos += length
            continue
        # An undefined-length item: its elements, up to the item delimiter.
        while True:
            rel = win.need(pos, 8)
            group, elem, length = _tag_len32(win.buf, rel)
            if (group << 16 | elem) == _ITEM_END:
                pos += 8
                break
            pos, length, vr = element_extent(win, pos, explicit)
            if length == UNDEFINED:
                # A nested sequence; an undefined-length UN holds implicit VR items (PS3.5 6.2.2).
                pos = skip_undefined(win, pos, explicit and vr != b"UN")
            else:
                pos += length


def element_extent(win: Window, pos: int, explicit: bool) -> tuple[int, int, bytes]:
    """(value position, value length, VR or b"") of the element starting at `pos`."""
    rel = win.need(pos, 8)
    if not explicit:
        _, _, length = _tag_len32(win.buf, rel)
        return pos + 8, length, b""
    _, _, vr, length = _tag_vr_len16(win.buf, rel)
    if vr in LONG_VRS:
        rel = win.need(pos, 12)
        return pos + 12, u32(win.buf, rel + 8)[0], vr
    if vr in SHORT_VRS:
        return pos + 8, length, vr
    raise NeedsFallback(f"not a VR: {vr!r}")


# The hot loops below look tags up "swapped" (element << 16 | group, which is how a 32-bit
# little-endian read sees the 4 tag bytes), so one unpack gives the dictionary key. They run
# once per element of every file the layouts do not cover, so the explicit and implicit walks
# are written out in full rather than sharing helpers: a function call per element would cost
# more than the parsing.
def swap(tag: int) -> int:
    return (tag & 0xFFFF) << 16 | tag >> 16


PIXEL = (-1, -1)
BY_SWAPPED_TAG: dict[int, tuple[int, int]] = {swap(tag): v for tag, v in WANTED.items()}
BY_SWAPPED_TAG[swap(PIXEL_DATA)] = PIXEL
# Element header length by VR read as a little-endian 16-bit number; 0 for bytes that are no VR.
HEADER_LENGTH: list[int] = [0] * 65536
for _vr in LONG_VRS | SHORT_VRS:
    HEADER_LENGTH[_vr[0] | _vr[1] << 8] = 12 if _vr in LONG_VRS else 8
explicit_element = struct.Struct("<IHH").unpack_from
_implicit_element = struct.Struct("<II").unpack_from
UN = ord("U") | ord("N") << 8


def walk_explicit(win: Window, pos: int, found: Found, starts: list[int]) -> bool:
    """Collect the wanted values of an explicit VR little-endian dataset from `pos` up to pixel
    data, noting the start of every top-level element in `starts`. True when it ended at
    pixel data (its element is the last start), False at the end of the file."""
    size = win.size
    buf, base = win.buf, win.base
    blen = len(buf)
    rel = pos - base
    fields = BY_SWAPPED_TAG
    header_length = HEADER_LENGTH
    unpack = explicit_element
    undefined = UNDEFINED
    note = starts.append
    while True:
        if rel + 12 > blen:
            pos = base + rel
            if pos + 8 > size:
                check_end(pos, size)
                return False
            rel = win.need(pos, min(12, size - pos))
            buf, base = win.buf, win.base
            blen = len(buf)
        note(base + rel)
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
            length = u32(buf, rel + 8)[0]
            rel += 12
            if stag not in fields:
                if length != undefined:
                    rel += length
                    continue
                if stag & 0xFFFF == 0xFFFE:
                    raise NeedsFallback("a delimiter at the top level")
                pos = skip_undefined(win, base + rel, vr != UN)
                buf, base = win.buf, win.base
                blen = len(buf)
                rel = pos - base
                continue
        else:
            raise NeedsFallback(f"not a VR: {vr:04X} at byte {base + rel}")
        field = fields[stag]
        if field is PIXEL:
            check_pixel_data(base + rel, length, size)
            return True
        if length == undefined:
            raise NeedsFallback("a text element of undefined length")
        if rel + length > blen:
            rel = win.need(base + rel, length)
            buf, base = win.buf, win.base
            blen = len(buf)
        found.append((field, buf[rel : rel + length]))
        rel += length


def walk_implicit(win: Window, pos: int, found: Found, starts: list[int]) -> bool:
    """`walk_explicit` for an implicit VR little-endian dataset."""
    size = win.size
    buf, base = win.buf, win.base
    blen = len(buf)
    rel = pos - base
    fields = BY_SWAPPED_TAG
    unpack = _implicit_element
    undefined = UNDEFINED
    note = starts.append
    while True:
        if rel + 8 > blen:
            pos = base + rel
            if pos + 8 > size:
                check_end(pos, size)
                return False
            rel = win.need(pos, 8)
            buf, base = win.buf, win.base
            blen = len(buf)
        note(base + rel)
        stag, length = unpack(buf, rel)
        rel += 8
        if stag not in fields:
            if length != undefined:
                rel += length
                continue
            if stag & 0xFFFF == 0xFFFE:
                raise NeedsFallback("a delimiter at the top level")
            pos = skip_undefined(win, base + rel, False)  # a sequence (or UN holding one)
            buf, base = win.buf, win.base
            blen = len(buf)
            rel = pos - base
            continue
        field = fields[stag]
        if field is PIXEL:
            check_pixel_data(base + rel, length, size)
            return True
        if length == undefined:
            raise NeedsFallback("a text element of undefined length")
        if rel + length > blen:
            rel = win.need(base + rel, length)
            buf, base = win.buf, win.base
            blen = len(buf)
        found.append((field, buf[rel : rel + length]))
        rel += length


def check_end(pos: int, size: int) -> None:
    """The dataset ends at `pos`: exactly at the end of the file, or the file is cut short."""
    if pos > size:
        raise Truncated(f"an element runs past the end of the file ({size} bytes)")
    if pos < size:
        raise Truncated(f"the file ends at byte {size}, inside the element header at byte {pos}")


def check_pixel_data(pos: int, length: int, size: int) -> None:
    if length != UNDEFINED and pos + length > size:
        raise Truncated(f"pixel data declares {length} bytes at byte {pos}, but the file ends at byte {size}")
