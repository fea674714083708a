"""What apply's steps share: where to write, how to read the project again, the local DICOM,
and the few facts one step learns for the next (the scan IDs XNAT really gave)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from xsync.apply.runner import Runner
from xsync.model.inventory import Inventory
from xsync.model.remote import RemoteState
from xsync.spec.remap import HeaderChange
from xsync.xnat.storescu import StoreTarget
from xsync.xnat.write import XnatWriter


class UploadProgress(Protocol):
    """Where upload progress goes (a terminal's bars, or nowhere)."""

    def start(self, name: str, total: int) -> None: ...
    def advance(self, name: str, n: int) -> None: ...
    def finish(self, name: str) -> None: ...


class NoProgress:
    def start(self, name: str, total: int) -> None:
        pass

    def advance(self, name: str, n: int) -> None:
        pass

    def finish(self, name: str) -> None:
        pass


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 4
    allow_delete: bool = False
    dest: Literal["archive", "prearchive"] = "archive"  # the spec's upload.dest
    archive_timeout: float = 600.0  # seconds to wait for a session to leave the prearchive
    poll_interval: float = 2.0
    cstore: StoreTarget | None = None  # upload.method: cstore sends here; None: the import service
    only: Literal["imports", "fields"] | None = None  # --only: one half of the plan, the rest skipped


@dataclass
class ApplyContext:
    project: str
    writer: XnatWriter
    read: Callable[[], RemoteState]  # the project as the plan read it (same fields, probes, PHI)
    runner: Runner
    inventory: Inventory | None
    options: ApplyOptions = field(default_factory=ApplyOptions)
    progress: UploadProgress = field(default_factory=NoProgress)
    # (subject, session) -> the header edits its DICOM is sent with (remaps, C-STORE routing)
    headers: Callable[[str, str], tuple[HeaderChange, ...]] = lambda subject, session: ()
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # (session label, predicted scan ID) -> the ID XNAT gave, learned by verifying imports
    scan_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    bytes_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n
