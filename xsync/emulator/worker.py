"""The prearchive's idle rebuilder: a daemon thread that builds RECEIVING sessions once no file
has arrived for `EmulatorConfig.quiet_seconds` and archives those whose auto-archive code says
so (XNAT's SessionXMLRebuilder, DICOM-IMPORT.md §5.2-§5.3).

Timing a client can rely on: a row turns READY (or is archived) between `quiet_seconds` and
`quiet_seconds + period` after its last file, `period` being a fifth of the quiet time (at
least 10 ms, at most 100 ms). XNAT checks every minute for rows idle five minutes.
Rows with `prevent_auto_commit=true` or SOURCE `uploader` stay RECEIVING until a client acts.
`quiet_seconds` may be changed while the emulator runs (a knob for tests that must see a row
RECEIVING before letting it go).
"""

from __future__ import annotations

import logging
import threading
import time

from xsync.emulator import direct_archive
from xsync.emulator.archiver import archive, auto_archive_options
from xsync.emulator.builder import BuildError
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.prearchive import RECEIVING, build
from xsync.emulator.store import PrearchiveSession, Store

log = logging.getLogger(__name__)


class QuietPeriodWorker:
    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.quiet_seconds = config.quiet_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="xsync-emulator-prearchive", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def period(self) -> float:
        return min(0.1, max(0.01, self.quiet_seconds / 5))

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.tick()
            except Exception:  # the worker must outlive any one bad session
                log.exception("prearchive worker tick failed")

    def _idle(self, row: PrearchiveSession, now: float) -> bool:
        # A negative age can only be a time from before a reboot (a row restored from
        # --data-dir; the monotonic clock is system-wide otherwise): idle.
        age = now - row.last_file_monotonic
        return age >= self.quiet_seconds or age < 0

    def _due(self) -> list[PrearchiveSession]:
        with self.store.lock:
            now = time.monotonic()  # inside the lock: no file can be newer than `now`
            return [
                r
                for r in self.store.prearchive
                if r.status == RECEIVING
                and r.prevent_auto_commit != "true"
                and r.source != "uploader"
                and self._idle(r, now)
            ]

    def tick(self) -> None:
        direct_archive.sweep(self.store, self.quiet_seconds)  # direct-to-archive sessions idle as long
        for row in self._due():
            with self.store.lock:
                if row.status != RECEIVING or row not in self.store.prearchive or not self._idle(row, time.monotonic()):
                    continue  # a request or a new file got to it first
                try:
                    build(self.store, row)
                except BuildError as e:
                    log.info("prearchive session %s could not be built: %s", row.url, e)
                    continue
                options = auto_archive_options(row)
                if options is None:
                    continue
                try:
                    archive(self.store, row, options)
                except XnatHTTPError as e:  # the row shows CONFLICT or ERROR now
                    log.info("auto-archive of %s refused: %s", row.url, e.message)
