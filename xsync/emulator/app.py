"""The emulator's WSGI application: faults and latency, the request log, authentication, and
dispatch of `/data`, `/REST` (and `/archive`) routes to the route modules."""

from __future__ import annotations

import base64
import logging
import random
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xsync.emulator.config import EmulatorConfig
from xsync.emulator.http import Ctx, Route, XnatHTTPError, status_page, tomcat_page
from xsync.emulator.store import Store

log = logging.getLogger(__name__)

_BROWSER_AGENTS = ("MSIE", "Mozilla", "AppleWebKit", "Opera")
SESSION_COOKIE = "JSESSIONID"


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without the context path
    query: str
    status: int  # 0 for a dropped connection
    user: str


class DroppedConnection(Exception):
    """Raised to make the server close the connection without answering."""


class EmulatorApp:
    def __init__(self, config: EmulatorConfig, store: Store, routes: Iterable[Route]) -> None:
        self.config = config
        self.store = store
        self.sessions: dict[str, str] = {}  # JSESSIONID -> user
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._dice = random.Random(config.seed)
        self._dice_lock = threading.Lock()
        self._url_map, self._handlers = self._build_map(routes)

    # -- routing ---------------------------------------------------------------------------
    @staticmethod
    def _build_map(routes: Iterable[Route]) -> tuple[Map, dict[str, Route]]:
        rules = []
        handlers: dict[str, Route] = {}
        for i, r in enumerate(routes):
            endpoint = f"r{i}"
            handlers[endpoint] = r
            mounts = ["/data", "/REST"]
            if r.archive:
                mounts += ["/data/archive", "/REST/archive"]
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

    # -- faults ----------------------------------------------------------------------------
    def _fault(self) -> str | None:
        if self.config.fault_rate <= 0:
            return None
        with self._dice_lock:
            roll = self._dice.random()
            kind = self._dice.random()
        if roll >= self.config.fault_rate:
            return None
        return "503" if kind < 0.5 else "drop"

    # -- authentication --------------------------------------------------------------------
    def _authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        """The logged-in user, or the response Spring's filters would send instead."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                name, password = "", ""
            if "/" in name:  # provider/username
                name = name.split("/", 1)[1]
            if self.config.users.get(name) == password and name:
                return name, None
            body = tomcat_page(401, "Unauthorized", "Login attempt failed. Please try again.")
            return None, Response(body, status=401, mimetype="text/html")
        sid = request.cookies.get(SESSION_COOKIE)
        if sid and sid in self.sessions:
            return self.sessions[sid], None
        agent = request.headers.get("User-Agent", "")
        if any(a in agent for a in _BROWSER_AGENTS):
            r = Response("", status=302)
            r.headers["Location"] = f"{self.config.context_path}/app/template/Login.vm"
            return None, r
        r = Response(tomcat_page(401, "Unauthorized", "Unauthorized"), status=401, mimetype="text/html")
        r.headers["WWW-Authenticate"] = f'Basic realm="{self.config.site_id}"'
        return None, r

    def new_session(self, user: str) -> str:
        sid = secrets.token_hex(16).upper()
        self.sessions[sid] = user
        return sid

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except DroppedConnection:
            # Close the socket under the server: the client sees a reset/EOF, no status line.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # Writing the status line now fails with a broken pipe, which the server treats
            # as a dropped connection (no traceback, no response).
            start_response("500 Internal Server Error", [])
            return [b""]
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = request.path
        cp = self.config.context_path
        if cp and (path == cp or path.startswith(cp + "/")):
            path = path[len(cp) :] or "/"
        elif cp:
            self._record(request, path, 404, "")
            return Response(status_page("Not Found"), status=404, mimetype="text/html")
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000.0)
        fault = self._fault()
        if fault == "drop":
            self._record(request, path, 0, "")
            raise DroppedConnection(path)
        if fault == "503":
            self._record(request, path, 503, "")
            return Response(status_page("Service Unavailable"), status=503, mimetype="text/html")
        user, denial = self._authenticate(request)
        if denial is not None:
            self._record(request, path, denial.status_code, "")
            return denial
        assert user is not None
        response = self._dispatch(request, path, user)
        if SESSION_COOKIE not in request.cookies or request.cookies[SESSION_COOKIE] not in self.sessions:
            # A successful basic login creates a server session, as XNAT's does.
            if response.status_code < 400 and not response.headers.get("Set-Cookie"):
                sid = self.new_session(user)
                response.set_cookie(SESSION_COOKIE, sid, path="/", httponly=True)
        self._record(request, path, response.status_code, user)
        return response

    def _dispatch(self, request: Request, path: str, user: str) -> Response:
        adapter = self._url_map.bind("emulator", path_info=path)
        try:
            endpoint, values = adapter.match(path, method=request.method)
        except MethodNotAllowed:
            return XnatHTTPError(405, "Method Not Allowed").response()
        except NotFound:
            return XnatHTTPError(404, "The server has not found anything matching the request URI").response()
        except HTTPException as e:  # e.g. a redirect for a trailing slash
            return XnatHTTPError(e.code or 400, e.description or "Bad Request").response()
        route = self._handlers[endpoint]
        params: MultiDict[str, str] = MultiDict()
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for k, v in request.form.items(multi=True):
                params.add(k, v)
        for k in request.args:
            params.setlist(k, request.args.getlist(k))  # query parameters override the body
        prefix = "/REST" if path.startswith("/REST") else "/data"
        ctx = Ctx(request, self.store, self.config, user, params, prefix)
        try:
            return route.handler(ctx, **values)
        except XnatHTTPError as e:
            return e.response()
        except DroppedConnection:
            raise
        except Exception:  # the emulator must never crash on input; answer as Restlet would
            log.exception("unhandled error in %s %s", request.method, path)
            return XnatHTTPError(500, "Internal Server Error").response()
