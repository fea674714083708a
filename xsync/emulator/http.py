"""HTTP plumbing shared by every emulator route: XNAT-style errors, the per-request context and
the route table each route module contributes to.

Routes are written without the servlet prefix: `/projects/<P>/subjects`. The application mounts
each one under `/data` and `/REST`, and routes marked `archive=True` also under `/data/archive`
and `/REST/archive`, as XNATApplication does; `site_root=True` routes (`/xapi/...`) are
mounted as written.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from xsync.emulator.config import EmulatorConfig
from xsync.emulator.store import Store

_STATUS_PAGE = (
    "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n<h3>{message}</h3>"
    '<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html'
    '#sec10.4.10">here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n'
    "</p>\n</body>\n</html>"
)

_TOMCAT_PAGE = (
    '<!doctype html><html lang="en"><head><title>HTTP Status {status} – {reason}</title></head>'
    '<body><h1>HTTP Status {status} – {reason}</h1><hr class="line" /><p><b>Type</b> Status Report</p>'
    '<p><b>Message</b> {message}</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>'
)


def status_page(message: str) -> str:
    """Restlet's default status page, the body of almost every XNAT error under /data."""
    return _STATUS_PAGE.format(message=html.escape(message, quote=False))


def tomcat_page(status: int, reason: str, message: str) -> str:
    """Tomcat's error page, used by the Spring security filters (e.g. failed logins)."""
    return _TOMCAT_PAGE.format(status=status, reason=reason, message=html.escape(message, quote=False))


class XnatHTTPError(Exception):
    """Raise from a route to answer with an XNAT status page: `<h3>message</h3>`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        r = Response(status_page(self.message), status=self.status, mimetype="text/html")
        for k, v in self.headers.items():
            r.headers[k] = v
        return r


@dataclass
class Ctx:
    """What a route handler sees of one request."""

    request: Request
    store: Store
    config: EmulatorConfig
    user: str  # "" on a public route called without credentials
    params: MultiDict[str, str]  # query string, then form fields; query wins (XNAT applies it last)
    prefix: str  # "/data" or "/REST" as requested (URIs in responses always use /data)
    session_id: str = ""  # the JSESSIONID this request runs in (new when it logged in by Basic)
    services: Any = None  # the app's shared services (authenticator), for the auth routes

    @property
    def is_admin(self) -> bool:
        return self.user in self.config.admins

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def flag(self, name: str) -> bool:
        return (self.params.get(name) or "").lower() == "true"

    @property
    def format(self) -> str:
        return (self.params.get("format") or "").lower()


def text(body: str, status: int = 200, mimetype: str = "text/plain") -> Response:
    return Response(body, status=status, mimetype=mimetype)


def empty(status: int = 200) -> Response:
    return Response(b"", status=status)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status=status, mimetype="application/json")


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    rule: str  # werkzeug rule syntax, e.g. "/projects/<project>/subjects/<subject>"
    methods: tuple[str, ...]
    handler: Handler
    archive: bool = False  # also mounted under /archive
    options: dict[str, Any] = field(default_factory=dict)
    public: bool = False  # reachable without credentials (XNAT's unsecured extension routes)


class RouteTable:
    """A module's routes: `routes = RouteTable()` then `@routes.route(...)` on handlers."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        rule: str,
        methods: tuple[str, ...] = ("GET",),
        *,
        archive: bool = False,
        public: bool = False,
        raw_body: bool = False,
        site_root: bool = False,
    ) -> Callable[[Handler], Handler]:
        """`raw_body`: the handler reads the body itself (uploads), so a url-encoded body is not
        parsed as a form. `site_root`: the rule is mounted as it is, outside `/data` and
        `/REST` (XNAT's Spring `/xapi/...` API)."""

        def deco(fn: Handler) -> Handler:
            options: dict[str, Any] = {"raw_body": True} if raw_body else {}
            if site_root:
                options["site_root"] = True
            self.routes.append(Route(rule, methods, fn, archive, options, public=public))
            return fn

        return deco
