"""How to reach a server: URL, credentials, TLS, timeouts and retry policy. Built by the CLI
(the only layer that reads the environment) and handed to the client."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from xsync.errors import UsageError


@dataclass(frozen=True)
class Credentials:
    """A user name and secret (password, or an alias token's secret). The secret never
    appears in repr, logs or errors."""

    user: str
    secret: str = field(repr=False)
    source: str = "option"  # option | environment | netrc

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, source={self.source!r})"


# The longest Retry-After xsync waits for. A server asking for longer (a 429 with an hour's wait)
# gets no retry at all: its answer is the error, said at once, rather than a run stalled for what
# it asked or silently cut short. 30 s also caps the exponential backoff.
MAX_RETRY_AFTER = 30.0
# With --timeout T, one request stops retrying RETRY_BUDGET_TIMEOUTS x T seconds after it first
# failed (never more than the default 120 s): whoever asks for a short timeout wants a quick
# answer from a dead or failing server too, not the 16 s the default backoff takes.
RETRY_BUDGET_TIMEOUTS = 3


@dataclass(frozen=True)
class RetryPolicy:
    """Retries (transport.py says exactly which): idempotent requests on lost connections,
    timeouts and 429/502/503/504; any request on a refused connection, a few times; never a
    host name that does not resolve, a TLS failure, or a POST that reached the server."""

    attempts: int = 5  # retries after the first try
    backoff: float = 0.5  # seconds; doubled each retry, with jitter
    backoff_max: float = MAX_RETRY_AFTER
    budget: float = 120.0  # seconds one request may spend retrying in total
    refused_attempts: int = 3  # retries of a refused connection: about 3.5 s with the backoff
    timeout_attempts: int = 2  # retries after a timeout: each try may take the whole timeout


def retry_for_timeout(timeout: float) -> RetryPolicy:
    """The retry policy under `--timeout timeout`: the default, with a budget of
    RETRY_BUDGET_TIMEOUTS timeouts when that is shorter."""
    default = RetryPolicy()
    return RetryPolicy(budget=min(default.budget, RETRY_BUDGET_TIMEOUTS * timeout))


@dataclass(frozen=True)
class ConnectionSettings:
    server: str  # base URL, with or without a context path: https://host or https://host/xnat
    credentials: Credentials | None = None
    verify: bool | str = True  # True, False (--insecure) or a CA bundle path (--ca-bundle)
    connect_timeout: float = 10.0
    read_timeout: float = 300.0  # each wait for bytes, and (client.py) for a whole body after its headers
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pool_size: int = 10  # connections kept per host; sized for concurrent apply

    @property
    def base_url(self) -> str:
        return normalize_server_url(self.server)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""


def normalize_server_url(server: str) -> str:
    """`https://host/`, `https://host/xnat/data` -> `https://host/xnat` (no trailing slash, no
    `/data` suffix). The scheme must be written: guessing one sends a password over plain HTTP,
    or blames TLS for a server that speaks HTTP."""
    text = server.strip()
    if not text:
        raise UsageError("no XNAT server given (use --server, XNAT_HOST or `server:` in the spec)")
    if "://" not in text:
        raise UsageError(
            f"the server URL {_shown(text)} has no scheme: write "
            f"https://{_shown(text)} (or http://{_shown(text)} for a server without TLS, such as the emulator)"
        )
    try:
        parts = urlsplit(text)
        port = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError:
        raise UsageError(
            "not a valid server URL (check the host, the brackets of an IPv6 address and the port)"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) server URL: {redact_url(server)}")
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            "the server URL must not hold credentials: use --user/--password, XNAT_USER/XNAT_PASS or ~/.netrc"
        )
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in (parts.hostname or ""):  # IPv6 literal
        netloc = f"[{parts.hostname}]" + (f":{port}" if port else "")
    path = parts.path.rstrip("/")
    for suffix in ("/data", "/REST"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def redact_url(url: str) -> str:
    """The URL with any user-info removed and query values hidden."""
    parts = urlsplit(url)
    host = bracketed(parts.hostname or "")
    try:
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        host += ":?"
    query = "&".join(p.split("=", 1)[0] + ("=…" if "=" in p else "") for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def bracketed(host: str) -> str:
    """A host as it is written in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def _shown(text: str) -> str:
    """A scheme-less server as messages show it: without any user-info or query values."""
    return redact_url("//" + text).removeprefix("//")
