"""XnatClient: authenticated requests to one XNAT server over one requests.Session.

One JSESSION per run: `open()` logs in once with Basic credentials (`GET /data/JSESSION`, as
pyxnat does: a GET, so a dropped connection or a 503 at login is retried like any read),
later requests carry only the cookie, `close()` invalidates it. Every failure becomes a typed
error from `xsync.errors` carrying the method, the URL without credentials or query values, the
status, and XNAT's own message (the `<h3>` of its status page).
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.auth import HTTPBasicAuth

from xsync.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    RemoteValidationError,
    ServerError,
    TransportError,
)
from xsync.xnat.body import BodyError, listing_rows, parse_json, read_body
from xsync.xnat.settings import MAX_RETRY_AFTER, ConnectionSettings, bracketed, redact_url
from xsync.xnat.transport import RetryNotice, build_session, causes, failure_kind

log = logging.getLogger(__name__)

_H3 = re.compile(r"<h3>(.*?)</h3>", re.DOTALL | re.IGNORECASE)
_TOMCAT_MESSAGE = re.compile(r"<b>Message</b>\s*(.*?)</p>", re.DOTALL | re.IGNORECASE)
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL | re.IGNORECASE)
_MAX_MESSAGE = 300

Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


def xnat_message(response: requests.Response) -> str:
    """XNAT's own explanation from an error body, short and single-line."""
    text = response.text if response.content else ""
    for pattern in (_H3, _TOMCAT_MESSAGE, _TITLE):
        m = pattern.search(text)
        if m and m.group(1).strip() and m.group(1).strip() != "Apache Tomcat":
            text = m.group(1)
            break
    else:
        if text.lstrip().startswith("<"):
            text = ""
    message = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    return message[:_MAX_MESSAGE] or (response.reason or f"HTTP {response.status_code}")


class XnatClient:
    def __init__(
        self,
        settings: ConnectionSettings,
        session: requests.Session | None = None,
        *,
        on_retry: RetryNotice | None = None,
    ) -> None:
        """`on_retry` hears of every retry before its wait (the CLI prints `retrying (2/5) ...`)."""
        self.settings = settings
        self.base_url = settings.base_url
        self.session = session if session is not None else build_session(settings, on_retry)
        self._login_lock = threading.Lock()
        self._login_generation = 0  # logins so far; 0: not logged in
        self._count_lock = threading.Lock()
        self.request_count = 0  # HTTP requests sent (retries inside urllib3 not counted)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> XnatClient:
        """Log in once and keep the JSESSIONID cookie for the rest of the run."""
        with self._login_lock:
            self._login()
        return self

    def _login(self) -> None:
        creds = self.settings.credentials
        # As UTF-8 bytes: requests would encode text as Latin-1 and fail on anything else, and
        # XNAT's Spring Security decodes Basic credentials as UTF-8.
        auth = HTTPBasicAuth(creds.user.encode(), creds.secret.encode()) if creds else None
        response = self._send("GET", "/data/JSESSION", auth=auth)
        if response.status_code != 200:
            self._raise_for(response, "GET", "/data/JSESSION")
        self._login_generation += 1

    def close(self) -> None:
        try:
            if self._login_generation:
                self._send("DELETE", "/data/JSESSION")
        except RemoteError as e:  # closing is best effort; the server expires sessions anyway
            log.debug("could not close the XNAT session: %s", e)
        finally:
            self._login_generation = 0
            self.session.close()

    def __enter__(self) -> XnatClient:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: Sequence[int] = (200, 201),
        stream: bool = False,
    ) -> requests.Response:
        """Send a request to `base_url + path` and return the response if its status is in
        `ok`; raise the matching typed error otherwise. A session that expired mid-run is
        renewed once."""
        generation = self._login_generation
        response = self._send(method, path, params=params, data=data, headers=headers, stream=stream)
        if response.status_code == 401 and generation and self.settings.credentials:
            # The server session expired. Threads that meet it at once log in once between them:
            # whoever comes second finds a newer login and just sends again.
            with self._login_lock:
                if self._login_generation == generation:
                    log.debug("XNAT session expired; logging in again")
                    self._login()
            response = self._send(method, path, params=params, data=data, headers=headers, stream=stream)
        if response.status_code not in ok:
            self._raise_for(response, method, path, params)
        return response

    def get_json(self, path: str, params: Params = None) -> Any:
        """The JSON of a GET, parsed within `body.py`'s bounds (rows, nesting)."""
        merged = [("format", "json"), *_pairs(params)]
        response = self.request("GET", path, params=merged)
        try:
            return parse_json(response.content)
        except BodyError as e:
            url = self._shown_url(path, merged)
            raise ServerError(str(e), method="GET", url=url, status=response.status_code) from None

    def listing(self, path: str, params: Params = None) -> list[dict[str, str]]:
        """The rows of an XNAT table listing (`ResultSet.Result`), checked: a list of objects of
        scalar cells, every cell a string."""
        body = self.get_json(path, params)
        try:
            return listing_rows(body)
        except BodyError as e:
            raise ServerError(str(e), method="GET", url=self._shown_url(path, params)) from None

    # -- internals -------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: HTTPBasicAuth | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = self.base_url + path
        with self._count_lock:
            self.request_count += 1
        try:
            # Always streamed: the body is read here, within a deadline and a size cap, not by
            # requests (which would hold a body of any size, for as long as it keeps coming).
            # Redirects are never followed: credentials and the session cookie go to base_url only.
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                stream=True,
                allow_redirects=False,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            )
        except requests.exceptions.RequestException as e:
            # `from None`: the library's own message quotes the URL with its query values, which
            # can hold a field being written (a birth date); the kind of failure is all we keep.
            raise TransportError(self._transport_message(e), method=method, url=self._shown_url(path, params)) from None
        if stream:
            return response
        try:
            content = read_body(response, deadline=self.settings.read_timeout)
        except BodyError as e:
            where = bracketed(self.settings.host)
            error = TransportError if e.transport else ServerError
            raise error(f"{e} (from {where})", method=method, url=self._shown_url(path, params),
                        status=response.status_code) from None  # fmt: skip
        response._content = content  # what requests itself does once it has read a body
        response._content_consumed = True
        return response

    def _transport_message(self, error: BaseException) -> str:
        """One line that names the cause: what failed, and what to do about it."""
        host = bracketed(self.settings.host)
        port = urlsplit(self.base_url).port
        where = f"{host}:{port}" if port else host
        kind = failure_kind(error)
        if kind == "dns":
            return f"cannot resolve the host name {host}: check the server URL (--server, XNAT_HOST or `server:`)"
        if kind == "refused":
            return f"connection refused by {where}: is XNAT running there, on that port?"
        if kind == "unreachable":
            return f"cannot connect to {where} ({_os_reason(error)}): check the host name and the network"
        if kind == "certificate":
            return (f"the TLS certificate of {where} could not be verified: use --ca-bundle PATH for a private "
                    "certificate authority, or --insecure to skip verification")  # fmt: skip
        if kind == "tls":
            return (f"the TLS handshake with {where} failed: does it speak HTTPS? (for a server without TLS, "
                    f"write http://{where})")  # fmt: skip
        if kind == "connect-timeout":
            seconds = self.settings.connect_timeout
            return f"no connection to {where} within {seconds:g} s: is the host up and the port open? (--timeout)"
        if kind == "timeout":
            seconds = self.settings.read_timeout
            return f"no answer from {where} within {seconds:g} s (--timeout sets how long to wait)"
        return f"the connection to {where} was lost before XNAT answered"

    def _login_message(self) -> str:
        """Why XNAT asked for a login, and how to give one. Names where the credentials came
        from, never the user (with an alias token that is half of a credential) or the secret."""
        creds, host = self.settings.credentials, self.settings.host
        if creds is None:
            return (f"XNAT at {host} needs a login: give --user and --password, XNAT_USER and XNAT_PASS, "
                    f"or a ~/.netrc entry for {host}")  # fmt: skip
        source = _SOURCES.get(creds.source, creds.source)
        return (f"login failed at {host}: XNAT refused the user and password from {source} (credentials come "
                f"from --user/--password, else XNAT_USER/XNAT_PASS, else a ~/.netrc entry for {host})")  # fmt: skip

    def _redirect_message(self, response: requests.Response) -> str:
        """A redirect is never followed (the credentials and the session cookie would go
        wherever it points): it names where it points, without user-info or query values."""
        target = redact_url(urljoin(response.url or self.base_url, response.headers["Location"]))
        return (f"the server redirected to {_printable(target)}; xsync does not follow redirects: if that "
                "is the XNAT server, give it as --server")  # fmt: skip

    def _shown_url(self, path: str, params: Params = None) -> str:
        query = "&".join(f"{k}={v}" for k, v in _pairs(params))
        return redact_url(self.base_url + path + (f"?{query}" if query else ""))

    def _raise_for(self, response: requests.Response, method: str, path: str, params: Params = None) -> None:
        status = response.status_code
        message = xnat_message(response)
        url = self._shown_url(path, params)
        if 300 <= status < 400 and response.headers.get("Location"):
            raise RemoteError(self._redirect_message(response), method=method, url=url, status=status)
        wait = response.headers.get("Retry-After", "").strip()
        if wait.isdigit() and len(wait) < 20 and int(wait) > MAX_RETRY_AFTER:
            message += f" (the server asked to wait {int(wait)} s; xsync waits {MAX_RETRY_AFTER:g} s at most)"
        if status == 401:
            raise AuthenticationError(self._login_message(), method=method, url=url, status=status)
        error: type[RemoteError]
        if status == 403:
            error = PermissionDeniedError
        elif status == 404:
            error = NotFoundError
        elif status == 409:
            error = ConflictError
        elif status in (400, 417, 422):
            error = RemoteValidationError
        elif status >= 500:
            error = ServerError
        else:
            error = RemoteError
        raise error(message, method=method, url=url, status=status)


_SOURCES = {"option": "--user/--password", "environment": "XNAT_USER/XNAT_PASS", "netrc": "~/.netrc (or NETRC)"}


def _printable(text: str) -> str:
    """Text from the server, as one printable line."""
    return text if text.isprintable() else ascii(text)[1:-1]


def _os_reason(error: BaseException) -> str:
    """The operating system's words for a failed connection ("No route to host"), never a URL."""
    errnos = [e.errno for e in causes(error) if isinstance(e, OSError) and e.errno]
    return os.strerror(errnos[0]) if errnos else "no connection"


def _pairs(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)
