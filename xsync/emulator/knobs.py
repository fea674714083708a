"""What tests and benchmarks turn while the emulator runs: latency, faults, acknowledge-and-drop
rules and quirks (`drops.py`).

Faults, per request, before anything else happens (unless said otherwise):
  "503"         a 503 Service Unavailable page;
  "429"         a 429 Too Many Requests page with `Retry-After: 1`;
  "drop"        the connection is closed without an answer, the request unhandled;
  "drop_after"  the request is handled in full (the write or import happens, the state
                changes), then the connection is closed without an answer: the case that
                makes a blind retry of a POST duplicate data.
The fault dice are a seeded PRNG drawing two numbers per request (does it fail, which kind),
so a seed replays the same faults for the same sequence of requests; `queue_faults` scripts
the next requests' fates exactly, before the dice are consulted again.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from xsync.emulator import drops
from xsync.emulator.drops import DropRule

FAULT_KINDS = ("503", "429", "drop", "drop_after")
DEFAULT_FAULT_KINDS = ("503", "drop")


def check_fault_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(kinds)
    unknown = [k for k in chosen if k not in FAULT_KINDS]
    if unknown or not chosen:
        raise ValueError(f"fault kinds must be some of {', '.join(FAULT_KINDS)}, got {', '.join(chosen) or 'none'}")
    return chosen


class Knobs:
    """Settable while the server runs; thread-safe."""

    def __init__(
        self,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        seed: int | None = None,
        fault_kinds: Iterable[str] = DEFAULT_FAULT_KINDS,
        quirks: Iterable[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.fault_kinds = check_fault_kinds(fault_kinds)
        self._dice = random.Random(seed)
        self._queued: list[str | None] = []
        self._aimed: list[tuple[str, re.Pattern[str], str]] = []  # (method, path pattern, fault kind)
        self._drop_rules: list[DropRule] = []
        self.quirks = drops.check_quirks(quirks)
        self.upload_rate: float | None = None  # bytes per second request bodies are read at; None: at once

    # -- latency and faults --------------------------------------------------------------------
    def set_latency(self, ms: float) -> None:
        self.latency_ms = max(0.0, float(ms))

    def throttle_uploads(self, bytes_per_second: float | None) -> None:
        """Read request bodies no faster than this (a slow link), so a test can act while an
        upload is under way; None reads at full speed again."""
        self.upload_rate = None if bytes_per_second is None else max(1.0, float(bytes_per_second))

    def set_faults(self, rate: float, seed: int | None = None, kinds: Iterable[str] = DEFAULT_FAULT_KINDS) -> None:
        """Share `rate` (0..1) of requests fail, in equal parts of each of `kinds` (default: half
        with a 503, half by a connection dropped before the request is handled)."""
        chosen = check_fault_kinds(kinds)
        with self._lock:
            self.fault_rate = min(1.0, max(0.0, float(rate)))
            self.fault_kinds = chosen
            self._dice = random.Random(seed)

    def queue_faults(self, *outcomes: str | None) -> None:
        """Script the next requests' fates exactly (a fault kind, or None for a normal answer),
        for tests that must count retries."""
        named = [o for o in outcomes if o is not None]
        if named:
            check_fault_kinds(named)
        with self._lock:
            self._queued.extend(outcomes)

    def fault_next(self, method: str, path: str, kind: str) -> None:
        """The next `method` request whose path fully matches the regular expression `path`
        fails with `kind` (once), whatever other requests come first: for the one write a test
        is about, among the reads around it."""
        check_fault_kinds([kind])
        with self._lock:
            self._aimed.append((method.upper(), re.compile(path), kind))

    def roll(self, method: str = "", path: str = "") -> str | None:
        """The fault kind of this request, or None."""
        with self._lock:
            for i, (m, pattern, aimed) in enumerate(self._aimed):
                if m == method and pattern.fullmatch(path):
                    del self._aimed[i]
                    return aimed
            if self._queued:
                return self._queued.pop(0)
            if self.fault_rate <= 0:
                return None
            roll = self._dice.random()
            kind = self._dice.random()
            kinds = self.fault_kinds
        if roll >= self.fault_rate:
            return None
        return kinds[min(int(kind * len(kinds)), len(kinds) - 1)]

    # -- acknowledge and drop ------------------------------------------------------------------
    def drop_writes(self, path: str = ".*", param: str = ".*", method: str | None = None) -> DropRule:
        """From now on, item writes whose method and path match answer as usual but store nothing
        for the parameters `param` matches (regular expressions, full match; see `drops.py`)."""
        rule = DropRule(path=path, param=param, method=method)
        with self._lock:
            self._drop_rules.append(rule)
        return rule

    def clear_drops(self) -> None:
        with self._lock:
            self._drop_rules.clear()

    @property
    def drop_rules(self) -> tuple[DropRule, ...]:
        with self._lock:
            return tuple(self._drop_rules)

    def set_quirks(self, *quirks: str) -> None:
        """Replace the quirks in force (`drops.QUIRKS`); none restores XNAT 1.8's behaviour."""
        self.quirks = drops.check_quirks(quirks)

    def drop_predicate(self, method: str, path: str) -> drops.Predicate | None:
        with self._lock:
            rules = tuple(self._drop_rules)
        return drops.for_request(rules, self.quirks, method, path)


class ThrottledInput:
    """A WSGI input stream read no faster than the knobs' `upload_rate` allows at each read, so
    lifting the throttle also speeds up a body already being read."""

    def __init__(self, stream: Any, knobs: Knobs) -> None:
        self._stream = stream
        self._knobs = knobs
        self._started = time.monotonic()
        self._read = 0

    def _pace(self, n: int) -> None:
        self._read += n
        rate = self._knobs.upload_rate
        if rate is None:
            return
        ahead = self._read / rate - (time.monotonic() - self._started)
        if ahead > 0:
            time.sleep(min(ahead, 0.5))  # re-reads the rate at least twice a second

    def read(self, size: int = -1) -> bytes:
        chunk = min(size, 65536) if size is not None and size >= 0 else 65536
        data: bytes = self._stream.read(chunk)
        self._pace(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._stream.readline(size)
        self._pace(len(data))
        return data
