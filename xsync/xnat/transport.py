"""The HTTP session under the client: connection pooling, TLS verification, and retries that
are safe — through urllib3's Retry rather than a hand-made loop.

What is retried, and how long (the budget a user can count on; docs/connecting.md tables it):
- idempotent requests (GET, HEAD, PUT, DELETE) on a dropped or reset connection, a read
  timeout, 429, 502, 503 and 504: up to `RetryPolicy.attempts` retries, exponential backoff with
  jitter, `Retry-After` honoured up to MAX_RETRY_AFTER (a longer one ends the request at once);
- any request, POST included, when the connection was never made (nothing was sent): refused
  or unreachable, `RetryPolicy.refused_attempts` retries (a server restarting: a few seconds);
- timeouts, fewer: each try waits the whole --timeout; `RetryPolicy.timeout_attempts` retries
  each of connecting and of waiting for an answer;
- never: a host name that does not resolve, a TLS failure (none of them heals by waiting), a
  POST that reached the server (the import service is not idempotent).
No retry starts once `RetryPolicy.budget` seconds have passed since a request first failed, and
no wait runs past that (the CLI shortens the budget to 3 x --timeout). Every retry is announced
through `on_retry` before its wait.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    InsecureRequestWarning,
    InvalidHeader,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    SSLError,
)
from urllib3.util.retry import Retry

from xsync.xnat.settings import MAX_RETRY_AFTER, ConnectionSettings, RetryPolicy

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# (retry number, retries allowed, why, seconds before it): the CLI prints it on stderr
RetryNotice = Callable[[int, int, str, float], None]


def causes(error: BaseException | None) -> list[BaseException]:
    """`error` and what it wraps, outermost first: urllib3's `reason`, requests' first argument,
    `raise ... from`, and the exception being handled when it was raised."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        reason = getattr(error, "reason", None)
        first = error.args[0] if error.args else None
        wrapped = next((e for e in (reason, first) if isinstance(e, BaseException)), None)
        error = wrapped or error.__cause__ or error.__context__
    return chain


def failure_kind(error: BaseException | None) -> str:
    """What went wrong on the way to the server: dns, refused, certificate (TLS verification),
    tls (any other handshake failure, such as HTTPS to an HTTP port), unreachable (no route, no
    network), connect-timeout, timeout (connected, but no answer) or dropped."""
    chain = causes(error)
    for kind, types in _KINDS:
        if any(isinstance(e, types) for e in chain):
            return kind
    return "dropped"


# Most specific first: a certificate error is also an SSL error, and both are OSErrors; urllib3's
# NameResolutionError is a NewConnectionError, which is a ConnectTimeoutError.
_KINDS: tuple[tuple[str, type[BaseException] | tuple[type[BaseException], ...]], ...] = (
    ("dns", NameResolutionError),
    ("certificate", ssl.SSLCertVerificationError),
    ("tls", (ssl.SSLError, SSLError, requests.exceptions.SSLError)),
    ("refused", ConnectionRefusedError),
    ("unreachable", NewConnectionError),  # no route to the host, network down: said at once
    ("connect-timeout", (urllib3.exceptions.ConnectTimeoutError, requests.exceptions.ConnectTimeout)),
    ("timeout", (TimeoutError, urllib3.exceptions.TimeoutError, requests.exceptions.Timeout)),
)


_NEVER_RETRIED = frozenset({"dns", "certificate", "tls"})  # none of them heals by waiting
_WHY = {
    "refused": "the connection was refused",
    "unreachable": "the host was unreachable",
    "connect-timeout": "no connection in time",
    "timeout": "no answer in time",
    "dropped": "the connection was lost",
}


class BudgetedRetry(Retry):
    """urllib3's Retry, with the policy above: a time budget per request, smaller allowances for
    refused connections and timeouts, no retry of what cannot heal, a notice before every wait."""

    def __init__(self, *args: Any, budget: float | None = None, started: float | None = None,
                 allowances: Mapping[str, int] | None = None, on_retry: RetryNotice | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.started = started
        self.allowances = dict(allowances or {})  # retries left, for the kinds that have their own
        self.on_retry = on_retry

    def new(self, **kw: Any) -> BudgetedRetry:
        retry: BudgetedRetry = super().new(**kw)
        retry.budget, retry.started = self.budget, self.started
        retry.allowances, retry.on_retry = dict(self.allowances), self.on_retry
        return retry

    def _left(self) -> float | None:
        if self.budget is None or self.started is None:
            return None
        return max(0.0, self.budget - (time.monotonic() - self.started))

    def get_backoff_time(self) -> float:
        """The backoff, never past the end of the budget."""
        left = self._left()
        backoff = super().get_backoff_time()
        return backoff if left is None else min(backoff, left)

    def get_retry_after(self, response: Any) -> float | None:
        """The server's Retry-After, but never longer than the backoff cap or what is left of the
        budget (`increment` refuses to retry at all past the cap). One that cannot be read (a
        word, a number of 5,000 digits) counts as absent: the backoff applies."""
        wanted = self._asked(response)
        if wanted is None:
            return None
        left = self._left()
        return min(wanted, self.backoff_max if left is None else min(self.backoff_max, left))

    def _asked(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> BudgetedRetry:
        error = kwargs.get("error")
        response = kwargs.get("response")
        kind = failure_kind(error) if error is not None else ""

        def give_up() -> MaxRetryError:
            return MaxRetryError(kwargs.get("_pool"), url or "", reason=error)  # type: ignore[arg-type]

        if kind in _NEVER_RETRIED:
            raise give_up()
        asked = self._asked(response) if response is not None else None
        if asked is not None and asked > MAX_RETRY_AFTER:
            raise give_up()  # urllib3 then returns this answer: the client's error quotes the wait
        started = self.started if self.started is not None else time.monotonic()
        allowances = dict(self.allowances)
        if kind in allowances:
            if allowances[kind] <= 0:
                raise give_up()
            allowances[kind] -= 1
        retry: BudgetedRetry = super().increment(method, url, *args, **kwargs)
        retry.started, retry.allowances = started, allowances
        if self.budget is not None and time.monotonic() - started > self.budget:
            raise give_up()
        if self.on_retry is not None:
            number = len(retry.history)
            left = retry.total or 0
            allowed = number + (min(allowances[kind], left) if kind in allowances else left)
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
        allowances={
            "refused": policy.refused_attempts,
            "unreachable": policy.refused_attempts,
            "timeout": policy.timeout_attempts,
            "connect-timeout": policy.timeout_attempts,
        },
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
