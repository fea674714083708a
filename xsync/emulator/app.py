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
import re
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xsync.emulator import drops
from xsync.emulator.auth import Authenticator, session_cookie
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.http import Ctx, Route, XnatHTTPError, status_page
from xsync.emulator.knobs import Knobs, ThrottledInput
from xsync.emulator.store import Store

__all__ = ["DroppedConnection", "EmulatorApp", "Knobs", "LoggedRequest"]

log = logging.getLogger(__name__)

_MUTATING = frozenset({"PUT", "POST", "DELETE"})
_JSESSIONID_PARAM = re.compile(r";jsessionid=[^/;?]*", re.IGNORECASE)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without the context path
    query: str
    status: int  # 0 for a dropped connection
    user: str
    fault: str = ""  # the fault knob's kind that hit this request ("503", "drop", "drop_after" ...)

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string, decoded."""
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def columns(self) -> tuple[str, ...]:
        """What a listing's `columns=` asked for, in order (empty when not given)."""
        value = ",".join(self.params.get("columns", []))
        return tuple(c.strip() for c in value.split(",") if c.strip())


class DroppedConnection(Exception):
    """Raised to make the server close the connection without answering."""


_MAPS: dict[tuple[object, ...], tuple[Map, dict[str, Route]]] = {}


class EmulatorApp:
    def __init__(self, config: EmulatorConfig, store: Store, routes: Iterable[Route]) -> None:
        self.config = config
        self.store = store
        self.auth = Authenticator(config)
        self.knobs = Knobs(config.latency_ms, config.fault_rate, config.seed, config.fault_kinds, config.quirks)
        self._idle = threading.Condition()
        self._inflight = 0  # requests being handled
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
    def _record(self, request: Request, path: str, status: int, user: str, fault: str = "") -> None:
        with self._log_lock:
            self.requests.append(
                LoggedRequest(request.method, path, request.query_string.decode("latin-1"), status, user, fault)
            )

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._idle:
            self._inflight += 1
        try:
            return self._answer(environ, start_response)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (a clean stop lets them finish, as Tomcat's
        does, so that the state saved holds what they did); False after `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _answer(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.knobs.upload_rate is not None and environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            environ["wsgi.input"] = ThrottledInput(environ["wsgi.input"], self.knobs)
        request = Request(environ)
        try:
            response = self._handle(request)
        except DroppedConnection:
            # Close the socket under the server, as a server that goes away does: the client
            # sees a reset or EOF and no status line, also while it is still sending a body.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    # No lingering: unread body bytes make the close a reset at once.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
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
        # Tomcat takes a `;jsessionid=` path parameter (the login redirect adds one) off the URI
        # before mapping it.
        path = _JSESSIONID_PARAM.sub("", request.path)
        cp = self.config.context_path
        if cp and path == cp:
            # Tomcat's mapper sends the bare context path on to the context root (a relative
            # Location, Tomcat's default), before any filter runs.
            self._record(request, path, 302, "")
            return Response("", status=302, headers={"Location": cp + "/"})
        if cp and path.startswith(cp + "/"):
            path = path[len(cp) :] or "/"
        elif cp:
            self._record(request, path, 404, "")
            return Response(status_page("Not Found"), status=404, mimetype="text/html")
        if self.knobs.latency_ms:
            time.sleep(self.knobs.latency_ms / 1000.0)
        fault = self.knobs.roll(request.method, path)
        if fault == "drop":
            self._record(request, path, 0, "", fault)
            raise DroppedConnection(path)
        if fault == "503":
            self._record(request, path, 503, "", fault)
            return Response(status_page("Service Unavailable"), status=503, mimetype="text/html")
        if fault == "429":
            self._record(request, path, 429, "", fault)
            r = Response(status_page("Too Many Requests"), status=429, mimetype="text/html")
            r.headers["Retry-After"] = "1"
            return r
        response, user = self._serve(request, path)
        if fault == "drop_after":
            response.close()  # handled in full; the answer is never sent
            self._record(request, path, 0, user, fault)
            raise DroppedConnection(path)
        self._record(request, path, response.status_code, user)
        return response

    def _serve(self, request: Request, path: str) -> tuple[Response, str]:
        """Spring's filters, then Restlet's routing and the resource: (answer, user)."""

        match = self._match(path, request.method)
        login = self.auth.authenticate(request)
        if login.denial is not None:
            return login.denial, ""
        public = isinstance(match, tuple) and match[0].public
        if not login.user and not public:
            return self.auth.unauthenticated(request, path, login.session_id), ""
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
        return response, login.user

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
        request.environ[drops.ENVIRON_KEY] = self.knobs.drop_predicate(request.method, path)
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
