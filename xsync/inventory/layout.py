"""Learned layouts: where the elements of a series' files lie, checked by a regular expression
or two instead of one Python step per element.

The files of one series are written by one program from one template: the same elements in
the same order with the same lengths, but for a few whose length changes from file to file
(a UID, an image position, a window width, a vendor's private block). Once two files of one
shape have been walked element by element (`elements.walk_*`), the shape is kept as a
`Layout`, and the next files are matched against it.

Why a match gives exactly what the walk gives: a pattern requires, at every position the walk
would visit, the very bytes the walk decides on (tag, VR, reserved bytes, length), skips the
values the walk skips, and captures the wanted values where the walk would slice them. An
element whose length was seen to vary is an alternation of the lengths seen (each with its
own skip), or, past `MAX_VARIANTS` lengths, ends the pattern: Python reads its length and
matches the next segment after it. Python also handles, as the walk does, long values
(skipped by their length), undefined-length sequences (`skip_undefined`), pixel data (checked
against the file size) and the end of the data. Patterns only match within the file's size,
so a truncated file fails them and the walk reports it. Where a match fails, the walk takes
over at the first element not verified, and what it finds teaches the layout which lengths
vary.

Per process (threads may share it: a race costs a walk, never a wrong value); at most
`MAX_LAYOUTS` layouts, the most recently matched first.
"""

from __future__ import annotations

import contextlib
import re
from operator import itemgetter
from typing import NamedTuple

from xsync.inventory.elements import (
    BY_SWAPPED_TAG,
    HEADER_LENGTH,
    UNDEFINED,
    Found,
    Truncated,
    Window,
    check_end,
    check_pixel_data,
    explicit_element,
    skip_undefined,
    walk_explicit,
    walk_implicit,
)
from xsync.inventory.fields import INSTANCE_FIELDS, Header, decode, decode_instance

MAX_LAYOUTS = 16
MAX_VARIANTS = 8  # lengths an element may take within one pattern
# Longer values end a pattern and are skipped by their length, so that a pattern never needs
# more than a few KiB of the file in hand.
LONG_VALUE = 8192
_MEMO_LIMIT = 256  # decoded series-level parts per layout

# How a segment ends.
_END = 0  # the data end (no pixel data)
_PIXELS = 1
_VARIABLE = 2  # an element of any length
_LONG = 3  # a long value of fixed length
_SEQUENCE = 4  # an undefined-length sequence


class _Element(NamedTuple):
    head: bytes  # tag, and VR with its reserved bytes when explicit: the same in every file of a shape
    length_bytes: bytes  # the length as written (2 or 4 bytes) in the file it was learned from
    field: tuple[int, int] | None  # its place in WANTED, PIXEL, or None when not wanted


def _length(length_bytes: bytes) -> int:
    return int.from_bytes(length_bytes, "little")


class _Segment:
    """A run of elements matched by one pattern, then a `tail` element handled in Python."""

    __slots__ = ("first", "pattern", "max_span", "tail", "tail_index", "tail_header", "tail_wanted", "tail_length",
                 "tail_flag")  # fmt: skip

    def __init__(self, first: int, pieces: list[bytes], max_span: int) -> None:
        self.first = first  # index of its first element
        self.pattern = re.compile(b"".join(pieces), re.DOTALL)
        self.max_span = max_span  # the most bytes it can cover, tail header included
        self.tail = _END
        self.tail_index = 0  # the tail element's index
        self.tail_header = 0  # the tail element's header length
        self.tail_wanted = False  # the tail's value is wanted
        self.tail_length = 0  # a _LONG value's length
        self.tail_flag = False  # a _SEQUENCE's items have explicit VRs


class Layout:
    """One learned arrangement of a dataset's top-level elements.

    `variants` maps the index of each element whose length varies to the lengths seen (as
    written), or to () once more than MAX_VARIANTS were seen. A match leaves the raw values it
    captured in a flat list; `value_fields` says what each is: (field, bytes of length written
    before the value), or None for a length that Python reads.
    """

    __slots__ = ("explicit", "elements", "pixel", "variants", "shape", "value_fields", "segments", "_shared",
                 "_sop", "_instance", "_memo")  # fmt: skip

    def __init__(
        self, explicit: bool, elements: tuple[_Element, ...], pixel: bool, variants: dict[int, tuple[bytes, ...]]
    ) -> None:
        self.explicit = explicit
        self.elements = elements
        self.pixel = pixel  # the last element is pixel data (else the data end after the last)
        self.variants = variants
        self.shape = _shape(explicit, pixel, elements)
        self.value_fields: list[tuple[tuple[int, int], int] | None] = []
        self.segments = self._segments()
        fields = self.value_fields
        shared = [i for i, vf in enumerate(fields) if vf is not None and vf[0][0] >= INSTANCE_FIELDS]
        self._shared = itemgetter(*shared) if shared else None
        self._sop = self._last_position(0)
        self._instance = self._last_position(1)
        self._memo: dict[tuple[object, ...], tuple[str, ...]] = {}

    def _last_position(self, index: int) -> tuple[int, int, int] | None:
        """(position, length bytes before the value, decoder) of Header field `index`; the
        last one when it occurs twice, as `decode` keeps the last."""
        at = [(i, vf[1], vf[0][1]) for i, vf in enumerate(self.value_fields) if vf is not None and vf[0][0] == index]
        return at[-1] if at else None

    def _is_free(self, i: int) -> bool:
        """The element's length is read in Python: too many lengths seen, or one too long."""
        lengths = self.variants.get(i)
        return lengths is not None and (
            not lengths or any(_length(lb) == UNDEFINED or _length(lb) > LONG_VALUE for lb in lengths)
        )

    def _segments(self) -> tuple[_Segment, ...]:
        out: list[_Segment] = []
        pieces: list[bytes] = []
        span = first = 0
        last = len(self.elements) - 1
        for i, e in enumerate(self.elements):
            length = _length(e.length_bytes)
            header = len(e.head) + len(e.length_bytes)
            if i == last and self.pixel:
                kind = _PIXELS
            elif self._is_free(i):
                kind = _VARIABLE
            elif i in self.variants:  # a few lengths: an alternation
                lengths = self.variants[i]
                alternatives = b"|".join(re.escape(lb) + b".{%d}" % _length(lb) for lb in lengths)
                if e.field is None:
                    pieces.append(re.escape(e.head) + b"(?:" + alternatives + b")")
                else:
                    pieces.append(re.escape(e.head) + b"(" + alternatives + b")")
                    self.value_fields.append((e.field, len(e.length_bytes)))
                span += header + max(_length(lb) for lb in lengths)
                continue
            elif length == UNDEFINED:
                kind = _SEQUENCE
            elif length > LONG_VALUE:
                kind = _LONG
            else:
                pieces.append(re.escape(e.head + e.length_bytes))
                if e.field is not None:
                    pieces.append(b"(.{%d})" % length)
                    self.value_fields.append((e.field, 0))
                elif length:
                    pieces.append(b".{%d}" % length)
                span += header + length
                continue
            if kind in (_PIXELS, _VARIABLE):  # the length is captured
                pieces.append(re.escape(e.head) + b"(.{%d})" % len(e.length_bytes))
                self.value_fields.append(None)
            else:
                pieces.append(re.escape(e.head + e.length_bytes))
            seg = _Segment(first, pieces, span + header)
            seg.tail, seg.tail_index, seg.tail_header, seg.tail_length = kind, i, header, length
            seg.tail_wanted = e.field is not None and kind != _PIXELS
            seg.tail_flag = self.explicit and e.head[4:6] != b"UN"
            if e.field is not None and kind != _PIXELS:
                self.value_fields.append((e.field, 0))
            out.append(seg)
            pieces, span, first = [], 0, i + 1
            if kind == _PIXELS:
                return tuple(out)
        out.append(_Segment(first, pieces, span))  # tail: _END
        return tuple(out)

    def match(self, win: Window, pos: int, values: list[bytes]) -> tuple[int, int]:
        """Match the dataset starting at `pos`, adding the raw values captured to `values`.

        Returns (-1, 0) when the layout held to the end of the data; else the index and
        position of the first element it could not verify, where the walk must take over.
        Raises what the walk would raise on the elements verified (a truncated sequence,
        pixel data, or end)."""
        size = win.size
        for seg in self.segments:
            n = min(seg.max_span, size - pos)  # never past the end of the file
            rel = pos - win.base
            if rel < 0 or rel + n > len(win.buf):
                if n < 0:
                    return seg.first, pos
                try:
                    rel = win.need(pos, n)
                except Truncated:  # the file is shorter than stat said: the walk tells how
                    return seg.first, pos
            m = seg.pattern.match(win.buf, rel, rel + n)
            if m is None:
                return seg.first, pos
            groups = m.groups()
            values += groups
            end = pos + m.end() - rel
            tail = seg.tail
            if tail in (_VARIABLE, _LONG):
                length = int.from_bytes(groups[-1], "little") if tail == _VARIABLE else seg.tail_length
                if length == UNDEFINED or end + length > size:  # the walk decides what that means
                    if tail == _VARIABLE:
                        del values[-1]
                    return seg.tail_index, end - seg.tail_header
                if seg.tail_wanted:
                    rel = win.need(end, length)
                    values.append(win.buf[rel : rel + length])
                pos = end + length
            elif tail == _SEQUENCE:
                pos = skip_undefined(win, end, seg.tail_flag)
            elif tail == _PIXELS:
                check_pixel_data(end, int.from_bytes(groups[-1], "little"), size)
                return -1, 0
            elif end + 8 <= size:  # the data ended here in the files learned from; not in this one
                return len(self.elements), end
            else:
                check_end(end, size)
                return -1, 0
        raise AssertionError("a layout ends with pixel data or the end of the data")

    def found(self, values: list[bytes]) -> Found:
        """The captured values as the walk collects them."""
        return [
            (vf[0], v[vf[1] :] if vf[1] else v)
            for vf, v in zip(self.value_fields, values, strict=False)
            if vf is not None
        ]

    def header(self, values: list[bytes], ts: str) -> Header:
        """The Header of a file this layout matched, as `decode(self.found(values), ts)` gives
        it; the series-level part is decoded once per distinct raw values."""
        key = (ts, self._shared(values)) if self._shared is not None else (ts,)
        shared = self._memo.get(key)
        if shared is None:
            header = decode(self.found(values), ts)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = header[INSTANCE_FIELDS:]
            return header
        sop, instance = self._sop, self._instance
        return Header._make(
            (
                decode_instance(values[sop[0]][sop[1] :], sop[2]) if sop is not None else "",
                decode_instance(values[instance[0]][instance[1] :], instance[2]) if instance is not None else "",
                *shared,
            )
        )


def _shape(explicit: bool, pixel: bool, elements: tuple[_Element, ...]) -> tuple[object, ...]:
    return (explicit, pixel, tuple(e.head for e in elements))


def _describe(win: Window, starts: list[int], explicit: bool) -> tuple[_Element, ...]:
    """The elements a walk met, from their recorded starts."""
    out = []
    size = win.size
    for pos in starts:
        rel = win.need(pos, min(12, size - pos))
        buf = win.buf
        stag = explicit_element(buf, rel)[0] if explicit else int.from_bytes(buf[rel : rel + 4], "little")
        if not explicit:
            head, length_bytes = buf[rel : rel + 4], buf[rel + 4 : rel + 8]
        elif HEADER_LENGTH[buf[rel + 4] | buf[rel + 5] << 8] == 8:
            head, length_bytes = buf[rel : rel + 6], buf[rel + 6 : rel + 8]
        else:
            head, length_bytes = buf[rel : rel + 8], buf[rel + 8 : rel + 12]
        out.append(_Element(head, length_bytes, BY_SWAPPED_TAG.get(stag)))
    return tuple(out)


# The learned layouts, most recently matched first; and the shapes walked once, as
# (explicit, ended at pixel data, number of elements): a shape is learned when met twice, so
# that a tree of files that each look different costs no pattern building.
_LAYOUTS: list[Layout] = []
_WALKED_ONCE: dict[tuple[bool, bool, int], None] = {}


def read_header(win: Window, pos: int, explicit: bool, ts: str) -> Header:
    """The Header of the dataset at `pos`, as `elements.walk_*` and `fields.decode` would
    give it (raising what they would), through a learned layout where one fits."""
    best: Layout | None = None
    best_index, best_pos, best_values = 0, pos, []
    for layout in _LAYOUTS:
        if layout.explicit is not explicit:
            continue
        values: list[bytes] = []
        index, at = layout.match(win, pos, values)
        if index < 0:
            if _LAYOUTS[0] is not layout:
                with contextlib.suppress(ValueError):  # another thread moved it first
                    _LAYOUTS.remove(layout)
                    _LAYOUTS.insert(0, layout)
            return layout.header(values, ts)
        if index > best_index:
            best, best_index, best_pos, best_values = layout, index, at, values
    found = best.found(best_values) if best is not None else []
    starts: list[int] = []
    pixel = (walk_explicit if explicit else walk_implicit)(win, best_pos, found, starts)
    with contextlib.suppress(Exception):  # learning is an optimisation: it must never fail a file
        _learn(best, best_index, win, starts, explicit, pixel)
    return decode(found, ts)


def _learn(known: Layout | None, index: int, win: Window, starts: list[int], explicit: bool, pixel: bool) -> None:
    elements = (known.elements[:index] if known is not None else ()) + _describe(win, starts, explicit)
    shape = _shape(explicit, pixel, elements)
    same = next((lay for lay in _LAYOUTS if lay.shape == shape), None)
    if same is None:
        key = (explicit, pixel, len(elements))
        if key not in _WALKED_ONCE:
            if len(_WALKED_ONCE) >= 4 * MAX_LAYOUTS:
                _WALKED_ONCE.clear()
            _WALKED_ONCE[key] = None
            return
        _LAYOUTS.insert(0, Layout(explicit, elements, pixel, {}))
        del _LAYOUTS[MAX_LAYOUTS:]
        return
    variants = dict(same.variants)
    for i, (old, new) in enumerate(zip(same.elements, elements, strict=True)):
        seen = variants.get(i, (old.length_bytes,))
        if new.length_bytes not in seen and seen:
            variants[i] = seen + (new.length_bytes,) if len(seen) < MAX_VARIANTS else ()
    if variants != same.variants:
        _LAYOUTS[_LAYOUTS.index(same)] = Layout(explicit, same.elements, pixel, variants)


def forget() -> None:
    """Drop every learned layout (for tests)."""
    _LAYOUTS.clear()
    _WALKED_ONCE.clear()
