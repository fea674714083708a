"""The header cache: what each file held, keyed by (path, size, mtime_ns, inode), in SQLite.

A re-scan stats every file and reads only those whose key changed. The cache is never
trusted: a file that is not a database, another format, or a record that does not decode
throws the whole cache away, and the scan reads everything again. Writes happen in one
transaction, so an interrupted run leaves the previous cache intact.

The cache never overwrites what it did not write: it is created only where nothing exists,
and an existing file is used (or, when unusable, deleted and rebuilt) only when it is empty or
an SQLite database bearing xsync's application id. Anything else (a spec, notes, another
program's database, a folder) is refused with CacheRefused.

Names that are not valid UTF-8 (undecodable bytes, held as surrogate escapes) cannot go into
SQLite's text: a directory so named is not stored (its files are read on every run), and
neither is such a file (`parts`).

One row per part (`parts.Part`): a directory's files are stored in one or more parts, each as
a worker wrote it, so that storing and loading never handle a file one by one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xsync.errors import UsageError
from xsync.inventory.fields import Header
from xsync.inventory.parts import Part, keys, storable
from xsync.inventory.read import file_kind

# Changes whenever what a row means changes; a cache of another format is rebuilt.
FORMAT = "xsync-inventory-cache/6 " + hashlib.sha256(",".join(Header._fields).encode()).hexdigest()[:16]

# Written into the database header (`PRAGMA application_id`, bytes 68-71), so that a file can
# be recognised as an xsync cache from its first 100 bytes, even when the rest is damaged.
APPLICATION_ID = 0x78734943  # "xsIC"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_FORMAT_PREFIX = "xsync-inventory-cache/"

_COLUMNS = ", ".join(Part._fields)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS parts (dir TEXT NOT NULL, part INTEGER NOT NULL, "
    + ", ".join(f"{c} {'INTEGER' if c in ('n', 'n_usual') else 'TEXT'} NOT NULL" for c in Part._fields)
    + ", PRIMARY KEY (dir, part)) WITHOUT ROWID",
)


class CacheRefused(UsageError):
    """The cache path holds something the cache did not write: it is left alone."""


def _claim(path: Path) -> None:
    """Raise CacheRefused unless `path` is free, empty, or an xsync cache (usable or not)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError:
        return  # cannot look: opening fails next, and the scan goes on without a cache
    what = ""
    if not stat.S_ISREG(st.st_mode):
        what = file_kind(st.st_mode)
    elif st.st_size:
        with open(path, "rb") as fh:
            head = fh.read(100)
        ours = head[:16] == _SQLITE_MAGIC and (
            int.from_bytes(head[68:72], "big") == APPLICATION_ID or _written_by_earlier_xsync(path)
        )
        what = "" if ours else "not an xsync inventory cache"
    if what:
        raise CacheRefused(
            f"the inventory cache path {path} is {what}; refusing to overwrite it "
            "(choose another --cache or dicom.cache, or move it away)"
        )


def _written_by_earlier_xsync(path: Path) -> bool:
    """An SQLite cache from before the application id: its meta table names the format."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None and str(row[0]).startswith(_FORMAT_PREFIX)


class StoredKeys:
    """Read-only access to the stored keys, for the workers (each opens its own connection,
    as an SQLite connection must not cross a fork). Use as a context manager."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def __enter__(self) -> StoredKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def of(self, directory: str) -> dict[str, str]:
        """File name -> key for `directory`. Raises sqlite3.Error, and CacheCorrupt or
        ValueError for what this version did not write."""
        out: dict[str, str] = {}
        for n, names, file_keys in self._conn.execute("SELECT n, names, keys FROM parts WHERE dir = ?", (directory,)):
            out.update(keys(n, names, file_keys))
        return out


class InventoryCache:
    """The SQLite cache at `path` (created with its directory when missing). `notify` hears
    about a cache that had to be rebuilt or could not be used; the scan goes on regardless.
    Raises CacheRefused when `path` holds something else (see the module's doc)."""

    def __init__(self, path: Path, notify: Callable[[str], None]) -> None:
        self.path = path
        self._notify = notify
        self._conn: sqlite3.Connection | None = None
        _claim(path)
        try:
            self._conn = self._open()
        except sqlite3.Error as e:
            notify(f"the inventory cache {path} is unusable ({e}); rebuilding it")
            self._conn = self._rebuild()
        except OSError as e:
            notify(f"cannot open the inventory cache {path} ({e.strerror}); scanning without it")

    def _open(self) -> sqlite3.Connection:
        self._prepare_folder()
        # The cache holds header values, patient identifiers among them: readable by its owner
        # only, whatever the umask, and never committed (the folder ignores itself for git).
        if not os.path.lexists(self.path):  # created only where nothing is (O_EXCL: not even now)
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.chmod(self.path, 0o600)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            for statement in _SCHEMA:
                conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("DROP TABLE IF EXISTS dirs")  # an earlier format's
                    conn.execute("DROP TABLE parts")
                    conn.execute(_SCHEMA[1])
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            return conn
        except BaseException:
            conn.close()
            raise

    def _prepare_folder(self) -> None:
        folder = self.path.parent
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if created:
            (folder / ".gitignore").write_text("# written by xsync: the inventory cache holds patient identifiers\n*\n")

    def _rebuild(self) -> sqlite3.Connection | None:
        _claim(self.path)  # still ours: only then deleted
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")
        try:
            return self._open()
        except (sqlite3.Error, OSError) as e:
            self._notify(f"cannot create the inventory cache {self.path} ({e}); scanning without it")
            return None

    def directories(self, roots: Sequence[str]) -> dict[str, int]:
        """The directories under `roots` that have stored parts, and how many files each."""
        out: dict[str, int] = {}
        for directory, n in self._select("dir, n", roots, ""):
            out[directory] = out.get(directory, 0) + n
        return out

    def parts(self, roots: Sequence[str]) -> dict[str, list[Part]]:
        """The stored parts of every directory under `roots`, in order."""
        out: dict[str, dict[int, Part]] = {}
        for directory, part, *rest in self._select(f"dir, part, {_COLUMNS}", roots, " ORDER BY dir, part"):
            out.setdefault(directory, {})[part] = Part(*rest)  # roots may overlap: once each
        return {directory: list(parts.values()) for directory, parts in out.items()}

    def _select(self, columns: str, roots: Sequence[str], order: str) -> list[Any]:
        if self._conn is None:
            return []
        query = f"SELECT {columns} FROM parts WHERE "
        rows: list[Any] = []
        try:
            for root in roots:
                if not storable(root):  # nothing under it was stored
                    continue
                if not os.path.isdir(root):  # a root that is one file lives in its directory's parts
                    rows += self._conn.execute(query + "dir = ?" + order, (os.path.dirname(root),))
                    continue
                prefix = root.rstrip(os.sep) + os.sep
                end = prefix[:-1] + chr(ord(os.sep) + 1)
                rows += self._conn.execute(query + "(dir = ? OR (dir >= ? AND dir < ?))" + order, (root, prefix, end))
        except sqlite3.Error as e:
            self.corrupt(str(e))
            return []
        return rows

    def corrupt(self, reason: str) -> None:
        """Throw the cache away: something in it does not decode."""
        self._notify(f"the inventory cache {self.path} is corrupt ({reason}); rebuilding it")
        self.close()
        self._conn = self._rebuild()

    def save(self, written: Mapping[str, Sequence[Part]], gone: Iterable[str]) -> None:
        """Replace the parts of the directories in `written` and forget those `gone`. One
        transaction."""
        gone = [d for d in gone if storable(d)]
        written = {d: parts for d, parts in written.items() if storable(d)}
        if self._conn is None or not (written or gone):
            return
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM parts WHERE dir = ?", ((d,) for d in [*written, *gone]))
                self._conn.executemany(
                    f"INSERT INTO parts VALUES ({', '.join('?' * (2 + len(Part._fields)))})",
                    ((d, i, *p) for d, parts in written.items() for i, p in enumerate(parts)),
                )
        except sqlite3.Error as e:
            self._notify(f"the inventory cache {self.path} was not updated ({e})")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
