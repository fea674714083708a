"""`scan()`: walk the roots, take unchanged files from the cache, read the rest on every core,
and group everything into an Inventory."""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from xsync.errors import InventoryError
from xsync.inventory.cache import InventoryCache
from xsync.inventory.group import build_inventory
from xsync.inventory.items import Collector, ItemMaker
from xsync.inventory.read import Outcome, dicom_bytes, outcomes, read_file
from xsync.inventory.walk import FoundFile, resolve_roots, walk
from xsync.model.inventory import DicomFile, Inventory

log = logging.getLogger(__name__)

# Below this many files to read, starting worker processes costs more than it saves.
POOL_THRESHOLD = 1000
# Files per task: large enough that the per-task cost (pickling, scheduling) vanishes, small
# enough that both workers stay busy to the end and progress moves.
MAX_BATCH = 512


class ScanProgress(Protocol):
    """Told how many files will be read, then how many were read as results stream in."""

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
    found, problems = walk(resolved)
    maker = ItemMaker()
    collector = Collector(maker)
    cache = InventoryCache(cache_path, say) if cache_path is not None else None
    try:
        if cache is not None:
            items, others, misses = cache.lookup(resolved, found, maker)
        else:
            items, others, misses = [], [], found
        for found_file, found_outcomes in others:
            collector.add(found_file, found_outcomes)
        # Results are turned into items and cache records as they stream in, while the
        # workers go on reading.
        for found_file, found_outcomes in _read_all(misses, workers or available_cpus(), progress):
            collector.add(found_file, found_outcomes)
            if cache is not None:
                cache.remember(found_file, found_outcomes)
        if cache is not None:
            cache.save(found)
    finally:
        if cache is not None:
            cache.close()
    return build_inventory(resolved, items + collector.items, problems + collector.problems, content_id=_content_id)


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
        return hashlib.sha256(dicom_bytes(f.path, f.member)).hexdigest()
    except Exception as e:  # unreadable now: it cannot be shown identical to anything
        return f"unreadable:{f.location}:{e}"


def _read_all(
    files: list[FoundFile], workers: int, progress: ScanProgress | None
) -> Iterator[tuple[FoundFile, list[Outcome]]]:
    if not files:
        return
    if progress is not None:
        progress.start(len(files))
    try:
        if workers <= 1 or len(files) < POOL_THRESHOLD:
            shared_parts: dict[tuple[str, ...], tuple[str, ...]] = {}
            for f in files:
                yield f, outcomes(read_file(f.path, f.size), shared_parts)
                if progress is not None:
                    progress.advance(1)
            return
        by_path = {f.path: f for f in files}
        batch = max(16, min(MAX_BATCH, len(files) // (workers * 8)))
        tasks = [[(f.path, f.size) for f in files[i : i + batch]] for i in range(0, len(files), batch)]
        with _pool_context().Pool(workers) as pool:
            for results in pool.imap_unordered(_read_batch, tasks):
                for path, found_outcomes in results:
                    yield by_path[path], found_outcomes
                if progress is not None:
                    progress.advance(len(results))
    finally:
        if progress is not None:
            progress.finish()


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds, but forking a process that runs other threads can
    # deadlock a child on a lock held at that moment; then start clean interpreters instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _read_batch(batch: list[tuple[str, int]]) -> list[tuple[str, list[Outcome]]]:
    """Worker: read a batch of files."""
    shared_parts: dict[tuple[str, ...], tuple[str, ...]] = {}
    return [(path, outcomes(read_file(path, size), shared_parts)) for path, size in batch]
