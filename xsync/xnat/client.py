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
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import requests

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
from xsync.xnat.settings import ConnectionSettings, redact_url
from xsync.xnat.transport import build_session

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
    def __init__(self, settings: ConnectionSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self.session = session if session is not None else build_session(settings)
        self._logged_in = False
        self.request_count = 0  # HTTP requests sent (retries inside urllib3 not counted)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> XnatClient:
        """Log in once and keep the JSESSIONID cookie for the rest of the run."""
        creds = self.settings.credentials
        auth = (creds.user, creds.secret) if creds else None
        response = self._send("GET", "/data/JSESSION", auth=auth)
        if response.status_code == 401:
            who = f"user {creds.user}" if creds else "anonymous access"
            raise AuthenticationError(
                f"login failed for {who} at {self.settings.host}",
                method="GET",
                url=self._shown_url("/data/JSESSION"),
                status=401,
            )
        if response.status_code != 200:
            self._raise_for(response, "GET", "/data/JSESSION")
        self._logged_in = True
        return self

    def close(self) -> None:
        try:
            if self._logged_in:
                self._send("DELETE", "/data/JSESSION")
        except RemoteError as e:  # closing is best effort; the server expires sessions anyway
            log.debug("could not close the XNAT session: %s", e)
        finally:
            self._logged_in = False
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
        response = self._send(method, path, params=params, data=data, headers=headers, stream=stream)
        if response.status_code == 401 and self._logged_in and self.settings.credentials:
            log.debug("XNAT session expired; logging in again")
            self._logged_in = False
            self.open()
            response = self._send(method, path, params=params, data=data, headers=headers, stream=stream)
        if response.status_code not in ok:
            self._raise_for(response, method, path, params)
        return response

    def get_json(self, path: str, params: Params = None) -> Any:
        merged = [("format", "json"), *_pairs(params)]
        response = self.request("GET", path, params=merged)
        try:
            return response.json()
        except ValueError as e:
            raise ServerError(
                "the server answered with something that is not JSON",
                method="GET",
                url=self._shown_url(path, merged),
                status=response.status_code,
            ) from e

    def listing(self, path: str, params: Params = None) -> list[dict[str, str]]:
        """The rows of an XNAT table listing (`ResultSet.Result`)."""
        body = self.get_json(path, params)
        try:
            rows = body["ResultSet"]["Result"]
        except (KeyError, TypeError) as e:
            raise ServerError(
                "the listing has no ResultSet.Result", method="GET", url=self._shown_url(path, params)
            ) from e
        if not isinstance(rows, list):
            raise ServerError("ResultSet.Result is not a list", method="GET", url=self._shown_url(path, params))
        return rows

    # -- internals -------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = self.base_url + path
        self.request_count += 1
        try:
            return self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                stream=stream,
                allow_redirects=False,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            )
        except requests.exceptions.SSLError as e:
            raise TransportError(
                f"TLS verification failed for {self.settings.host} (use --ca-bundle PATH for a private "
                "certificate authority, or --insecure to skip verification)",
                method=method,
                url=self._shown_url(path, params),
            ) from _scrub(e)
        except requests.exceptions.Timeout as e:
            raise TransportError(
                f"no answer from {self.settings.host} in time", method=method, url=self._shown_url(path, params)
            ) from _scrub(e)
        except requests.exceptions.RequestException as e:
            raise TransportError(
                f"could not reach {self.settings.host}: {_reason(e)}",
                method=method,
                url=self._shown_url(path, params),
            ) from _scrub(e)

    def _shown_url(self, path: str, params: Params = None) -> str:
        query = "&".join(f"{k}={v}" for k, v in _pairs(params))
        return redact_url(self.base_url + path + (f"?{query}" if query else ""))

    def _raise_for(self, response: requests.Response, method: str, path: str, params: Params = None) -> None:
        status = response.status_code
        message = xnat_message(response)
        url = self._shown_url(path, params)
        if status == 401:
            user = self.settings.credentials.user if self.settings.credentials else "anonymous"
            raise AuthenticationError(
                f"login failed for user {user} at {self.settings.host}", method=method, url=url, status=status
            )
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


def _pairs(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)


def _reason(e: Exception) -> str:
    """A short cause without URLs (which could carry credentials if a caller put them there)."""
    text = str(e.args[0]) if e.args else type(e).__name__
    for marker in ("NewConnectionError", "RemoteDisconnected", "ConnectionResetError", "Max retries exceeded"):
        if marker in text:
            return {
                "NewConnectionError": "connection refused",
                "RemoteDisconnected": "the connection was closed without an answer",
                "ConnectionResetError": "the connection was reset",
                "Max retries exceeded": "gave up after retrying",
            }[marker]
    return type(e).__name__


def _scrub(e: Exception) -> Exception:
    """The cause kept for --debug tracebacks, stripped of the request (and its headers)."""
    if isinstance(e, requests.exceptions.RequestException):
        e.request = None
        e.response = None
    return e
