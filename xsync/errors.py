"""One exception tree for the whole tool; each class carries its exit code.

    XsyncError                    1  the root; anything the tool reports on purpose
    ├── UsageError                4  a bad command line (click's own usage errors map here too)
    ├── SpecError                 4  the spec is invalid; carries every Diagnostic found
    ├── RemoteError               1  an XNAT call failed; carries method, URL (no credentials), status
    │   ├── TransportError           connection refused/reset, timeout, TLS failure
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── RemoteValidationError    400, 417, 422 (XNAT's <h3> message extracted)
    │   └── ServerError              5xx
    ├── InventoryError            1  the local DICOM tree cannot be used (strict mode, unreadable root)
    ├── PlanError                 1  a plan cannot be made (binding ambiguous, conflict with the server)
    ├── LockError                 1  another run holds the project's lock (or ours was lost / not found)
    ├── StalePlanError            5  a saved plan no longer matches the spec, inventory or server
    └── InternalError             3  a bug; the traceback goes to a log file

Exit codes (documented in the README and `xsync --help`):
    0 success; 1 error; 2 changes present (plan --detailed-exitcode); 3 internal error;
    4 invalid spec or usage; 5 stale plan; 130 interrupted.

Messages never contain credentials or patient identifiers: callers build them from
labels, addresses and redacted URLs only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_INVALID = 4
EXIT_STALE = 5
EXIT_INTERRUPTED = 130


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in an input, located as precisely as the input allows.

    Rendered as `file:line:col: path: message`; parts that are unknown are left out.
    Lines and columns are 1-based.
    """

    file: str = ""
    line: int = 0
    col: int = 0
    path: str = ""
    message: str = ""
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.col:
                    where += f":{self.col}"
            where += ": "
        path = f"{self.path}: " if self.path else ""
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return _one_line(f"{where}{prefix}{path}{self.message}")


def _one_line(text: str) -> str:
    """A diagnostic is one line: control characters (a newline in a file name) are escaped."""
    from xsync.render.safe import shown

    return shown(text)


class XsyncError(Exception):
    """Root of every error the tool raises on purpose."""

    exit_code: ClassVar[int] = EXIT_ERROR

    def __init__(self, summary: str, detail: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail

    def __str__(self) -> str:
        return self.summary if not self.detail else f"{self.summary}\n{self.detail}"


class UsageError(XsyncError):
    exit_code = EXIT_INVALID


class SpecError(XsyncError):
    """The spec is invalid. `diagnostics` holds every problem found, in file order."""

    exit_code = EXIT_INVALID

    def __init__(self, diagnostics: Iterable[Diagnostic], summary: str = "") -> None:
        self.diagnostics = tuple(diagnostics)
        n = sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)
        super().__init__(
            summary or f"the spec has {n} error{'s' if n != 1 else ''}",
            "\n".join(str(d) for d in self.diagnostics),
        )


class RemoteError(XsyncError):
    """An XNAT request failed. `url` never carries credentials."""

    def __init__(self, message: str, *, method: str = "", url: str = "", status: int | None = None) -> None:
        self.message = message
        self.method = method
        self.url = url
        self.status = status
        where = " ".join(p for p in (method, url) if p)
        code = f" -> {status}" if status is not None else ""
        summary = f"{message} ({where}{code})" if where else message
        super().__init__(summary)


class TransportError(RemoteError):
    pass


class AuthenticationError(RemoteError):
    pass


class PermissionDeniedError(RemoteError):
    pass


class NotFoundError(RemoteError):
    pass


class ConflictError(RemoteError):
    pass


class RemoteValidationError(RemoteError):
    pass


class ServerError(RemoteError):
    pass


class InventoryError(XsyncError):
    pass


class PlanError(XsyncError):
    pass


class LockError(XsyncError):
    """The project's xsync lock is held by another run, or a lock operation could not be done.
    The summary names the holder; the detail says how to wait or how to break a dead run's lock."""


class StalePlanError(XsyncError):
    exit_code = EXIT_STALE


class InternalError(XsyncError):
    exit_code = EXIT_INTERNAL
