"""The emulator's WSGI application: faults and latency, the request log, authentication, and
dispatch of `/data`, `/REST` (and `/archive`) routes to the route modules.

Order per request, as in XNAT: the context path, then Spring's filters (Basic login or the
session cookie; 401/302 without credentials, even for unknown paths), then Restlet routing
(404/405), then the resource. Latency and faults come first of all, as a slow or failing
network would.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xsync.emulator.auth import Authenticator, session_cookie
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.http import Ctx, Route, XnatHTTPError, status_page
from xsync.emulator.store import Store

log = logging.getLogger(__name__)

_MUTATING = frozenset({"PUT", "POST", "DELETE"})


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without the context path
    query: str
    status: int  # 0 for a dropped connection
    user: str


class DroppedConnection(Exception):
    """Raised to make the server close the connection without answering."""


class Knobs:
    """Latency and faults, settable while the server runs. The fault dice are a seeded PRNG, so
    a seed replays the same fault sequence for the same sequence of requests."""

    def __init__(self, latency_ms: float = 0.0, fault_rate: float = 0.0, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self._dice = random.Random(seed)
        self._queued: list[str | None] = []

    def queue_faults(self, *outcomes: str | None) -> None:
        """Script the next requests' fates exactly ("503", "drop", "429" — too many requests,
        with `Retry-After: 1` — or None for a normal answer),
        before the dice are consulted again — for tests that must count retries."""
        with self._lock:
            self._queued.extend(outcomes)

    def set_latency(self, ms: float) -> None:
        self.latency_ms = max(0.0, float(ms))

    def set_faults(self, rate: float, seed: int | None = None) -> None:
        """Share `rate` (0..1) of requests fail: half with a 503, half by a dropped connection."""
        with self._lock:
            self.fault_rate = min(1.0, max(0.0, float(rate)))
            self._dice = random.Random(seed)

    def roll(self) -> str | None:
        """None, "503" or "drop" for the next request."""
        with self._lock:
            if self._queued:
                return self._queued.pop(0)
        if self.fault_rate <= 0:
            return None
        with self._lock:
            roll = self._dice.random()
            kind = self._dice.random()
        if roll >= self.fault_rate:
            return None
        return "503" if kind < 0.5 else "drop"


_MAPS: dict[tuple[object, ...], tuple[Map, dict[str, Route]]] = {}


class EmulatorApp:
    def __init__(self, config: EmulatorConfig, store: Store, routes: Iterable[Route]) -> None:
        self.config = config
        self.store = store
        self.auth = Authenticator(config)
        self.knobs = Knobs(config.latency_ms, config.fault_rate, config.seed)
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._url_map, self._handlers = self._build_map(routes)

    # -- routing ---------------------------------------------------------------------------
    @staticmethod
    def _build_map(routes: Iterable[Route]) -> tuple[Map, dict[str, Route]]:
        """The URL map; compiled once per route set and process (werkzeug compiles ~500 rules in
        about a second, which every test starting an emulator would pay). A Map is read-only
        once built, so emulators may share it."""
        routes = tuple(routes)
        key = tuple(
            (r.rule, r.methods, r.archive, r.handler, r.public, tuple(sorted(r.options.items()))) for r in routes
        )
        cached = _MAPS.get(key)
        if cached is None:
            cached = _MAPS[key] = EmulatorApp._compile_map(routes)
        return cached

    @staticmethod
    def _compile_map(routes: Iterable[Route]) -> tuple[Map, dict[str, Route]]:
        rules = []
        handlers: dict[str, Route] = {}
        for i, r in enumerate(routes):
            endpoint = f"r{i}"
            handlers[endpoint] = r
            mounts = ["/data", "/REST"]
            if r.archive:
                mounts += ["/data/archive", "/REST/archive"]
            if r.options.get("site_root"):
                mounts = [""]
            for m in mounts:
                rules.append(Rule(m + r.rule, endpoint=endpoint, methods=list(r.methods), strict_slashes=False))
        return Map(rules, merge_slashes=False), handlers

    # -- request log -----------------------------------------------------------------------
    def _record(self, request: Request, path: str, status: int, user: str) -> None:
        with self._log_lock:
            self.requests.append(
                LoggedRequest(request.method, path, request.query_string.decode("latin-1"), status, user)
            )

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except DroppedConnection:
            # Close the socket under the server: the client sees a reset/EOF, no status line.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            # Writing the status line now fails with a broken pipe, which the server treats
            # as a dropped connection (no traceback, no response).
            start_response("500 Internal Server Error", [])
            return [b""]
        finally:
            request.close()  # multipart parts spooled to temporary files
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = request.path
        cp = self.config.context_path
        if cp and (path == cp or path.startswith(cp + "/")):
            path = path[len(cp) :] or "/"
        elif cp:
            self._record(request, path, 404, "")
            return Response(status_page("Not Found"), status=404, mimetype="text/html")
        if self.knobs.latency_ms:
            time.sleep(self.knobs.latency_ms / 1000.0)
        fault = self.knobs.roll()
        if fault == "drop":
            self._record(request, path, 0, "")
            raise DroppedConnection(path)
        if fault == "503":
            self._record(request, path, 503, "")
            return Response(status_page("Service Unavailable"), status=503, mimetype="text/html")
        if fault == "429":
            self._record(request, path, 429, "")
            r = Response(status_page("Too Many Requests"), status=429, mimetype="text/html")
            r.headers["Retry-After"] = "1"
            return r

        match = self._match(path, request.method)
        login = self.auth.authenticate(request)
        if login.denial is not None:
            self._record(request, path, login.denial.status_code, "")
            return login.denial
        public = isinstance(match, tuple) and match[0].public
        if not login.user and not public:
            denial = self.auth.unauthenticated(request)
            self._record(request, path, denial.status_code, "")
            return denial
        sid, new_session = login.session_id, False
        if login.user and not sid:  # a successful Basic login creates a server session
            sid, new_session = self.auth.new_session(login.user), True
        if isinstance(match, Response):
            response = match
        else:
            route, values = match
            response = self._dispatch(request, path, login.user, sid, route, values)
        if new_session and not response.headers.get("Set-Cookie"):
            session_cookie(response, sid)
        if request.method in _MUTATING and response.status_code < 400:
            self.store.changed()
        self._record(request, path, response.status_code, login.user)
        return response

    def _match(self, path: str, method: str) -> tuple[Route, dict[str, Any]] | Response:
        adapter = self._url_map.bind("emulator", path_info=path)
        try:
            endpoint, values = adapter.match(path, method=method)
        except MethodNotAllowed:
            return XnatHTTPError(405, "Method Not Allowed").response()
        except NotFound:
            return XnatHTTPError(404, "The server has not found anything matching the request URI").response()
        except HTTPException as e:  # e.g. a redirect for a trailing slash
            return XnatHTTPError(e.code or 400, e.description or "Bad Request").response()
        return self._handlers[endpoint], dict(values)

    def _dispatch(
        self, request: Request, path: str, user: str, sid: str, route: Route, values: dict[str, Any]
    ) -> Response:
        params: MultiDict[str, str] = MultiDict()
        form_types: tuple[str, ...] = ("application/x-www-form-urlencoded", "multipart/form-data")
        if route.options.get("raw_body"):
            # The route reads the body itself: a "form" body there is an upload (curl
            # --data-binary sends a zip as x-www-form-urlencoded), multipart stays a form.
            form_types = ("multipart/form-data",)
        try:
            if request.mimetype in form_types:
                for k, v in request.form.items(multi=True):
                    params.add(k, v)
        except RequestEntityTooLarge:
            return XnatHTTPError(413, "Request entity too large").response()
        for k in request.args:
            params.setlist(k, request.args.getlist(k))  # query parameters override the body
        prefix = "/REST" if path.startswith("/REST") else "/data"
        ctx = Ctx(request, self.store, self.config, user, params, prefix, sid, self.auth)
        try:
            return route.handler(ctx, **values)
        except XnatHTTPError as e:
            return e.response()
        except HTTPException as e:  # werkzeug's own limits (body too large, bad multipart ...)
            return XnatHTTPError(e.code or 400, e.description or "Bad Request").response()
        except DroppedConnection:
            raise
        except Exception:  # the emulator must never crash on input; answer as Restlet would
            log.exception("unhandled error in %s %s", request.method, path)
            return XnatHTTPError(500, "Internal Server Error").response()
