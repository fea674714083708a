"""The HTTP session under the client: connection pooling, TLS verification, and retries that
are safe — through urllib3's Retry rather than a hand-made loop.

What is retried, and how long (the budget a user can count on):
- idempotent requests (GET, HEAD, PUT, DELETE) on a dropped or reset connection, a read
  timeout, 429, 502, 503 and 504: up to `RetryPolicy.attempts` retries, exponential backoff with
  jitter, `Retry-After` honoured but capped, never past `RetryPolicy.budget` seconds in all;
- a refused connection (a server restarting), for any method — nothing was sent: up to
  `RetryPolicy.refused_attempts` retries, a few seconds in all;
- never: a host name that does not resolve, a TLS failure (neither fixes itself), a POST that
  reached the server (the import service is not idempotent).
Every retry is announced through `on_retry` before its wait, so nothing waits in silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    InsecureRequestWarning,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

from xsync.xnat.settings import ConnectionSettings, RetryPolicy

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# (retry number, retries allowed, why, seconds before it): the CLI prints it on stderr
RetryNotice = Callable[[int, int, str, float], None]


def failure_kind(error: BaseException | None) -> str:
    """What went wrong on the way to the server: dns, refused, tls, timeout or dropped."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, NameResolutionError):
            return "dns"
        if isinstance(error, SSLError | requests.exceptions.SSLError):
            return "tls"
        if isinstance(error, ConnectionRefusedError):
            return "refused"
        if isinstance(error, NewConnectionError) and "refused" in str(error).lower():
            return "refused"
        if isinstance(error, TimeoutError | ReadTimeoutError | requests.exceptions.Timeout):
            return "timeout"
        error = getattr(error, "reason", None) or error.__cause__ or error.__context__
    return "dropped"


_WHY = {"refused": "the connection was refused", "timeout": "no answer in time", "dropped": "the connection was lost"}


class BudgetedRetry(Retry):
    """urllib3's Retry, with the policy above: a time budget per request, refused connections
    counted apart, no retry of what cannot heal, and a notice before every wait."""

    def __init__(self, *args: Any, budget: float | None = None, started: float | None = None,
                 refused_left: int = 0, on_retry: RetryNotice | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.started = started
        self.refused_left = refused_left
        self.on_retry = on_retry

    def new(self, **kw: Any) -> BudgetedRetry:
        retry: BudgetedRetry = super().new(**kw)
        retry.budget, retry.started = self.budget, self.started
        retry.refused_left, retry.on_retry = self.refused_left, self.on_retry
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        """The server's Retry-After, but never longer than the backoff cap or what is left of the
        budget: a server asking for 600 s must not stall a plan for ten minutes per retry."""
        wanted = super().get_retry_after(response)
        if wanted is None:
            return None
        limit = self.backoff_max
        if self.budget is not None and self.started is not None:
            limit = min(limit, max(0.0, self.budget - (time.monotonic() - self.started)))
        return min(wanted, limit)

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> BudgetedRetry:
        error = kwargs.get("error")
        response = kwargs.get("response")
        kind = failure_kind(error) if error is not None else ""
        if kind in ("dns", "tls"):
            raise MaxRetryError(kwargs.get("_pool"), url or "", reason=error)  # type: ignore[arg-type]
        started = self.started if self.started is not None else time.monotonic()
        refused_left = self.refused_left
        if kind == "refused":
            if refused_left <= 0:
                raise MaxRetryError(kwargs.get("_pool"), url or "", reason=error)  # type: ignore[arg-type]
            refused_left -= 1
        retry: BudgetedRetry = super().increment(method, url, *args, **kwargs)
        retry.started, retry.refused_left = started, refused_left
        if self.budget is not None and time.monotonic() - started > self.budget:
            raise MaxRetryError(kwargs.get("_pool"), url or "", reason=error)  # type: ignore[arg-type]
        if self.on_retry is not None:
            number = len(retry.history)
            allowed = (self.total or 0) + len(self.history) if kind != "refused" else number + refused_left
            why = f"HTTP {response.status}" if response is not None and not kind else _WHY.get(kind, kind)
            wait = retry.get_retry_after(response) if response is not None else None
            self.on_retry(number, allowed, why, wait if wait is not None else retry.get_backoff_time())
        return retry


def make_retry(policy: RetryPolicy, on_retry: RetryNotice | None = None) -> BudgetedRetry:
    return BudgetedRetry(
        total=policy.attempts,
        connect=policy.attempts,
        read=policy.attempts,
        status=policy.attempts,
        other=0,
        allowed_methods=IDEMPOTENT,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff,
        backoff_max=policy.backoff_max,
        backoff_jitter=policy.backoff / 2,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 5xx response is returned and mapped to a typed error
        raise_on_redirect=False,
        budget=policy.budget,
        refused_left=policy.refused_attempts,
        on_retry=on_retry,
    )


def build_session(settings: ConnectionSettings, on_retry: RetryNotice | None = None) -> requests.Session:
    session = requests.Session()
    retry = make_retry(settings.retry, on_retry)
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=settings.pool_size, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = settings.verify
    if settings.verify is False:
        # The user asked for --insecure; the CLI says so once instead of urllib3 on every request.
        urllib3.disable_warnings(InsecureRequestWarning)
    session.trust_env = False  # proxies and CA bundles come from settings, read by the CLI
    session.headers["User-Agent"] = _user_agent()
    return session


def _user_agent() -> str:
    from xsync import __version__

    # Not browser-like, so XNAT answers 401 (not a login redirect) and skips CSRF checks.
    return f"xsync/{__version__} python-requests/{requests.__version__}"  # type: ignore[attr-defined]
