"""Header edits on a DICOM object's own bytes: the top-level elements of an explicit or
implicit VR little-endian dataset set, blanked, removed or added, every other byte kept as it
was (pixel data, private tags, sequences, the file meta, the preamble).

An edit of the bytes rather than a pydicom round trip, because what is sent must be exactly
the local file but for the declared edits (a re-encoding changes undefined lengths, padding
and VRs of private elements), and because only the head of a file is read: the rest streams.

`splice` walks the top-level elements up to the last edited tag and says which byte range to
replace by what; a group length element ((gggg,0000), retired but still written by some
scanners) of an edited group is kept true. Big-endian and deflated datasets are refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from xsync.inventory.elements import (
    LONG_VRS,
    PIXEL_DATA,
    UNDEFINED,
    NeedsFallback,
    ReadAt,
    Truncated,
    Window,
    element_extent,
    skip_undefined,
)

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
_NOT_EDITABLE = frozenset({"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})  # big endian, deflated
_PREAMBLE = 128
_pack_tag = struct.Struct("<HH").pack
_u16 = struct.Struct("<H").pack
_u32 = struct.Struct("<I").pack
_tag_at = struct.Struct("<HH").unpack_from


class SpliceError(Exception):
    """The object's header cannot be edited exactly (its transfer syntax, or a damaged header)."""


@dataclass(frozen=True)
class ElementEdit:
    """One top-level element: `value` None removes it, b"" blanks it, else its encoded value
    (already padded to an even length). `vr` is the dictionary VR, used when the element is
    added to an explicit VR dataset."""

    tag: int
    vr: str
    value: bytes | None


@dataclass(frozen=True)
class Splice:
    """Replace the object's bytes [start, end) by `data`; `dataset` is where its dataset starts
    (after the preamble and file meta, 0 for a bare dataset)."""

    dataset: int
    start: int
    end: int
    data: bytes

    def size(self, original: int) -> int:
        return original - (self.end - self.start) + len(self.data)


def is_editable(transfer_syntax: str) -> bool:
    """A standard little-endian syntax that is not deflated: implicit, explicit, and every
    encapsulated one (JPEG ...), whose dataset is explicit VR little endian."""
    return transfer_syntax == IMPLICIT_VR_LE or (
        transfer_syntax.startswith("1.2.840.10008.1.2.") and transfer_syntax not in _NOT_EDITABLE
    )


def splice(read_at: ReadAt, size: int, transfer_syntax: str, edits: tuple[ElementEdit, ...]) -> Splice:
    """Where and how the bytes of one object change under `edits` (tags ascending)."""
    if not is_editable(transfer_syntax):
        raise SpliceError(f"headers in transfer syntax {transfer_syntax} (big endian or deflated) cannot be edited")
    explicit = transfer_syntax != IMPLICIT_VR_LE
    try:
        win = Window(read_at(0, 16384), size, read_at)
        dataset = _dataset_offset(win)
        if not edits:
            return Splice(dataset, dataset, dataset, b"")
        elements = _top_level(win, dataset, explicit, max(e.tag for e in edits))
    except (Truncated, NeedsFallback) as e:
        raise SpliceError(f"its header cannot be read exactly ({e})") from None
    return _apply(win, elements, dataset, explicit, edits)


@dataclass(frozen=True)
class _Element:
    tag: int
    start: int
    value: int  # where the value starts
    end: int
    vr: bytes  # b"" in implicit VR


def _dataset_offset(win: Window) -> int:
    """After the preamble and file meta group; 0 for a dataset with neither."""
    pos = _PREAMBLE + 4 if win.size >= _PREAMBLE + 4 and win.buf[_PREAMBLE : _PREAMBLE + 4] == b"DICM" else 0
    while pos + 8 <= win.size:
        rel = win.need(pos, 8)
        group, _ = _tag_at(win.buf, rel)
        if group != 0x0002:
            break
        value, length, _ = element_extent(win, pos, True)
        if length == UNDEFINED:
            raise NeedsFallback("an undefined length in the file meta")
        pos = value + length
    if pos > win.size:
        raise Truncated(f"the file meta runs past the end ({win.size} bytes)")
    return pos


def _top_level(win: Window, pos: int, explicit: bool, last: int) -> list[_Element]:
    """The top-level elements from `pos` through the first one past tag `last` (or pixel data,
    or the end of the dataset), each with its extent."""
    out: list[_Element] = []
    while pos + 8 <= win.size:
        rel = win.need(pos, 8)
        group, elem = _tag_at(win.buf, rel)
        tag = group << 16 | elem
        if tag > last or tag == PIXEL_DATA:
            out.append(_Element(tag, pos, pos, pos, b""))  # where the edited range ends
            return out
        value, length, vr = element_extent(win, pos, explicit)
        if length == UNDEFINED:
            end = skip_undefined(win, value, explicit and vr != b"UN")
        else:
            end = value + length
            if end > win.size:
                raise Truncated(f"an element runs past the end ({win.size} bytes)")
        out.append(_Element(tag, pos, value, end, vr))
        pos = end
    if pos != win.size:
        raise Truncated(f"the file ends at byte {win.size}, inside an element header")
    return out


def _encode(tag: int, vr: bytes, value: bytes, explicit: bool) -> bytes:
    head = _pack_tag(tag >> 16, tag & 0xFFFF)
    if not explicit:
        return head + _u32(len(value)) + value
    if vr in LONG_VRS:
        return head + vr + b"\0\0" + _u32(len(value)) + value
    if len(value) > 0xFFFF:
        raise SpliceError(f"a value of {len(value)} bytes does not fit a {vr.decode()} element")
    return head + vr + _u16(len(value)) + value


def _apply(
    win: Window, elements: list[_Element], dataset: int, explicit: bool, edits: tuple[ElementEdit, ...]
) -> Splice:
    by_tag = {e.tag: e for e in edits}
    groups = {e.tag >> 16 for e in edits}
    first_tag = min(min(by_tag), *(g << 16 for g in groups))
    present = {el.tag for el in elements}
    kept = [el for el in elements if el.tag >= first_tag]
    start = kept[0].start if kept else (elements[-1].end if elements else dataset)
    end = max((el.end for el in kept), default=start)
    pieces: list[tuple[int, bytes]] = []  # (tag, encoded element), in tag order
    for el in kept:
        if el.start == el.end:  # the first element past the edits: not replaced
            continue
        edit = by_tag.get(el.tag)
        if edit is None:
            rel = win.need(el.start, el.end - el.start)
            pieces.append((el.tag, bytes(win.buf[rel : rel + el.end - el.start])))
        elif edit.value is not None:
            pieces.append((el.tag, _encode(el.tag, el.vr or edit.vr.encode(), edit.value, explicit)))
    for edit in edits:
        if edit.tag not in present and edit.value is not None:
            pieces.append((edit.tag, _encode(edit.tag, edit.vr.encode(), edit.value, explicit)))
    pieces.sort(key=lambda p: p[0])
    old: dict[int, int] = {}  # group -> bytes of its elements (but its group length) in the replaced range
    for el in kept:
        if el.tag & 0xFFFF:
            old[el.tag >> 16] = old.get(el.tag >> 16, 0) + el.end - el.start
    return Splice(dataset, start, end, b"".join(_with_group_lengths(pieces, old)))


def _with_group_lengths(pieces: list[tuple[int, bytes]], old: dict[int, int]) -> list[bytes]:
    """The pieces, each group length element changed by what its group gained or lost (the
    group may run on past the replaced range, so the length is corrected, not recounted)."""
    out: list[bytes] = []
    for tag, data in pieces:
        if tag & 0xFFFF == 0 and len(data) >= 12:
            group = tag >> 16
            new = sum(len(d) for t, d in pieces if t >> 16 == group and t & 0xFFFF)
            length = struct.unpack_from("<I", data, len(data) - 4)[0] + new - old.get(group, 0)
            data = data[: len(data) - 4] + _u32(length)
        out.append(data)
    return out
