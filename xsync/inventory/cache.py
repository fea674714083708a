"""The header cache: what each file held, keyed by (path, size, mtime_ns, inode), in SQLite.

A re-scan stats every file and reads only those whose key changed. The cache is never
trusted: a file that is not a database, another format, or a record that does not decode
throws the whole cache away, and the scan reads everything again. Writes happen in one
transaction, so an interrupted run leaves the previous cache intact.

Layout, chosen so that a re-scan costs little more than stat-ing the files: one row per
directory. `shared` lists the distinct series-level header parts (`Header[INSTANCE_FIELDS:]`)
of its files; `records` holds one record per file, `name, key` and then 7 fields per DICOM
object (member, kind, size, gzipped, and SOP instance UID, instance number and the index of
its series-level part, or for other outcomes the message). Text is joined with the ASCII
separator characters, so loading is one `split` per file. A record whose values hold a
separator character stores its objects as JSON instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from xsync.inventory.fields import INSTANCE_FIELDS, Header
from xsync.inventory.items import Item, ItemMaker, Shared, collect
from xsync.inventory.read import CORRUPT, DICOMDIR, NOT_DICOM, OK, TRUNCATED, UNREADABLE, Outcome
from xsync.inventory.walk import FoundFile

# Changes whenever what a row means changes; a cache of another format is rebuilt.
FORMAT = "xsync-inventory-cache/3 " + hashlib.sha256(",".join(Header._fields).encode()).hexdigest()[:16]

_LIST_SEP = "\x1c"  # between the records (or the shared parts) of a directory
_FIELD_SEP = "\x1f"  # between the fields of a record
_VALUE_SEP = "\x1d"  # between the values of a shared part
_SEPARATORS = (_LIST_SEP, _FIELD_SEP, _VALUE_SEP)
_N_SHARED = len(Header._fields) - INSTANCE_FIELDS
_PER_ENTRY = 7
_STORED_PROBLEMS = frozenset({NOT_DICOM, TRUNCATED, CORRUPT, DICOMDIR})  # UNREADABLE is never stored

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, shared TEXT NOT NULL, records TEXT NOT NULL) WITHOUT ROWID;
"""


class CacheCorrupt(Exception):
    pass


def _key(f: FoundFile) -> str:
    return f"{f.size} {f.mtime_ns} {f.inode}"


def _clean(value: str) -> bool:
    return not any(sep in value for sep in _SEPARATORS)


class _Directory:
    """One directory's row: its shared parts (decoded lazily, in order) and its records."""

    __slots__ = ("texts", "decoded", "index", "by_id", "count")

    def __init__(self, shared_text: str) -> None:
        self.texts: list[str] = shared_text.split(_LIST_SEP) if shared_text else []
        self.decoded: list[Shared | None] = [None] * len(self.texts)
        self.index: dict[Shared, int] | None = None  # part -> position, built when encoding
        self.by_id: dict[int, tuple[Shared, str]] = {}  # the same, by identity (the object is kept)
        self.count = 0  # records loaded

    def shared(self, position: str) -> Shared:
        i = int(position)
        part = self.decoded[i]
        if part is None:
            if i < 0:
                raise CacheCorrupt("a negative header index")
            part = tuple(self.texts[i].split(_VALUE_SEP))
            if len(part) != _N_SHARED:
                raise CacheCorrupt("a header with the wrong number of values")
            self.decoded[i] = part
        return part

    def position(self, shared: Shared) -> str | None:
        """The index of `shared` in this directory's table (added when new); None when a value
        holds a separator."""
        known = self.by_id.get(id(shared))
        if known is not None and known[0] is shared:
            return known[1]
        if self.index is None:
            self.index = {}
            for i in range(len(self.texts)):
                self.index.setdefault(self.shared(str(i)), i)
        if shared not in self.index:
            if not all(_clean(v) for v in shared):
                return None
            self.index[shared] = len(self.texts)
            self.texts.append(_VALUE_SEP.join(shared))
            self.decoded.append(shared)
        position = str(self.index[shared])
        self.by_id[id(shared)] = (shared, position)
        return position


def _decode(
    found: FoundFile, fields: list[str], directory: _Directory, maker: ItemMaker, items: list[Item]
) -> list[Outcome]:
    """Add the DICOM objects of a record to `items`; return its other outcomes."""
    if len(fields) == 3 and fields[2][:1] == "J":
        stored: list[Outcome] = [
            (m, k, int(s), bool(g), str(sop), str(inst), tuple(map(str, sh)) if sh is not None else None, str(msg))
            for m, k, s, g, sop, inst, sh, msg in json.loads(fields[2][1:])
        ]
        items.extend(collect([(found, [o for o in stored if o[6] is not None])], maker)[0])
        return [o for o in stored if o[6] is None]
    if (len(fields) - 2) % _PER_ENTRY or len(fields) == 2:
        raise CacheCorrupt("a record this version did not write")
    others: list[Outcome] = []
    for i in range(2, len(fields), _PER_ENTRY):
        member, kind, size, gzipped, a, b, c = fields[i : i + _PER_ENTRY]
        if kind == OK:
            items.append(maker.make(found, member or None, int(size), gzipped == "1", a, b, directory.shared(c)))
        elif kind in _STORED_PROBLEMS:
            others.append((member or None, kind, int(size), gzipped == "1", "", "", None, a))
        else:
            raise CacheCorrupt(f"an unknown outcome {kind!r}")
    return others


def _encode(name: str, f: FoundFile, found_outcomes: Sequence[Outcome], directory: _Directory) -> list[str]:
    fields = [name, _key(f)]
    for member, kind, size, gzipped, sop, instance, shared, message in found_outcomes:
        head = [member or "", kind, str(size), "1" if gzipped else ""]
        if shared is None:
            fields += [*head, message, "", ""]
            continue
        position = directory.position(shared)
        if position is None:
            return _as_json(fields, found_outcomes)
        fields += [*head, sop, instance, position]
    text = _FIELD_SEP.join(fields)
    if text.count(_FIELD_SEP) != len(fields) - 1 or _LIST_SEP in text or _VALUE_SEP in text:
        return _as_json(fields, found_outcomes)
    return fields


def _as_json(fields: list[str], found_outcomes: Sequence[Outcome]) -> list[str]:
    """The record with its objects as JSON, for values holding a separator character."""
    return [fields[0], fields[1], "J" + json.dumps(list(found_outcomes))]


class InventoryCache:
    """The SQLite cache at `path` (created with its directory when missing). `notify` hears
    about a cache that had to be rebuilt or could not be used; the scan goes on regardless."""

    def __init__(self, path: Path, notify: Callable[[str], None]) -> None:
        self.path = path
        self._notify = notify
        self._conn: sqlite3.Connection | None = None
        # From the last lookup: the loaded directories, and each loaded record by file path.
        self._dirs: dict[str, _Directory] = {}
        self._records: dict[str, list[str]] = {}
        self._unchanged = False  # the last lookup matched every loaded record and missed nothing
        # What was read since, by path: its encoded record (None when unreadable: not stored).
        self._fresh: dict[str, list[str] | None] = {}
        self._new_dirs: dict[str, _Directory] = {}
        try:
            self._conn = self._open()
        except (sqlite3.Error, CacheCorrupt) as e:
            notify(f"the inventory cache {path} is unusable ({e}); rebuilding it")
            self._conn = self._rebuild()
        except OSError as e:
            notify(f"cannot open the inventory cache {path} ({e.strerror}); scanning without it")

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("DELETE FROM dirs")
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            return conn
        except BaseException:
            conn.close()
            raise

    def _rebuild(self) -> sqlite3.Connection | None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")
        try:
            return self._open()
        except (sqlite3.Error, OSError) as e:
            self._notify(f"cannot create the inventory cache {self.path} ({e}); scanning without it")
            return None

    def lookup(
        self, roots: Sequence[str], files: Sequence[FoundFile], maker: ItemMaker
    ) -> tuple[list[Item], list[tuple[FoundFile, list[Outcome]]], list[FoundFile]]:
        """What the cache knows of the unchanged files among `files`: the items of their DICOM
        objects and their other outcomes; and the files it does not know (to be read)."""
        if self._conn is None:
            return [], [], list(files)
        try:
            dirs: dict[str, _Directory] = {}
            records: dict[str, list[str]] = {}
            where: dict[str, _Directory] = {}
            for path, shared_text, text in self._rows(roots):
                directory = dirs[path] = _Directory(shared_text)
                prefix = path.rstrip(os.sep) + os.sep
                listing = text.split(_LIST_SEP) if text else []
                directory.count = len(listing)
                for line in listing:
                    fields = line.split(_FIELD_SEP)
                    records[prefix + fields[0]] = fields
                    where[prefix + fields[0]] = directory
            items: list[Item] = []
            others: list[tuple[FoundFile, list[Outcome]]] = []
            misses: list[FoundFile] = []
            make = maker.make
            for f in files:
                record = records.get(f.path)
                if record is None or record[1] != f"{f.size} {f.mtime_ns} {f.inode}":
                    misses.append(f)
                elif len(record) == 9 and record[3] == OK:  # the usual record: one DICOM object
                    shared = where[f.path].shared(record[8])
                    items.append(
                        make(f, record[2] or None, int(record[4]), record[5] == "1", record[6], record[7], shared)
                    )
                else:
                    other = _decode(f, record, where[f.path], maker, items)
                    if other:
                        others.append((f, other))
        except (sqlite3.Error, CacheCorrupt, ValueError, IndexError) as e:
            self._notify(f"the inventory cache {self.path} is corrupt ({e}); rebuilding it")
            self.close()
            self._conn = self._rebuild()
            self._dirs, self._records, self._unchanged = {}, {}, False
            return [], [], list(files)
        self._dirs, self._records = dirs, records
        self._unchanged = not misses and len(records) == len(files)
        return items, others, misses

    def _rows(self, roots: Sequence[str]) -> Iterable[tuple[str, str, str]]:
        assert self._conn is not None
        for root in roots:
            if not os.path.isdir(root):  # a root that is one file lives in its directory's row
                yield from self._conn.execute("SELECT * FROM dirs WHERE path = ?", (os.path.dirname(root),))
                continue
            prefix = root.rstrip(os.sep) + os.sep
            yield from self._conn.execute(
                "SELECT * FROM dirs WHERE path = ? OR (path >= ? AND path < ?)",
                (root, prefix, prefix[:-1] + chr(ord(os.sep) + 1)),
            )

    def remember(self, f: FoundFile, found_outcomes: Sequence[Outcome]) -> None:
        """Note what was read from `f`, encoded now (while other files are still being read)."""
        if self._conn is None:
            return
        if found_outcomes[0][1] == UNREADABLE:  # its one outcome; it may be transient: not stored
            self._fresh[f.path] = None
            return
        directory, _, name = f.path.rpartition(os.sep)
        directory = directory or os.sep
        table = self._dirs.get(directory) or self._new_dirs.setdefault(directory, _Directory(""))
        self._fresh[f.path] = _encode(name, f, found_outcomes, table)

    def save(self, found: Sequence[FoundFile]) -> None:
        """Store what was remembered and forget what is gone, rewriting only the directories
        that changed. `found` is every file of the scan. One transaction."""
        if self._conn is None or (self._unchanged and not self._fresh):
            return
        fresh = self._fresh
        by_dir: dict[str, list[tuple[str, FoundFile]]] = defaultdict(list)
        for f in found:
            directory, _, name = f.path.rpartition(os.sep)
            by_dir[directory or os.sep].append((name, f))
        rows = []
        for path in by_dir.keys() | self._dirs.keys():
            files = by_dir.get(path, [])
            old = self._dirs.get(path)
            # Files not read were cache hits, one per record: equal counts mean nothing vanished.
            if old is not None and old.count == len(files) and not any(f.path in fresh for _, f in files):
                continue
            table = old or self._new_dirs.get(path) or _Directory("")
            records = []
            for _, f in files:
                record = fresh[f.path] if f.path in fresh else self._records.get(f.path)
                # Gone from `fresh` and the loaded records, or unreadable now: not stored.
                if record is not None and record[1] == _key(f):
                    records.append(_FIELD_SEP.join(record))
            rows.append((path, _LIST_SEP.join(table.texts), _LIST_SEP.join(records)))
        if not rows:
            return
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM dirs WHERE path = ?", ((p,) for p, _, text in rows if not text))
                self._conn.executemany("INSERT OR REPLACE INTO dirs VALUES (?, ?, ?)", (r for r in rows if r[2]))
        except sqlite3.Error as e:
            self._notify(f"the inventory cache {self.path} was not updated ({e})")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
