"""The fast DICOM header parser: explicit/implicit VR little-endian datasets read up to pixel
data, keeping the raw values of the elements in `fields.WANTED` and handing them to
`fields.decode`. This module reads the preamble and the file meta group; the dataset is read
through a learned layout (`layout`) where one fits, else element by element (`elements`).

Everything it cannot read exactly as pydicom would (big endian, deflate, a VR that is not a
VR, a preamble-less file it cannot place) raises `NeedsFallback`, and the caller hands the
file to pydicom. No pydicom at module level: worker processes that meet only plain files
never pay for importing it.
"""

from __future__ import annotations

from xsync.inventory import layout
from xsync.inventory.elements import (
    CHUNK,
    HEADER_LENGTH,
    LONG_VRS,
    SHORT_VRS,
    UNDEFINED,
    DicomDir,
    NeedsFallback,
    NotDicom,
    ReadAt,
    Truncated,
    Window,
    explicit_element,
    u32,
)
from xsync.inventory.fields import Header
from xsync.inventory.layout import read_header

__all__ = [
    "CHUNK", "DEFLATED_EXPLICIT_VR_LE", "EXPLICIT_VR_BE", "EXPLICIT_VR_LE", "IMPLICIT_VR_LE", "MEDIA_STORAGE_DIRECTORY",
    "DicomDir", "NeedsFallback", "NotDicom", "ReadAt", "Truncated", "classify", "parse",
]  # fmt: skip

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR


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


def _read_meta(win: Window, pos: int) -> tuple[int, str, str]:
    """Parse the file meta group (always explicit VR little endian) at `pos`.

    Returns (position after the group, transfer syntax UID, media storage SOP class UID).
    """
    buf = win.buf
    # The usual case: the whole group in the first read, its length announced by (0002,0000).
    if win.base == 0 and buf[pos : pos + 8] == b"\x02\x00\x00\x00UL\x04\x00" and pos + 12 <= len(buf):
        end = pos + 12 + u32(buf, pos + 8)[0]
        if end + 2 <= len(buf) and buf[end : end + 2] != b"\x02\x00":
            known = _known_meta(buf, pos + 12, end)
            if known is not None:
                return end, *known
            found = _meta_values(buf, pos + 12, end)
            if found is not None:
                _remember_meta(buf, pos + 12, end, found)
                return end, found[0], found[1]
    return _read_meta_by_element(win, pos)


# Meta groups met lately, most recent first, as (the bytes before the length of the media
# storage SOP instance UID, the bytes after its value, transfer syntax, media storage SOP class):
# the files of a series have the same meta group but for that UID. A group that starts and
# ends with those bytes, and holds just that UID between them, is read exactly as the one
# remembered (the same elements, each byte the walk decides on the same).
_METAS: list[tuple[bytes, bytes, str, str]] = []
_MAX_METAS = 8


def forget() -> None:
    """Drop every meta group and dataset layout learned (for tests)."""
    _METAS.clear()
    layout.forget()


def _known_meta(buf: bytes, start: int, end: int) -> tuple[str, str] | None:
    for head, tail, ts, media_class in _METAS:
        at = start + len(head)  # the UID's length
        if at + 2 <= end and buf.startswith(head, start):
            value_end = at + 2 + (buf[at] | buf[at + 1] << 8)
            if value_end + len(tail) == end and buf.startswith(tail, value_end):
                return ts, media_class
    return None


def _remember_meta(buf: bytes, start: int, end: int, found: tuple[str, str, int]) -> None:
    ts, media_class, instance_at = found
    if instance_at < 0:
        return
    value_end = instance_at + 8 + (buf[instance_at + 6] | buf[instance_at + 7] << 8)
    _METAS.insert(0, (buf[start : instance_at + 6], buf[value_end:end], ts, media_class))
    del _METAS[_MAX_METAS:]


def _meta_values(buf: bytes, pos: int, end: int) -> tuple[str, str, int] | None:
    """(transfer syntax, media storage SOP class, where the media storage SOP instance UID
    element starts or -1) of the meta elements in buf[pos:end]; None when they do not exactly
    fill it."""
    ts = media_class = ""
    instance_at = -1
    while pos + 8 <= end:
        stag, vr, length = explicit_element(buf, pos)
        hl = HEADER_LENGTH[vr]
        if hl == 12:
            length = u32(buf, pos + 8)[0]
        elif hl == 0:
            return None
        elif stag == 0x00030002 and instance_at < 0:  # (0002,0003), swapped; a short VR
            instance_at = pos
        pos += hl
        if stag == 0x00100002:  # (0002,0010)
            ts = buf[pos : pos + length].decode("latin-1").rstrip("\0 ")
        elif stag == 0x00020002:
            media_class = buf[pos : pos + length].decode("latin-1").rstrip("\0 ")
        pos += length
    return (ts, media_class, instance_at) if pos == end else None


def _read_meta_by_element(win: Window, pos: int) -> tuple[int, str, str]:
    ts = media_class = ""
    size = win.size
    while pos + 8 <= size:
        rel = win.need(pos, min(12, size - pos))
        buf = win.buf
        stag, vr, length = explicit_element(buf, rel)
        if stag & 0xFFFF != 0x0002:
            break
        hl = HEADER_LENGTH[vr]
        if hl == 12:
            if rel + 12 > len(buf):
                raise Truncated(f"the file ends inside the element header at byte {pos}")
            length = u32(buf, rel + 8)[0]
        elif hl == 0:
            raise NeedsFallback(f"file meta element with no VR: {vr:04X}")
        pos += hl
        if length == UNDEFINED:
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
    win = Window(buf, size, read_at)
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


def _explicit_at(win: Window, pos: int) -> bool:
    if pos + 8 > win.size:
        return True
    rel = win.need(pos, 6)
    vr = win.buf[rel + 4 : rel + 6]
    return vr in SHORT_VRS or vr in LONG_VRS


def _read_dataset(win: Window, pos: int, explicit: bool, ts: str) -> Header:
    return read_header(win, pos, explicit, ts)
