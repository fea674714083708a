"""The HTTP session under the client: connection pooling, TLS verification, and retries that
are safe (idempotent methods only, exponential backoff with jitter, Retry-After honoured,
a time budget per request) — all through urllib3's Retry rather than a hand-made loop."""

from __future__ import annotations

import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning, MaxRetryError
from urllib3.util.retry import Retry

from xsync.xnat.settings import ConnectionSettings, RetryPolicy

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class BudgetedRetry(Retry):
    """urllib3 Retry that also gives up once a request has spent `budget` seconds retrying."""

    def __init__(self, *args: Any, budget: float | None = None, started: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.started = started

    def new(self, **kw: Any) -> BudgetedRetry:
        retry: BudgetedRetry = super().new(**kw)
        retry.budget = self.budget
        retry.started = self.started
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

    def increment(self, *args: Any, **kwargs: Any) -> BudgetedRetry:
        started = self.started if self.started is not None else time.monotonic()
        retry: BudgetedRetry = super().increment(*args, **kwargs)
        retry.started = started
        if self.budget is not None and time.monotonic() - started > self.budget:
            raise MaxRetryError(kwargs.get("_pool"), kwargs.get("url") or "", reason=kwargs.get("error"))  # type: ignore[arg-type]
        return retry


def make_retry(policy: RetryPolicy) -> BudgetedRetry:
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
    )


def build_session(settings: ConnectionSettings) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=settings.pool_size, max_retries=make_retry(settings.retry))
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
