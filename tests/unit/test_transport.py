"""The retry policy's pure parts: which failure is which (as urllib3 chains them), and a backoff
never running past the budget."""

from __future__ import annotations

import errno
import socket
import ssl
import time

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from xsync.xnat.settings import RetryPolicy
from xsync.xnat.transport import failure_kind, make_retry


def wrapped(reason: BaseException) -> requests.exceptions.RequestException:
    """As requests raises it: its exception around urllib3's MaxRetryError around the cause."""
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/data/JSESSION", reason=reason))  # type: ignore[arg-type]


def new_connection(os_error: OSError) -> NewConnectionError:
    try:
        raise NewConnectionError(None, f"Failed to establish a new connection: {os_error}") from os_error  # type: ignore[arg-type]
    except NewConnectionError as e:
        return e


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (wrapped(NameResolutionError("x.invalid", None, socket.gaierror(-2, "Name or service not known"))), "dns"),  # type: ignore[arg-type]
        (wrapped(new_connection(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))), "refused"),
        (wrapped(new_connection(OSError(errno.EHOSTUNREACH, "No route to host"))), "unreachable"),
        (wrapped(new_connection(OSError(errno.ENETUNREACH, "Network is unreachable"))), "unreachable"),
        (wrapped(ConnectTimeoutError(None, "timed out")), "connect-timeout"),
        (wrapped(ReadTimeoutError(None, "/", "Read timed out.")), "timeout"),  # type: ignore[arg-type]
        (wrapped(SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))), "certificate"),
        (wrapped(SSLError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"))), "tls"),
        (wrapped(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))), "dropped"),
    ],
    ids=["dns", "refused", "no-route", "no-network", "connect-timeout", "read-timeout", "certificate", "tls", "reset"],
)
def test_each_failure_is_named_for_its_cause(error: BaseException, kind: str) -> None:
    assert failure_kind(error) == kind


def test_a_backoff_never_waits_past_the_budget() -> None:
    retry = make_retry(RetryPolicy(attempts=5, backoff=10.0, backoff_max=30.0, budget=2.0))
    retry = retry.increment("GET", "/", error=ProtocolError("dropped"))
    retry = retry.increment("GET", "/", error=ProtocolError("dropped"))
    assert retry.get_backoff_time() <= 2.0  # 10 s of backoff wanted; 2 s of budget left at most
    retry.started = time.monotonic() - 5.0  # the budget is spent
    assert retry.get_backoff_time() == 0.0
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/", error=ProtocolError("dropped"))


def test_what_cannot_heal_is_never_retried() -> None:
    retry = make_retry(RetryPolicy())
    for error in (NameResolutionError("h", None, socket.gaierror(-2, "x")), SSLError(ssl.SSLError(1, "x"))):  # type: ignore[arg-type]
        with pytest.raises(MaxRetryError):
            retry.increment("GET", "/", error=error)
