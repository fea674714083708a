"""Parts: what a worker found in some files of one directory, as text that travels between
processes and is stored in the cache as it is (`cache.py`).

A part holds, for every file of it, its name and cache key (`size mtime_ns inode`), which the
workers compare with what they stat. The usual file, one DICOM object read whole (plain or
gzip-ed), is stored in columns (mtime, size, SOP instance UID, instance number, the index of
its series-level values in the part's `shared` table, gzipped), so that the scanning process
turns a part into items with a few C-level passes rather than a Python step per file. Other
files (a zip archive's members, a file that is not DICOM, truncated or corrupt, a DICOMDIR)
are rows: `name, mtime_ns`, then 7 fields per object (member, kind, size, gzipped, and SOP
instance UID, instance number, index in `shared`; or for problems the message), or the
objects as JSON when a value holds a separator character.

Text is joined with ASCII separator characters; a file whose name holds one is not stored,
nor one whose name is not valid UTF-8 (SQLite text cannot hold it), nor a file that could not
be read (that may be transient). A part is never
trusted: anything in it that does not decode raises CacheCorrupt (or ValueError,
IndexError), and the scan reads everything again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from functools import partial
from itertools import compress, repeat
from operator import itemgetter
from typing import NamedTuple

from xsync.errors import Diagnostic
from xsync.inventory.fields import INSTANCE_FIELDS, Header
from xsync.inventory.items import SHARED_INDEX, Item, ItemMaker, RawItem, frames, items
from xsync.inventory.read import CORRUPT, DICOMDIR, NOT_DICOM, OK, TRUNCATED, UNREADABLE, Outcome
from xsync.model.inventory import DicomFile

_LIST_SEP = "\x1c"  # between the entries of a column (or rows, or shared parts)
_FIELD_SEP = "\x1f"  # between the fields of a row
_VALUE_SEP = "\x1d"  # between the values of a shared part
_N_SHARED = len(Header._fields) - INSTANCE_FIELDS
_PER_ENTRY = 7
_STORED_PROBLEMS = frozenset({NOT_DICOM, TRUNCATED, CORRUPT, DICOMDIR})
_DERIVED = itemgetter(*(SHARED_INDEX[n] for n in ("sop_class_uid", "series_instance_uid", "study_instance_uid")))
_FRAMES = SHARED_INDEX["number_of_frames"]
_TS = SHARED_INDEX["transfer_syntax_uid"]
_new_file = partial(tuple.__new__, DicomFile)


class Part(NamedTuple):
    """The columns of a part, in the order the cache stores them."""

    n: int  # files
    n_usual: int  # of which the first are in the columns, the others in `rows`
    names: str
    keys: str
    shared: str
    mtimes: str
    sizes: str
    sops: str
    instances: str
    positions: str  # index in `shared`
    gzipped: str  # "" when none is; else "1" or "" each
    rows: str


class CacheCorrupt(Exception):
    pass


def file_key(size: int, mtime_ns: int, inode: int) -> str:
    return f"{size} {mtime_ns} {inode}"


def _clean(value: str) -> bool:
    return _LIST_SEP not in value and _FIELD_SEP not in value and _VALUE_SEP not in value


def storable(text: str) -> bool:
    """Whether SQLite can store `text`: a name with undecodable bytes (held as surrogate
    escapes, see os.fsdecode) is not valid UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _split(text: str, n: int) -> list[str]:
    """A column of `n` entries."""
    out = text.split(_LIST_SEP) if n else []
    if len(out) != n:
        raise CacheCorrupt("a column of the wrong length")
    return out


def keys(n: int, names: str, file_keys: str) -> dict[str, str]:
    """File name -> cache key, from a part's `n`, `names` and `keys`."""
    return dict(zip(_split(names, n), _split(file_keys, n), strict=True))


class PartWriter:
    """Builds a part from the outcomes of the files read, one by one."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._positions: dict[int, tuple[tuple[str, ...], str | None]] = {}  # by id (the object is kept)
        self._by_value: dict[tuple[str, ...], str] = {}
        # The usual files: name, size, mtime_ns, inode, object size, SOP UID, instance, position, gzipped.
        self._usual: list[tuple[str, int, int, int, int, str, str, str, bool]] = []
        self._other_names: list[str] = []
        self._other_keys: list[str] = []
        self._rows: list[str] = []

    def _position(self, shared: tuple[str, ...]) -> str | None:
        """Its index in the table (added when new); None when a value holds a separator."""
        known = self._positions.get(id(shared))
        if known is not None and known[0] is shared:
            return known[1]
        position = self._by_value.get(shared)
        if position is None and all(_clean(v) for v in shared):
            position = self._by_value[shared] = str(len(self._texts))
            self._texts.append(_VALUE_SEP.join(shared))
        self._positions[id(shared)] = (shared, position)
        return position

    def add(self, name: str, size: int, mtime_ns: int, inode: int, found_outcomes: Sequence[Outcome]) -> bool:
        """Store a file just read; False when it cannot be stored (see the module's doc)."""
        if found_outcomes[0][1] == UNREADABLE or not _clean(name) or not storable(name):
            return False
        if len(found_outcomes) == 1:
            member, kind, obj_size, gzipped, sop, instance, shared, _ = found_outcomes[0]
            # In a column, only the separator between entries matters.
            if member is None and shared is not None and _LIST_SEP not in sop and _LIST_SEP not in instance:
                position = self._position(shared)
                if position is not None:
                    self._usual.append((name, size, mtime_ns, inode, obj_size, sop, instance, position, gzipped))
                    return True
        self._other_names.append(name)
        self._other_keys.append(file_key(size, mtime_ns, inode))
        self._rows.append(self._row(name, mtime_ns, found_outcomes))
        return True

    def _row(self, name: str, mtime_ns: int, found_outcomes: Sequence[Outcome]) -> str:
        fields = [name, str(mtime_ns)]
        for member, kind, size, gzipped, sop, instance, shared, message in found_outcomes:
            head = [member or "", kind, str(size), "1" if gzipped else ""]
            position = self._position(shared) if shared is not None else ""
            if position is None:
                break
            fields += [*head, message, "", ""] if shared is None else [*head, sop, instance, position]
        else:
            text = _FIELD_SEP.join(fields)
            if text.count(_FIELD_SEP) == len(fields) - 1 and _LIST_SEP not in text and _VALUE_SEP not in text:
                return text
        return _FIELD_SEP.join([name, str(mtime_ns), "J" + json.dumps(list(found_outcomes))])

    def part(self) -> Part | None:
        n_usual = len(self._usual)
        n = n_usual + len(self._rows)
        if not n:
            return None
        join = _LIST_SEP.join
        names, sizes, mtimes, inodes, obj_sizes, sops, instances, positions, gzipped = (
            zip(*self._usual, strict=True) if n_usual else ((),) * 9
        )
        file_keys = map("%d %d %d".__mod__, zip(sizes, mtimes, inodes, strict=True))  # file_key
        return Part(
            n,
            n_usual,
            join([*names, *self._other_names]),
            join([*file_keys, *self._other_keys]),
            join(self._texts),
            join(map(str, mtimes)),
            join(map(str, obj_sizes)),
            join(sops),
            join(instances),
            join(positions),
            join(map(("", "1").__getitem__, gzipped)) if any(gzipped) else "",
            join(self._rows),
        )


def decode(
    part: Part, prefix: str, root: int, out: list[Item], problems: list[Diagnostic], keep: Collection[str] | None = None
) -> None:
    """The items and diagnostics of a part's files (of those in `keep`, when given), as the
    outcomes they were made from give them. Raises CacheCorrupt (or ValueError, IndexError)
    for what this version did not write."""
    table = [tuple(text.split(_VALUE_SEP)) for text in part.shared.split(_LIST_SEP)] if part.shared else []
    if any(len(values) != _N_SHARED for values in table):
        raise CacheCorrupt("a header with the wrong number of values")
    n = part.n_usual
    names = _split(part.names, part.n)
    if not 0 <= n <= part.n:
        raise CacheCorrupt("more files in columns than in the part")
    if n:
        columns = [_split(c, n) for c in (part.mtimes, part.sizes, part.sops, part.instances, part.positions)]
        columns.append(_split(part.gzipped, n) if part.gzipped else [""] * n)
        columns.insert(0, names[:n])
        if keep is not None:
            kept = [name in keep for name in columns[0]]
            columns = [list(compress(c, kept)) for c in columns]
        usual, mtimes, sizes, sops, instances, positions, gzipped = columns
        indexes = list(map(int, positions))
        if indexes and min(indexes) < 0:
            raise CacheCorrupt("a negative header index")
        shared = list(map(table.__getitem__, indexes))  # IndexError past the end
        derived = [(*_DERIVED(values), frames(values[_FRAMES]), values[_TS]) for values in table]
        per_file = list(map(derived.__getitem__, indexes))
        sop_classes, series, studies, n_frames, ts = (map(itemgetter(k), per_file) for k in range(5))
        files = map(_new_file, zip(
            map(prefix.__add__, usual), repeat(None), map(int, sizes), map(int, mtimes), sops, sop_classes, series,
            studies, instances, n_frames, ts, map("1".__eq__, gzipped), strict=False,
        ))  # fmt: skip
        out.extend(zip(files, shared, repeat(root)))
    if part.rows:
        rows = part.rows.split(_LIST_SEP)
        if len(rows) != part.n - n:
            raise CacheCorrupt("rows for files not named")
        maker = ItemMaker()
        raw: list[RawItem] = []
        for line in rows:
            fields = line.split(_FIELD_SEP)
            if keep is None or fields[0] in keep:
                maker.add(prefix + fields[0], root, int(fields[1]), _outcomes(fields, table), raw, problems)
        out.extend(items(raw))


def _outcomes(fields: list[str], table: list[tuple[str, ...]]) -> list[Outcome]:
    if len(fields) == 3 and fields[2][:1] == "J":
        return [
            (m, k, int(s), bool(g), str(sop), str(inst), tuple(map(str, sh)) if sh is not None else None, str(msg))
            for m, k, s, g, sop, inst, sh, msg in json.loads(fields[2][1:])
        ]
    if (len(fields) - 2) % _PER_ENTRY or len(fields) == 2:
        raise CacheCorrupt("a record this version did not write")
    out: list[Outcome] = []
    for i in range(2, len(fields), _PER_ENTRY):
        member, kind, size, gzipped, a, b, c = fields[i : i + _PER_ENTRY]
        if kind == OK:
            if int(c) < 0:
                raise CacheCorrupt("a negative header index")
            out.append((member or None, kind, int(size), gzipped == "1", a, b, table[int(c)], ""))
        elif kind in _STORED_PROBLEMS:
            out.append((member or None, kind, int(size), gzipped == "1", "", "", None, a))
        else:
            raise CacheCorrupt(f"an unknown outcome {kind!r}")
    return out


def restrict(part: Part, keep: Collection[str]) -> Part | None:
    """The part with only the files in `keep` (its `shared` table as it is)."""
    n = part.n_usual
    names = _split(part.names, part.n)
    file_keys = _split(part.keys, part.n)
    kept = [name in keep for name in names]
    if not any(kept):
        return None
    columns = [_split(c, n) for c in (part.mtimes, part.sizes, part.sops, part.instances, part.positions)]
    columns.append(_split(part.gzipped, n) if part.gzipped else [""] * n)
    columns = [list(compress(c, kept[:n])) for c in columns]
    rows = list(compress(part.rows.split(_LIST_SEP), kept[n:])) if part.rows else []
    join: Callable[[list[str]], str] = _LIST_SEP.join
    mtimes, sizes, sops, instances, positions, gzipped = map(join, columns)
    return Part(
        sum(kept),
        sum(kept[:n]),
        join(list(compress(names, kept))),
        join(list(compress(file_keys, kept))),
        part.shared,
        mtimes,
        sizes,
        sops,
        instances,
        positions,
        gzipped if part.gzipped else "",
        join(rows),
    )
