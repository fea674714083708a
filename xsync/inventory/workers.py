"""Batches of work for the worker processes, and the pool that runs them."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Workers:
    """Runs batches in this process or in a pool of up to `n` worker processes, started when
    first needed (again when more processes are needed). A context manager: the pool ends
    with it."""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self._pool: multiprocessing.pool.Pool | None = None
        self._size = 0

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def start(self, processes: int) -> None:
        """Start the pool now (at most n processes), so that it starts while this process
        does other work."""
        processes = min(processes, self.n)
        if processes >= 1 and (self._pool is None or self._size < processes):
            self._close()
            self._pool, self._size = _pool_context().Pool(processes), processes

    def map(self, fn: Callable[[T], list[R]], batches: list[T], processes: int) -> Iterator[R]:
        """fn of every batch, results in the order batches finish, in `processes` worker
        processes (at most n), or in this process when that is 0. In a pool, the batches run
        from this call on, while the caller does other work before it iterates; here, as it
        iterates."""
        if min(processes, self.n) < 1:
            return (r for batch in batches for r in fn(batch))
        self.start(processes)
        assert self._pool is not None
        return (r for results in self._pool.imap_unordered(fn, batches) for r in results)


def batch_size(total: int, workers: int, smallest: int, largest: int) -> int:
    """Files per batch: about 8 batches per worker (so that every worker stays busy to the
    end and progress moves), within bounds (so that the per-batch cost vanishes)."""
    return max(smallest, min(largest, total // (workers * 8)))


def batches(pieces: list[T], sizes: list[int], target: int) -> list[list[T]]:
    """`pieces` (of `sizes` files each, none above `target`) in batches of about `target`."""
    out: list[list[T]] = []
    current: list[T] = []
    n = 0
    for piece, size in zip(pieces, sizes, strict=True):
        current.append(piece)
        n += size
        if n >= target:
            out.append(current)
            current, n = [], 0
    if current:
        out.append(current)
    return out


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds, but forking a process that runs other threads can
    # deadlock a child on a lock held at that moment; then start clean interpreters instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
