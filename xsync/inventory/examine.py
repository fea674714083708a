"""What the worker processes do, a batch of directory slices at a time:

1. `verify` (directories the cache holds): stat each file and compare it with its stored
   key, and name the files that changed; meanwhile the scanning process decodes the stored
   parts, so that only small answers travel back;
2. `read` (those files, and directories the cache does not hold): stat each file, read it
   (`read.read_file`), and hand back a part (`parts`), which the scanning process decodes
   into items and stores in the cache as it is.

Both also run in the scanning process itself when there are too few files for a pool.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from typing import NamedTuple

from xsync.errors import Diagnostic, Severity
from xsync.inventory.cache import StoredKeys
from xsync.inventory.items import ItemMaker, RawItem
from xsync.inventory.parts import CacheCorrupt, Part, PartWriter
from xsync.inventory.read import file_kind, outcomes, read_file

Linked = tuple[str, int, int]  # a file that may have other names: name, device, inode


class Slice(NamedTuple):
    """Some of the files of one directory."""

    directory: int  # its index in the listing
    path: str
    root: int
    names: list[str]
    links: frozenset[str]  # those that are symbolic links


class Verified(NamedTuple):
    directory: int
    changed: list[str]  # files to read: new, or changed since the cache was written
    failed: list[str]  # files that could not be stat-ed
    problems: list[Diagnostic]  # about those
    unchanged: int  # files whose key is as stored
    linked: list[Linked]
    corrupt: str  # why the stored keys could not be used ("" when they could)


class Read(NamedTuple):
    directory: int
    part: Part | None  # what the files read hold, for the scan and the cache
    items: list[RawItem]  # of files that cannot be stored (see `parts`)
    problems: list[Diagnostic]  # of those, and of files that could not be stat-ed
    linked: list[Linked]
    n_read: int


def _prefix(path: str) -> str:
    return path.rstrip(os.sep) + os.sep


def _stat(
    path: str, name: str, links: frozenset[str], problems: list[Diagnostic], linked: list[Linked]
) -> os.stat_result | None:
    try:
        st = os.stat(path)
    except OSError as e:
        problems.append(Diagnostic(file=path, message=f"cannot stat: {e.strerror}", severity=Severity.ERROR))
        return None
    if not stat.S_ISREG(st.st_mode):  # replaced since it was listed: a FIFO is never opened
        message = f"{file_kind(st.st_mode)}, not a file: not read"
        problems.append(Diagnostic(file=path, message=message, severity=Severity.WARNING))
        return None
    if (st.st_nlink > 1 or name in links) and st.st_ino:
        linked.append((name, st.st_dev, st.st_ino))
    return st


def verify(batch: tuple[str, list[Slice]]) -> list[Verified]:
    """The slices of a batch against the keys of the cache at the path it names."""
    cache, slices = batch
    out = []
    try:
        with StoredKeys(cache) as stored:
            for s in slices:
                out.append(_verify(s, stored.of(s.path)))
    except (sqlite3.Error, CacheCorrupt, ValueError) as e:  # what this version did not write
        reason = str(e) or type(e).__name__
        return [Verified(s.directory, s.names, [], [], 0, [], reason) for s in slices]
    return out


def _verify(s: Slice, keys: dict[str, str]) -> Verified:
    prefix = _prefix(s.path)
    changed: list[str] = []
    failed: list[str] = []
    problems: list[Diagnostic] = []
    linked: list[Linked] = []
    unchanged = 0
    for name in s.names:
        st = _stat(prefix + name, name, s.links, problems, linked)
        if st is None:
            failed.append(name)
        elif keys.get(name) == f"{st.st_size} {st.st_mtime_ns} {st.st_ino}":  # parts.file_key
            unchanged += 1
        else:
            changed.append(name)
    return Verified(s.directory, changed, failed, problems, unchanged, linked, "")


def read(batch: list[Slice]) -> list[Read]:
    maker = ItemMaker()
    shared_parts: dict[tuple[str, ...], tuple[str, ...]] = {}
    out = []
    for s in batch:
        prefix = _prefix(s.path)
        items: list[RawItem] = []
        problems: list[Diagnostic] = []
        linked: list[Linked] = []
        writer = PartWriter()
        for name in s.names:
            path = prefix + name
            st = _stat(path, name, s.links, problems, linked)
            if st is None:
                continue
            found = outcomes(read_file(path, st.st_size), shared_parts)
            if not writer.add(name, st.st_size, st.st_mtime_ns, st.st_ino, found):
                maker.add(path, s.root, st.st_mtime_ns, found, items, problems)
        out.append(Read(s.directory, writer.part(), items, problems, linked, len(s.names)))
    return out
