"""Each way of failing to reach XNAT, through the command line: the one-line message that names
the cause, the exit code, the retries announced on stderr, and how long it took. What cannot
heal by waiting (no scheme, a name that does not resolve, TLS) is never retried."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.network import free_port, only_error_line
from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.errors import EXIT_ERROR, EXIT_INVALID

RETRY_LINE = re.compile(r"^retrying \((\d+)/(\d+)\) after (.+), in \d+\.\d s$")


@dataclass(frozen=True)
class Outcome:
    code: int
    err: str
    seconds: float

    @property
    def error_line(self) -> str:
        return only_error_line(self.err)

    @property
    def retries(self) -> list[tuple[int, int, str]]:
        found = [RETRY_LINE.match(line) for line in self.err.splitlines() if line.startswith("retrying")]
        assert all(found), self.err  # every retry line has the documented form
        return [(int(m[1]), int(m[2]), m[3]) for m in found if m]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    monkeypatch.delenv("XNAT_HOST", raising=False)

    def state(server: str, *extra: str) -> Outcome:
        capsys.readouterr()
        started = time.monotonic()
        code = main(["state", "--project", "P", "--server", server, *extra])
        seconds = time.monotonic() - started
        return Outcome(code, capsys.readouterr().err, seconds)

    yield state


def test_a_server_without_scheme_is_a_usage_error_before_any_request(run) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    out = run(f"127.0.0.1:{port}")
    assert out.code == EXIT_INVALID
    assert out.error_line == (
        f"error: the server URL 127.0.0.1:{port} has no scheme: write https://127.0.0.1:{port} "
        f"(or http://127.0.0.1:{port} for a server without TLS, such as the emulator) (from --server)"
    )
    assert out.retries == [] and out.seconds < 5  # no retry, no wait: not the 16 s it once took


def test_a_host_name_that_does_not_resolve_fails_at_once(run) -> None:  # type: ignore[no-untyped-def]
    out = run("http://no-such-host.invalid:8080")
    assert out.code == EXIT_ERROR
    assert out.error_line.startswith(
        "error: cannot resolve the host name no-such-host.invalid: check the server URL (--server, XNAT_HOST"
    )
    assert out.retries == [] and out.seconds < 5  # no retry, no wait: not the 16 s it once took


def test_a_refused_connection_is_retried_briefly_then_named(run) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    out = run(f"http://127.0.0.1:{port}")
    assert out.code == EXIT_ERROR
    assert out.error_line.startswith(f"error: connection refused by 127.0.0.1:{port}: is XNAT running there")
    assert out.retries == [(1, 3, "the connection was refused"), (2, 3, "the connection was refused"),
                           (3, 3, "the connection was refused")]  # fmt: skip
    assert 1.5 < out.seconds < 10  # the backoff waited (0.5 + 1 + 2 s, with jitter), and not for long


def test_a_server_that_never_answers_times_out_per_attempt(run) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as silent:  # the kernel accepts connections into the backlog; nothing answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        out = run(f"http://127.0.0.1:{port}", "--timeout", "0.5")
    assert out.code == EXIT_ERROR
    assert out.error_line.startswith(f"error: no answer from 127.0.0.1:{port} within 0.5 s (--timeout")
    assert [r[:2] for r in out.retries] == [(1, 2), (2, 2)]
    assert {r[2] for r in out.retries} == {"no answer in time"}
    assert 1.5 < out.seconds < 10  # three tries of 0.5 s and two waits, not the 300 s default


def test_an_unverifiable_certificate_says_ca_bundle_or_insecure(run, self_signed) -> None:  # type: ignore[no-untyped-def]
    cert, key = self_signed
    with Emulator(EmulatorConfig(projects=("P",), tls_cert=cert, tls_key=key)) as emu:
        out = run(emu.url)
        port = emu.url.rsplit(":", 1)[1]
        assert out.code == EXIT_ERROR
        assert out.error_line.startswith(f"error: the TLS certificate of 127.0.0.1:{port} could not be verified")
        assert "--ca-bundle PATH" in out.error_line and "--insecure" in out.error_line
        assert out.retries == [] and out.seconds < 5
        assert run(emu.url, "--ca-bundle", str(cert)).code == 0  # the advice works


def test_https_to_a_plain_http_server_says_so(run) -> None:  # type: ignore[no-untyped-def]
    with Emulator(EmulatorConfig(projects=("P",))) as emu:
        where = emu.url.removeprefix("http://")
        out = run(f"https://{where}", "--insecure")  # --insecure cannot help: it is not a certificate problem
    assert out.code == EXIT_ERROR
    assert out.error_line.startswith(f"error: the TLS handshake with {where} failed: does it speak HTTPS?")
    assert f"write http://{where}" in out.error_line
    assert out.retries == [] and out.seconds < 5


def test_wrong_credentials_say_where_they_came_from_and_how_to_give_them(  # type: ignore[no-untyped-def]
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XNAT_PASS", "not-the-password")
    with Emulator(EmulatorConfig(projects=("P",))) as emu:
        out = run(emu.url)
    assert out.code == EXIT_ERROR
    assert out.error_line.startswith(
        "error: login failed at 127.0.0.1: XNAT refused the user and password from XNAT_USER/XNAT_PASS"
    )
    assert "--user/--password" in out.error_line and "~/.netrc" in out.error_line
    assert "not-the-password" not in out.err
    assert out.retries == [] and out.seconds < 5


def test_a_server_restarting_is_waited_for_and_the_command_succeeds(run) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    emu = Emulator(EmulatorConfig(projects=("P",), port=port))
    starter = threading.Timer(1.0, emu.start)
    starter.start()
    try:
        out = run(f"http://127.0.0.1:{port}")
    finally:
        starter.join()
        emu.stop()
    assert out.code == 0, out.err
    assert out.retries and out.retries[0][2] == "the connection was refused"
