"""Where the server and credentials come from, and how URLs are shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsync.cli.settings import ConnectionOptions, resolve_connection
from xsync.errors import UsageError
from xsync.xnat.settings import Credentials, normalize_server_url, redact_url


def opts(**kw: object) -> ConnectionOptions:
    base: dict[str, object] = dict(server=None, user=None, password=None, ca_bundle=None, insecure=False, timeout=None)
    base.update(kw)
    return ConnectionOptions(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://xnat.example.org/", "https://xnat.example.org"),
        ("https://xnat.example.org/xnat/", "https://xnat.example.org/xnat"),
        ("http://127.0.0.1:8080/data", "http://127.0.0.1:8080"),
    ],
)
def test_normalize_server_url(given: str, expected: str) -> None:
    assert normalize_server_url(given) == expected


@pytest.mark.parametrize("given", ["127.0.0.1:8080", "xnat.example.org", "alice:s3cret@xnat.example.org/xnat"])
def test_a_server_without_scheme_is_a_usage_error_that_suggests_both(given: str) -> None:
    with pytest.raises(UsageError) as info:
        normalize_server_url(given)
    message = str(info.value)
    assert "has no scheme" in message and "https://" in message and "http://" in message
    assert "s3cret" not in message


def test_redact_url_hides_userinfo_and_query_values() -> None:
    shown = redact_url("https://alice:s3cret@host/data/projects/P/subjects/S?gender=female&xsiType=x")
    assert shown == "https://host/data/projects/P/subjects/S?gender=…&xsiType=…"
    assert "s3cret" not in shown and "alice" not in shown


def test_credentials_never_show_their_secret() -> None:
    c = Credentials("alice", "s3cret", "netrc")
    assert "s3cret" not in repr(c) and "s3cret" not in str(c)


def test_precedence_option_over_environment_over_netrc(tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine host login nuser password npass\n")
    netrc.chmod(0o600)
    env = {"XNAT_USER": "euser", "XNAT_PASS": "epass", "HOME": str(tmp_path)}
    s = resolve_connection(opts(server="https://host", user="ouser", password="opass"), spec_server=None, environ=env)
    assert (s.credentials.user, s.credentials.secret, s.credentials.source) == ("ouser", "opass", "option")
    s = resolve_connection(opts(server="https://host"), spec_server=None, environ=env)
    assert (s.credentials.user, s.credentials.source) == ("euser", "environment")
    s = resolve_connection(opts(server="https://host"), spec_server=None, environ={"HOME": str(tmp_path)})
    assert (s.credentials.user, s.credentials.secret, s.credentials.source) == ("nuser", "npass", "netrc")


def test_netrc_env_variable_and_port_specific_machine(tmp_path: Path) -> None:
    other = tmp_path / "other-netrc"
    other.write_text("machine host:8443 login portuser password p1\nmachine host login hostuser password p2\n")
    other.chmod(0o600)
    s = resolve_connection(opts(server="https://host:8443"), spec_server=None, environ={"NETRC": str(other)})
    assert s.credentials.user == "portuser"
    s = resolve_connection(opts(server="https://host"), spec_server=None, environ={"NETRC": str(other)})
    assert s.credentials.user == "hostuser"


def test_no_credentials_anywhere_is_anonymous(tmp_path: Path) -> None:
    s = resolve_connection(opts(server="https://host"), spec_server=None, environ={"HOME": str(tmp_path)})
    assert s.credentials is None


def test_server_precedence() -> None:
    env = {"XNAT_HOST": "https://from-env"}
    assert (
        resolve_connection(opts(server="https://opt"), spec_server="https://spec", environ=env).base_url
        == "https://opt"
    )
    assert resolve_connection(opts(), spec_server="https://spec", environ=env).base_url == "https://from-env"
    assert resolve_connection(opts(), spec_server="https://spec", environ={}).base_url == "https://spec"
    with pytest.raises(UsageError, match="no XNAT server given"):
        resolve_connection(opts(), spec_server=None, environ={})


def test_tls_decisions(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    assert resolve_connection(opts(server="https://h"), spec_server=None, environ={}).verify is True
    assert resolve_connection(opts(server="https://h", insecure=True), spec_server=None, environ={}).verify is False
    assert resolve_connection(
        opts(server="https://h", ca_bundle=str(bundle)), spec_server=None, environ={}
    ).verify == str(bundle)
    with pytest.raises(UsageError, match="contradict"):
        resolve_connection(opts(server="https://h", ca_bundle=str(bundle), insecure=True), spec_server=None, environ={})


def test_user_without_password_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--user needs --password"):
        resolve_connection(opts(server="https://h", user="u"), spec_server=None, environ={})
    with pytest.raises(UsageError, match="XNAT_PASS is not"):
        resolve_connection(opts(server="https://h"), spec_server=None, environ={"XNAT_USER": "u"})


def test_a_password_option_is_never_dropped() -> None:
    env = {"XNAT_USER": "u", "XNAT_PASS": "from-env"}
    creds = resolve_connection(opts(server="https://h", password="given"), spec_server=None, environ=env).credentials
    assert creds is not None and (creds.user, creds.secret) == ("u", "given")
    with pytest.raises(UsageError, match="--password needs --user"):
        resolve_connection(opts(server="https://h", password="given"), spec_server=None, environ={})


def test_unreadable_netrc_names_the_file_not_its_content(tmp_path: Path) -> None:
    bad = tmp_path / "netrc"
    bad.write_text("machine host login u password topsecret extra-garbage-token\n")
    with pytest.raises(UsageError) as info:
        resolve_connection(opts(server="https://host"), spec_server=None, environ={"NETRC": str(bad)})
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("https://u:pw@host/xnat", "must not hold credentials"),
        ("http://[::1", "not a valid server URL"),
        ("http://127.0.0.1:99999", "not a valid server URL"),
        ("ftp://host", r"not an http\(s\) server URL"),
    ],
)
def test_bad_server_urls_are_usage_errors(server: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        normalize_server_url(server)
    assert "pw" not in str(info.value)


def test_retry_after_is_capped_by_backoff_max_and_budget() -> None:
    import time

    from xsync.xnat.settings import RetryPolicy
    from xsync.xnat.transport import make_retry

    class Answer:
        headers = {"Retry-After": "600"}

        def getheader(self, name: str) -> str | None:
            return self.headers.get(name)

    retry = make_retry(RetryPolicy(backoff_max=2.0, budget=120.0))
    assert retry.get_retry_after(Answer()) == 2.0
    retry.started = time.monotonic() - 119.5  # half a second of budget left
    assert retry.get_retry_after(Answer()) <= 0.5
