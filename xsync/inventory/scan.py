"""`scan()`: list the roots, take unchanged files from the cache, read the rest on every core,
and group everything into an Inventory.

This process lists the tree (names, no stat), decodes the cached parts of the files that did
not change, and groups. The worker processes (`examine`) stat the files and compare them with
their cached keys meanwhile, then read the files that changed, and hand back parts (`parts`)
that this process decodes like cached ones and stores as they are: nothing travels between
processes one file at a time.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Protocol

from xsync.errors import Diagnostic, InventoryError
from xsync.inventory.cache import InventoryCache
from xsync.inventory.examine import Slice, Verified, read, verify
from xsync.inventory.group import build_inventory
from xsync.inventory.items import Item, items
from xsync.inventory.parts import CacheCorrupt, Part, decode, restrict
from xsync.inventory.read import dicom_chunks
from xsync.inventory.walk import Directory, list_tree, resolve_roots
from xsync.inventory.workers import Workers, batch_size, batches
from xsync.model.inventory import DicomFile, Inventory

log = logging.getLogger(__name__)

# Below this many files to read, starting worker processes costs more than it saves; files
# to check against the cache cost less each, so that takes more.
POOL_THRESHOLD = 1000
VERIFY_POOL_THRESHOLD = 5000
# Files per batch at most, to read and to check.
MAX_BATCH = 512
MAX_VERIFY_BATCH = 4096


class ScanProgress(Protocol):
    """Told how many files will be read (those new or changed since the cache was written),
    then how many were read as results stream in; not told anything when none need reading."""

    def start(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def finish(self) -> None: ...


def scan(
    roots: Sequence[str | os.PathLike[str]],
    *,
    cache_path: Path | None = None,
    workers: int | None = None,
    strict: bool = False,
    progress: ScanProgress | None = None,
    notify: Callable[[str], None] | None = None,
) -> Inventory:
    """The inventory of the DICOM under `roots`.

    `cache_path`: the SQLite header cache (None: no cache). `workers`: processes reading files
    (default: every available core; 1 reads in this process). `strict`: raise InventoryError
    when any diagnostic (warning or error) was found. `notify` gets messages about the cache
    (default: this module's logger). Bad files never raise: they become diagnostics.
    Raises InventoryError when a root does not exist.
    """
    with _collector_paused():
        inventory = _scan(roots, cache_path, workers, progress, notify or log.warning)
    if strict:
        raise_for_diagnostics(inventory, strict=True)
    return inventory


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A scan builds a few objects per file and none in cycles; the cyclic collector would
    re-examine them again and again as they pile up (a quarter of a re-scan's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan(
    roots: Sequence[str | os.PathLike[str]],
    cache_path: Path | None,
    workers: int | None,
    progress: ScanProgress | None,
    say: Callable[[str], None],
) -> Inventory:
    resolved = resolve_roots(roots)
    cache = InventoryCache(cache_path, say) if cache_path is not None else None
    try:
        with Workers(workers or available_cpus()) as pool:
            held = cache.directories(resolved) if cache is not None else {}
            if sum(held.values()) >= VERIFY_POOL_THRESHOLD:
                pool.start(pool.n)  # a large re-scan: the workers start while the tree is listed
            listing, problems = list_tree(resolved)
            known = _take_from_cache(pool, cache, resolved, listing, held) if cache is not None else _Known()
            if known.corrupt:  # never trusted: read everything again
                assert cache is not None
                cache.corrupt(known.corrupt)
                known = _Known()
            to_read = [Slice(i, d.path, d.root, d.names, d.links) for i, d in enumerate(listing) if i not in known.dirs]
            done = _read_all(pool, to_read + known.changed, listing, progress)
        found = known.items + done.items
        problems += known.problems + done.problems
        duplicates = _duplicates(listing, known.linked + done.linked)
        if duplicates:  # files reached twice: only their first name counts
            found = [it for it in found if it[0].path not in duplicates]
            members_of = tuple(d + "!" for d in duplicates)  # diagnostics name zip members path!member
            problems = [p for p in problems if p.file not in duplicates and not p.file.startswith(members_of)]
        if cache is not None:
            written = known.written
            for path, parts in done.parts.items():
                written.setdefault(path, []).extend(parts)
            for i, d in enumerate(listing):
                if i not in known.dirs:
                    written.setdefault(d.path, [])  # new, or (when the cache was corrupt) anew
            cache.save(written, known.stored - {d.path for d in listing})
    finally:
        if cache is not None:
            cache.close()
    return build_inventory(resolved, found, problems, content_id=_content_id)


@dataclass
class _Known:
    """What the cache gave: the directories it holds (their indexes in the listing, their
    paths in the cache), the items and diagnostics of their unchanged files, the files to
    read, what to store for the directories that changed, the files that may have other
    names (directory, name, device, inode), and, when something stored does not decode, why."""

    dirs: frozenset[int] = frozenset()
    stored: set[str] = field(default_factory=set)
    items: list[Item] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    changed: list[Slice] = field(default_factory=list)
    written: dict[str, list[Part]] = field(default_factory=dict)
    linked: list[tuple[int, str, int, int]] = field(default_factory=list)
    corrupt: str = ""


def _take_from_cache(
    pool: Workers, cache: InventoryCache, roots: Sequence[str], listing: list[Directory], held: dict[str, int]
) -> _Known:
    """The files of the directories the cache holds (`held`): the workers stat them and
    compare them with the stored keys while this process decodes the stored parts; the
    unchanged files are taken from those, the others are to read."""
    dirs = [i for i, d in enumerate(listing) if d.path in held]
    total = sum(len(listing[i].names) for i in dirs)
    size = batch_size(total, pool.n, 256, MAX_VERIFY_BATCH)
    slices = [Slice(i, d.path, d.root, d.names[k : k + size], d.links) for i in dirs for d in [listing[i]]
              for k in range(0, len(d.names), size)]  # fmt: skip
    work = [(str(cache.path), b) for b in batches(slices, [len(s.names) for s in slices], size)]
    verifying = pool.map(verify, work, pool.n if total >= VERIFY_POOL_THRESHOLD else 0)
    stored = cache.parts(roots)
    known = _Known(dirs=frozenset(dirs), stored=set(held))
    try:
        decoded = {i: _decode(listing[i], stored.get(listing[i].path, []), None) for i in dirs}
        answers: dict[int, list[Verified]] = {}
        for v in verifying:
            answers.setdefault(v.directory, []).append(v)
        for i in dirs:
            d, parts, verified = listing[i], stored.get(listing[i].path, []), answers[i]
            if any(v.corrupt for v in verified):
                return _Known(corrupt=next(v.corrupt for v in verified if v.corrupt))
            known.linked += [(i, *f) for v in verified for f in v.linked]
            if sum(v.unchanged for v in verified) == len(d.names) == sum(p.n for p in parts):  # exactly as stored
                found, problems = decoded[i]
            else:
                changed = sorted(n for v in verified for n in v.changed)
                keep = set(d.names).difference(changed, *(v.failed for v in verified))
                found, problems = _decode(d, parts, keep)
                known.written[d.path] = [p for p in (restrict(p, keep) for p in parts) if p is not None]
                known.problems += [p for v in verified for p in v.problems]
                if changed:
                    known.changed.append(Slice(i, d.path, d.root, changed, d.links))
            known.items += found
            known.problems += problems
    except (CacheCorrupt, ValueError, IndexError) as e:  # a record this version did not write
        return _Known(corrupt=str(e) or type(e).__name__)
    return known


def _decode(d: Directory, parts: list[Part], keep: set[str] | None) -> tuple[list[Item], list[Diagnostic]]:
    found: list[Item] = []
    problems: list[Diagnostic] = []
    prefix = _prefix(d.path)
    for part in parts:
        decode(part, prefix, d.root, found, problems, keep)
    return found, problems


def _prefix(path: str) -> str:
    return path.rstrip(os.sep) + os.sep


def _read_all(pool: Workers, to_read: list[Slice], listing: list[Directory], progress: ScanProgress | None) -> _Read:
    """Read the files of `to_read`; their parts are decoded as they arrive, while the
    workers go on reading."""
    out = _Read()
    total = sum(len(s.names) for s in to_read)
    if not total:
        return out
    # A directory's files are split so that batches can be even.
    size = batch_size(total, pool.n, 16, MAX_BATCH)
    pieces = [s._replace(names=s.names[k : k + size]) for s in to_read for k in range(0, len(s.names), size)]
    work = batches(pieces, [len(p.names) for p in pieces], size)
    if progress is not None:
        progress.start(total)
    try:
        for result in pool.map(read, work, pool.n if total >= POOL_THRESHOLD else 0):
            d = listing[result.directory]
            if result.part is not None:
                decode(result.part, _prefix(d.path), d.root, out.items, out.problems)
                out.parts.setdefault(d.path, []).append(result.part)
            out.items += items(result.items)
            out.problems += result.problems
            out.linked += [(result.directory, *f) for f in result.linked]
            if progress is not None:
                progress.advance(result.n_read)
    finally:
        if progress is not None:
            progress.finish()
    return out


@dataclass
class _Read:
    """What reading gave: items, diagnostics, parts for the cache by directory, files that
    may have other names (directory, name, device, inode)."""

    items: list[Item] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    parts: dict[str, list[Part]] = field(default_factory=dict)
    linked: list[tuple[int, str, int, int]] = field(default_factory=list)


def _duplicates(listing: list[Directory], linked: list[tuple[int, str, int, int]]) -> set[str]:
    """The paths of files already listed under another name: the first in walk order wins."""
    if len(linked) < 2:
        return set()
    linked.sort(key=itemgetter(0, 1))  # walk order: directories as listed, then names
    first: dict[tuple[int, int], str] = {}
    out: set[str] = set()
    for directory, name, device, inode in linked:  # a changed file is reported twice: stat-ed, then read
        path = os.path.join(listing[directory].path, name)
        if first.setdefault((device, inode), path) != path:
            out.add(path)
    return out


def raise_for_diagnostics(inventory: Inventory, *, strict: bool, detail: bool = True) -> None:
    """Raise InventoryError when the inventory has errors, or (strict) any diagnostic at all."""
    n_errors, n_warnings = len(inventory.errors), len(inventory.warnings)
    if n_errors or (strict and n_warnings):
        parts = [f"{n_errors} error{'s' if n_errors != 1 else ''}"]
        if n_warnings:
            parts.append(f"{n_warnings} warning{'s' if n_warnings != 1 else ''}" + (" (--strict)" if strict else ""))
        text = "\n".join(str(d) for d in inventory.diagnostics) if detail else ""
        raise InventoryError(f"the DICOM inventory has {' and '.join(parts)}", text)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _content_id(f: DicomFile) -> str:
    try:
        digest = hashlib.sha256()
        for chunk in dicom_chunks(f.path, f.member):  # never the whole object in memory
            digest.update(chunk)
        return digest.hexdigest()
    except Exception as e:  # unreadable now: it cannot be shown identical to anything
        return f"unreadable:{f.location}:{e}"
