"""`--data-dir`: the store as one JSON file (`state.json`), written atomically (temp file +
rename) and reloaded at start, so files uploaded or imported earlier stay reachable across
restarts.

Saving is coalesced: a change only marks the state dirty (`mark_dirty`, the store's
`on_change`); one background thread writes the whole state at most every `interval` seconds
(0.5 by default) while changes keep coming, and `stop()` writes what is left, so a clean stop
(the serve command's SIGTERM/Ctrl-C included) loses nothing. Rewriting the file after every
received file made an import quadratic in its size (a 1,600-file import took 15x longer than in
memory). A hard kill loses at most the last interval's changes; the file on disk is always one
whole, consistent state: it is dumped under the store lock and replaces the old one atomically.

Serialisation is generic over the store's dataclasses: every field is written except those
marked `field(metadata={"transient": True})` (derived data such as a prearchive row's built
session). Paths inside the data directory are written relative to it, so the directory can be
moved. Sessions and alias tokens are not persisted (a restarted XNAT forgets sessions too).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from xsync.emulator import store as store_module
from xsync.emulator.store import Counters, Experiment, PrearchiveSession, Project, Store, Subject

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
FORMAT_VERSION = 1
SAVE_INTERVAL = 0.5  # seconds between two saves while changes keep coming
_DATACLASSES = {
    name: obj
    for name, obj in vars(store_module).items()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == store_module.__name__
}
_NAME = re.compile(r"[A-Za-z_]\w*")


def dump(value: Any, root: Path) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: dump(getattr(value, f.name), root)
            for f in dataclasses.fields(value)
            if not f.metadata.get("transient")
        }
    if isinstance(value, Path):
        return str(value.relative_to(root)) if value.is_relative_to(root) else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(dump(v, root) for v in value)
    if isinstance(value, dict):
        return {k: dump(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(v, root) for v in value]
    return value


def load(cls: type, data: dict[str, Any], root: Path) -> Any:
    """Rebuild a store dataclass; nested dataclasses, Paths and sets are recognised from the
    fields' annotations (strings, as the store module uses postponed annotations)."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("transient") or f.name not in data:
            continue
        kwargs[f.name] = _convert(str(f.type), data[f.name], root)
    return cls(**kwargs)


def _convert(annotation: str, value: Any, root: Path) -> Any:
    if value is None:
        return None
    names = _NAME.findall(annotation)
    nested = next((_DATACLASSES[n] for n in names if n in _DATACLASSES), None)
    if annotation.startswith("dict[") and isinstance(value, dict):
        inner = annotation[annotation.index(",") + 1 : -1].strip()
        return {k: _convert(inner, v, root) for k, v in value.items()}
    if annotation.startswith("list[") and isinstance(value, list):
        return [_convert(annotation[5:-1], v, root) for v in value]
    if annotation.startswith("set[") and isinstance(value, list):
        return set(value)
    if nested is not None and isinstance(value, dict):
        return load(nested, value, root)
    if "Path" in names and isinstance(value, str):
        p = Path(value)
        return p if p.is_absolute() else root / p
    return value


class Persistence:
    """Keeps `<data_dir>/state.json` in step with the store: `restore()` at start, then
    `start()` the saver, `mark_dirty()` on every change, `stop()` to flush."""

    def __init__(self, store: Store, data_dir: Path, interval: float = SAVE_INTERVAL) -> None:
        self.store = store
        self.path = data_dir / STATE_FILE
        self.interval = interval
        self.saves = 0  # writes of state.json so far (tests and benchmarks read it)
        self._write_lock = threading.Lock()  # one writer at a time: the saver or the final flush
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_save = float("-inf")  # time.monotonic() of the last write

    def restore(self) -> bool:
        """Load the saved state into the (empty) store; False when there is none."""
        if not self.path.is_file():
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{self.path} is not a readable emulator state: {e}") from e
        root = self.store.root
        with self.store.lock:
            for pid, p in data.get("projects", {}).items():
                self.store.projects[pid] = load(Project, p, root)
            for s in data.get("subjects", {}).values():
                self.store.add_subject(load(Subject, s, root))
            for experiment in data.get("experiments", {}).values():
                self.store.add_experiment(load(Experiment, experiment, root))
            self.store.prearchive[:] = [load(PrearchiveSession, r, root) for r in data.get("prearchive", [])]
            self.store.counters = load(Counters, data.get("counters", {}), root)
        return True

    # -- coalesced saving ----------------------------------------------------------------------
    def mark_dirty(self) -> None:
        """The state changed; the saver writes it within `interval` seconds."""
        self._dirty.set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="xsync-emulator-saver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the saver and write whatever changed since its last save."""
        self._stopping.set()
        self._dirty.set()  # wakes the saver so it notices the stop
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def flush(self) -> None:
        """Write the state now if anything changed since the last save."""
        with self._write_lock:
            if self._dirty.is_set():
                self._write()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.is_set():
                return  # stop() flushes
            # Changes arriving during this pause are written by the same save.
            pause = self._last_save + self.interval - time.monotonic()
            if pause > 0 and self._stopping.wait(pause):
                return
            try:
                self.flush()
            except Exception:  # e.g. a full disk: the saver lives on, stays dirty, retries after the interval
                log.exception("saving %s failed", self.path)
                self._dirty.set()
                self._last_save = time.monotonic()

    def save(self) -> None:
        """Write the state now, whether or not it changed (the store's full dump)."""
        with self._write_lock:
            self._write()

    def _write(self) -> None:
        # Cleared before the dump: a change made while it runs marks the state dirty again and
        # is written by the next save, never lost between the two.
        self._dirty.clear()
        root = self.store.root
        with self.store.lock:  # a consistent cut: no request changes the store mid-dump
            data = {
                "version": FORMAT_VERSION,
                "projects": dump(self.store.projects, root),
                "subjects": dump(self.store.subjects, root),
                "experiments": dump(self.store.experiments, root),
                "prearchive": dump(self.store.prearchive, root),
                "counters": dump(self.store.counters, root),
            }
        text = json.dumps(data)  # outside the lock: `data` is plain values no one else holds
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            self._dirty.set()  # not on disk: still to be saved
            raise
        self.saves += 1
        self._last_save = time.monotonic()
