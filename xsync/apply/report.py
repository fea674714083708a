"""What apply did, operation by operation: the events progress and `--json` show, and the final
report. Pure data; an operation is `done` only once the server was read again and holds it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DONE = "done"  # written and read back
    FAILED = "failed"
    SKIPPED = "skipped"  # not to be run (a deletion without --allow-delete)
    NOT_RUN = "not run"  # never started: an earlier failure stopped new work


@dataclass(frozen=True)
class OpResult:
    index: int  # position in the plan's operations
    kind: str
    address: str
    status: Status
    detail: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "operation",
            "index": self.index,
            "kind": self.kind,
            "address": self.address,
            "status": str(self.status),
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[OpResult, ...]
    seconds: float
    bytes_sent: int = 0

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)

    @property
    def ok(self) -> bool:
        return not any(r.status in (Status.FAILED, Status.NOT_RUN) for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "summary",
            "ok": self.ok,
            **{str(s).replace(" ", "_"): self.count(s) for s in Status},
            "bytes_sent": self.bytes_sent,
            "seconds": round(self.seconds, 3),
        }
