"""The XNAT client against the emulator over real HTTP: credentials, error classes, retries,
TLS and context paths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from xsync.cli.settings import ConnectionOptions, resolve_connection
from xsync.emulator import Emulator, EmulatorConfig
from xsync.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RemoteValidationError,
    ServerError,
    TransportError,
)
from xsync.xnat.client import XnatClient
from xsync.xnat.read import read_project
from xsync.xnat.settings import ConnectionSettings, Credentials, RetryPolicy

FAST_RETRY = RetryPolicy(attempts=3, backoff=0.01, backoff_max=0.05, budget=10)


def make_client(url: str, user: str = "admin", secret: str = "admin", **kw: object) -> XnatClient:
    kw.setdefault("retry", FAST_RETRY)
    return XnatClient(ConnectionSettings(server=url, credentials=Credentials(user, secret), **kw))  # type: ignore[arg-type]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(projects=("P", "OTHER"), users={"admin": "admin", "alice": "alicepw"})
    with Emulator(config) as e:
        e.store.projects["OTHER"].members.add("alice")
        yield e


def paths(emu: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests]


# -- credentials and sessions ----------------------------------------------------------------


def test_one_login_then_the_cookie_then_logout(emu: Emulator) -> None:
    with make_client(emu.url) as client:
        for _ in range(3):
            client.listing("/data/projects")
    assert paths(emu) == ["GET /data/JSESSION"] + ["GET /data/projects"] * 3 + ["DELETE /data/JSESSION"]
    # Basic credentials went only with the login: one server session was ever created.
    assert len(emu.app.auth._sessions) == 0  # and the logout invalidated it


@pytest.mark.parametrize("source", ["option", "environment", "netrc"])
def test_every_credential_source_logs_in(emu: Emulator, tmp_path: Path, source: str) -> None:
    options = ConnectionOptions(emu.url, None, None, None, False, None)
    environ: dict[str, str] = {"HOME": str(tmp_path)}
    if source == "option":
        options = ConnectionOptions(emu.url, "alice", "alicepw", None, False, None)
    elif source == "environment":
        environ |= {"XNAT_USER": "alice", "XNAT_PASS": "alicepw"}
    else:
        (tmp_path / ".netrc").write_text("machine 127.0.0.1 login alice password alicepw\n")
        (tmp_path / ".netrc").chmod(0o600)
    settings = resolve_connection(options, spec_server=None, environ=environ)
    assert settings.credentials is not None and settings.credentials.source == source
    with XnatClient(settings) as client:
        projects = {row["ID"] for row in client.listing("/data/projects")}
    assert "OTHER" in projects


def test_alias_token_is_used_as_user_and_secret(emu: Emulator) -> None:
    token = requests.get(emu.url + "/data/services/tokens/issue", auth=("alice", "alicepw"), timeout=5).json()
    with make_client(emu.url, token["alias"], token["secret"]) as client:
        assert client.listing("/data/projects")


def test_wrong_password_names_host_and_where_credentials_come_from_never_the_secret(emu: Emulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        make_client(emu.url, "admin", "n0t-the-password").open()
    summary = info.value.summary
    assert summary.startswith("login failed at 127.0.0.1: XNAT refused the user and password from --user/--password")
    assert "XNAT_USER/XNAT_PASS" in summary and "~/.netrc" in summary
    assert info.value.status == 401
    assert "n0t-the-password" not in str(info.value) and "admin" not in str(info.value)


# -- error classes ---------------------------------------------------------------------------


def test_error_classes_by_meaning(emu: Emulator) -> None:
    with make_client(emu.url) as admin:
        with pytest.raises(NotFoundError):
            admin.listing("/data/projects/NOPE/subjects")
        with pytest.raises(RemoteValidationError) as bad_gender:  # 400 with XNAT's validator text
            admin.request("PUT", "/data/projects/P/subjects/s1", params={"xsiType": "xnat:subjectData", "gender": "x"})
        assert bad_gender.value.status == 400 and "gender" in bad_gender.value.message.lower()
        with pytest.raises(RemoteValidationError) as no_type:  # 417 Need PUT Contents
            admin.request("PUT", "/data/projects/P/subjects/s1/experiments/e1")
        assert no_type.value.status == 417
        with pytest.raises(RemoteValidationError) as unknown_project:  # 422
            admin.request("PUT", "/data/projects/NOPE/subjects/s1", params={"xsiType": "xnat:subjectData"})
        assert unknown_project.value.status == 422
        admin.request("PUT", "/data/projects/P/subjects/s1/experiments/e1", params={"xsiType": "xnat:mrSessionData"})
        admin.request(
            "PUT", "/data/projects/P/subjects/s1/experiments/e1/scans/1", params={"xsiType": "xnat:mrScanData"}
        )
        with pytest.raises(ConflictError) as retype:  # 409 scan xsiType change
            admin.request(
                "PUT", "/data/projects/P/subjects/s1/experiments/e1/scans/1", params={"xsiType": "xnat:ctScanData"}
            )
        assert retype.value.status == 409
    with make_client(emu.url, "alice", "alicepw") as alice, pytest.raises(PermissionDeniedError) as denied:
        alice.request("PUT", "/data/projects/P/subjects/s2", params={"xsiType": "xnat:subjectData"})
    assert denied.value.status == 403


def test_server_error_after_retries_are_exhausted(emu: Emulator) -> None:
    with make_client(emu.url) as client:
        emu.app.knobs.queue_faults(*["503"] * 4)
        with pytest.raises(ServerError) as info:
            client.listing("/data/projects")
    assert info.value.status == 503
    assert paths(emu).count("GET /data/projects") == 4  # the first try and 3 retries


def test_unreachable_server_is_a_transport_error() -> None:
    with Emulator(EmulatorConfig()) as e:
        url = e.url
    with pytest.raises(TransportError) as info:
        make_client(url).open()
    assert info.value.summary.startswith(f"connection refused by 127.0.0.1:{url.rsplit(':', 1)[1]}")


# -- retries -----------------------------------------------------------------------------------


def test_get_is_retried_on_503_and_dropped_connections(emu: Emulator) -> None:
    with make_client(emu.url) as client:
        emu.app.knobs.queue_faults("503", "drop", None)
        rows = client.listing("/data/projects")
    assert {r["ID"] for r in rows} == {"P", "OTHER"}
    statuses = [r.status for r in emu.requests if r.path == "/data/projects"]
    assert statuses == [503, 0, 200]  # 0 = the connection was dropped


def test_login_is_retried(emu: Emulator) -> None:
    emu.app.knobs.queue_faults("drop", "503")
    with make_client(emu.url) as client:
        client.listing("/data/projects")
    assert [r.status for r in emu.requests if r.path == "/data/JSESSION"][:3] == [0, 503, 200]


def test_put_is_retried(emu: Emulator) -> None:
    with make_client(emu.url) as client:
        emu.app.knobs.queue_faults("drop", "503")
        client.request("PUT", "/data/projects/P/subjects/s9", params={"xsiType": "xnat:subjectData"})
    assert [r.status for r in emu.requests if r.method == "PUT"] == [0, 503, 201]
    assert emu.store.subject("P", "s9") is not None


@pytest.mark.parametrize(("fault", "error"), [("503", ServerError), ("drop", TransportError)])
def test_post_to_the_import_service_is_never_retried(emu: Emulator, fault: str, error: type[Exception]) -> None:
    with make_client(emu.url) as client:
        emu.app.knobs.queue_faults(fault)
        with pytest.raises(error):
            client.request("POST", "/data/services/import", params={"import-handler": "DICOM-zip"}, data=b"PK")
    assert [r.method for r in emu.requests].count("POST") == 1  # the import, once


# -- TLS and context paths -------------------------------------------------------------------


def test_tls_verification_decisions(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with Emulator(EmulatorConfig(projects=("P",), tls_cert=cert, tls_key=key)) as e:
        assert e.url.startswith("https://")
        with pytest.raises(TransportError) as info:
            make_client(e.url).open()  # verification on by default: a self-signed certificate fails
        assert "the TLS certificate of 127.0.0.1" in info.value.summary and "--ca-bundle" in info.value.summary
        with make_client(e.url, verify=str(cert)) as client:  # --ca-bundle
            assert client.listing("/data/projects")
        with make_client(e.url, verify=False) as client:  # --insecure
            assert client.listing("/data/projects")


@pytest.mark.parametrize("suffix", ["", "/", "/data", "/REST/"])
def test_server_under_a_context_path(suffix: str) -> None:
    with Emulator(EmulatorConfig(projects=("P",), context_path="/xnat")) as e:
        assert e.url.endswith("/xnat")
        with make_client(e.url + suffix) as client:
            state = read_project(client, "P")
        assert state.project == "P" and state.server == e.url
        assert all(r.path.startswith("/data/") for r in e.requests)


def test_retry_after_is_honoured(emu: Emulator) -> None:
    with make_client(emu.url, retry=RetryPolicy(attempts=3, backoff=0.01, backoff_max=5, budget=10)) as client:
        emu.app.knobs.queue_faults("429")
        started = time.monotonic()
        client.listing("/data/projects")
        waited = time.monotonic() - started
    assert [r.status for r in emu.requests if r.path == "/data/projects"] == [429, 200]
    assert waited >= 1.0  # the server's Retry-After, not the client's 10 ms backoff


# -- an expired session --------------------------------------------------------------------------


def test_an_expired_session_is_renewed_once_for_many_threads(emu: Emulator) -> None:
    with make_client(emu.url) as client:
        client.listing("/data/projects")
        emu.expire_sessions()
        emu.set_latency(50)  # the threads meet the expired session together
        before = len(emu.requests)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: client.listing("/data/projects"), range(8)))
        logins = [r for r in emu.requests[before:] if r.path == "/data/JSESSION" and r.method == "GET"]
    assert all({row["ID"] for row in rows} == {"P", "OTHER"} for rows in results)
    assert len(logins) == 1  # one renewal, not one per thread
    # the race happened: several threads met the expired session before the one login renewed it
    assert [r.status for r in emu.requests[before:] if r.path == "/data/projects"].count(401) >= 2
