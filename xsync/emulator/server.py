"""Run the emulator on loopback: the HTTP server (and, later, the DICOM receiver and the
prearchive's background worker) in daemon threads, as a context manager."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from xsync.emulator import (
    archive_service,
    auth,
    direct_archive_api,
    importer,
    item_routes,
    listings,
    prearchive_routes,
    projects,
    resources,
    scan_writes,
    schemas,
    search,
    writes,
    xapi,
)
from xsync.emulator.app import EmulatorApp, LoggedRequest
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.cstore import CStoreReceiver
from xsync.emulator.drops import DropRule
from xsync.emulator.http import Route
from xsync.emulator.knobs import DEFAULT_FAULT_KINDS, Knobs
from xsync.emulator.persist import Persistence
from xsync.emulator.seed import Seeder
from xsync.emulator.store import Project, Store
from xsync.emulator.worker import QuietPeriodWorker


def all_routes() -> list[Route]:
    """Every route module's table, in the order rules are tried."""
    routes: list[Route] = []
    routes += auth.routes.routes + xapi.routes.routes + projects.routes.routes + listings.routes.routes  # REST
    routes += item_routes.routes.routes + writes.routes.routes + scan_writes.routes.routes + resources.routes.routes
    routes += schemas.routes.routes  # /xapi/schemas
    routes += search.routes.routes  # /data/search
    routes += direct_archive_api.routes.routes  # /xapi/direct-archive
    routes += importer.routes.routes + prearchive_routes.routes.routes + archive_service.routes.routes  # DICOM ingest
    return routes


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the app keeps its own request log; stderr stays for the serve command


STOP_GRACE_SECONDS = 10.0  # how long a clean stop waits for requests being handled


class Emulator:
    """`with Emulator(EmulatorConfig(projects=("P",))) as emu: requests.get(emu.url + "/data/projects")`"""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._tmp: Path | None = None
        if self.config.data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="xsync-emulator-"))
            root = self._tmp
        else:
            root = self.config.data_dir
            root.mkdir(parents=True, exist_ok=True)
        self.store = Store(root, site_id=self.config.site_id)
        self.persistence: Persistence | None = None
        if self.config.data_dir is not None:
            self.persistence = Persistence(self.store, self.config.data_dir)
            self.persistence.restore()
            self.store.on_change = self.persistence.mark_dirty  # saved in the background, coalesced
        for pid in self.config.projects:
            self.store.projects.setdefault(pid, Project(id=pid, secondary_id=pid, name=pid))
        self.seed = Seeder(self.store)  # fast in-process state building for tests and benchmarks
        self.app = EmulatorApp(self.config, self.store, all_routes())
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.prearchive_worker = QuietPeriodWorker(self.store, self.config)
        self.dicom_receiver = CStoreReceiver(self.store, self.config) if self.config.dicom_port is not None else None

    @property
    def url(self) -> str:
        """Base URL including the context path, e.g. http://127.0.0.1:8080 or .../xnat."""
        assert self._server is not None, "emulator not started"
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # the socket API's type; an IP server address is text
            host = host.decode()
        scheme = "https" if self.config.tls_cert else "http"
        return f"{scheme}://{host}:{port}{self.config.context_path}"

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return int(self._server.server_address[1])

    @property
    def dicom_port(self) -> int | None:
        """The C-STORE receiver's port (AE title `config.dicom_ae_title`), None without one."""
        return self.dicom_receiver.port if self.dicom_receiver is not None else None

    @property
    def requests(self) -> list[LoggedRequest]:
        return list(self.app.requests)

    def clear_log(self) -> None:
        self.app.clear_log()

    @property
    def knobs(self) -> Knobs:
        """Settable while running: `set_latency(ms)`, `set_faults(rate, seed, kinds)`,
        `queue_faults("503", "drop", "drop_after", None, ...)`, `drop_writes(path, param,
        method)`, `clear_drops()`, `set_quirks(...)` (knobs.py, drops.py)."""
        return self.app.knobs

    def set_latency(self, ms: float) -> None:
        self.app.knobs.set_latency(ms)

    def expire_sessions(self) -> None:
        """Every client's JSESSIONID stops working (a session timeout, a restart)."""
        self.app.auth.expire_sessions()

    def set_faults(self, rate: float, seed: int | None = None, kinds: Iterable[str] = DEFAULT_FAULT_KINDS) -> None:
        self.app.knobs.set_faults(rate, seed, kinds)

    def drop_writes(self, path: str = ".*", param: str = ".*", method: str | None = None) -> DropRule:
        """Item writes matching `method` and `path` answer as usual but store nothing for the
        parameters `param` names (regular expressions, full match; drops.py)."""
        return self.app.knobs.drop_writes(path, param, method)

    def start(self) -> Emulator:
        ssl_context = None
        if self.config.tls_cert:
            ssl_context = (str(self.config.tls_cert), str(self.config.tls_key or self.config.tls_cert))
        # Bound here, not by werkzeug: a port in use raises ListenError for the caller to report,
        # where werkzeug would print its own text and exit the process.
        with _listen("HTTP", self.config.host, self.config.port) as listener:
            self._server = make_server(
                self.config.host,
                self.config.port,
                self.app,
                threaded=True,
                request_handler=_QuietHandler,
                ssl_context=ssl_context,
                fd=listener.fileno(),  # werkzeug keeps a duplicate of it
            )
        # A short poll lets stop() return at once (the default 0.5 s would add up across tests).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="xsync-emulator-http", daemon=True
        )
        self._thread.start()
        self.prearchive_worker.start()
        if self.dicom_receiver is not None:
            try:
                self.dicom_receiver.start()
            except OSError as e:
                raise ListenError("DICOM", self.config.host, self.config.dicom_port or 0, e) from e
        if self.persistence is not None:
            self.persistence.start()
        return self

    def stop(self) -> None:
        """A clean stop: no new connections; requests being handled finish (up to
        STOP_GRACE_SECONDS), then the state is saved."""
        if self.dicom_receiver is not None:
            self.dicom_receiver.stop()
        self.prearchive_worker.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.app.wait_idle(STOP_GRACE_SECONDS)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.persistence is not None:  # last: nothing changes the store any more
            self.persistence.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ListenError(OSError):
    """A port the emulator cannot listen on: in use, not ours to take, or a host not ours."""

    def __init__(self, what: str, host: str, port: int, cause: OSError) -> None:
        self.what, self.host, self.port = what, host, port
        reason = os.strerror(cause.errno) if cause.errno else str(cause)
        self.message = f"cannot listen for {what} on {host}:{port}: {reason}"
        super().__init__(cause.errno, self.message)


def _listen(what: str, host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as e:
        raise ListenError(what, host, port, e) from e
