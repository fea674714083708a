"""Secrets and patient identifiers never leave xsync by accident.

A distinctive password and distinctive patient identifiers (in the DICOM headers and in the
server's subject `dob`) are seeded; the main commands run, on their success and error paths and
through a crash; the password, PatientName, PatientID and birth date appear in no stdout, stderr,
log record, crash log, saved plan or `--json` event. Birth dates managed by the spec do appear
with `--show-phi`, as documented. Paths the user gave are the user's own and are shown; xsync
never adds identifiers read from headers. A redirect to another host never carries the
Authorization header or the session cookie.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import xsync.workflow
from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study

PASSWORD = "Pw-LEAKCANARY-7f3e9a"
COOKIE = "COOKIECANARY0123456789"
PHI = ("Leakname", "Canary", "PIDCANARY42", "19371113", "1937-11-13")
SECRETS = (PASSWORD, *PHI)
STUDY = StudySpec(
    patient_id="PIDCANARY42",
    patient_name="Leakname^Canary",
    birth_date="19371113",
    patient_comments="Leakname Canary PIDCANARY42",
    series=(SeriesSpec(1, "T1w_MPR", instances=2),),
)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


@pytest.fixture
def site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[Emulator, Path]]:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", PASSWORD)
    monkeypatch.delenv("XNAT_HOST", raising=False)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # crash logs land here
    write_study(STUDY, tmp_path / "dicom" / "s1")
    spec = tmp_path / "xsync.yaml"
    with Emulator(EmulatorConfig(projects=("P",), users={"admin": PASSWORD})) as emu:
        emu.seed.add_subject("P", "s1", fields={"dob": "1937-11-13", "gender": "female"})
        spec.write_text(
            f"version: 1\nserver: {emu.url}\nproject: P\ndicom: {{roots: [dicom]}}\n"
            "subjects:\n  s1:\n    dob: 1938-01-01\n    sessions:\n      e1:\n        dicom: {path: dicom/s1}\n"
        )
        yield emu, spec


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def test_no_command_prints_a_secret_or_an_identifier(
    site: tuple[Emulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    emu, spec = site
    saved = tmp_path / "plan.json"
    s = str(spec)
    commands: list[tuple[list[str], int]] = [
        (["validate", "--spec", s], 0),
        (["validate", "--spec", s, "--json"], 0),
        (["inventory", "--spec", s, "--no-cache"], 0),
        (["inventory", "--spec", s, "--json"], 0),
        (["state", "--spec", s, "--files"], 0),
        (["state", "--spec", s, "--json"], 0),
        (["plan", "--spec", s], 0),
        (["plan", "--spec", s, "--json", "-o", str(saved)], 0),
        (["plan", "--spec", s, "--markdown"], 0),
        (["show", str(saved)], 0),
        (["show", str(saved), "--check", "--spec", s, "--markdown"], 0),
        (["apply", "--spec", s, "--auto-approve", "--json"], 0),
        (["plan", "--spec", s, "--detailed-exitcode"], 0),
    ]
    outputs = {}
    for args, expected in commands:
        code, text = run(capsys, *args)
        assert code == expected, (args, text)
        outputs[" ".join(args[:2])] = text
        assert not leaked(text), (args, leaked(text), text)
    assert not leaked(saved.read_text(encoding="utf-8"))
    assert '"(hidden; --show-phi)"' in saved.read_text(encoding="utf-8")  # the managed dob was there, masked
    assert not leaked(caplog.text)
    assert not list((tmp_path / "tmp").glob("xsync-crash-*"))


def test_error_paths_name_no_secret(
    site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    emu, spec = site
    emu.set_faults(1.0, seed=1, kinds=("503",))  # every request fails: retries, then an error
    code, text = run(capsys, "apply", "--spec", str(spec), "--auto-approve", "--timeout", "1")
    assert code == 1 and "error: " in text and not leaked(text), text
    emu.set_faults(0.0)
    monkeypatch.setenv("XNAT_PASS", PASSWORD + "-wrong")
    code, text = run(capsys, "--debug", "plan", "--spec", str(spec), "--json")
    assert code == 1 and "login failed" in text and not leaked(text), text
    assert not leaked(caplog.text)


def test_a_crash_log_holds_neither_secret_nor_identifier(
    site: tuple[Emulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, spec = site

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("an induced bug after every read")  # the plan's inputs are all in memory here

    monkeypatch.setattr(xsync.workflow, "compute_plan", broken)
    code, text = run(capsys, "--debug", "plan", "--spec", str(spec))
    assert code == 3 and "internal error: RuntimeError" in text and not leaked(text), text
    logs = list((tmp_path / "tmp").glob("xsync-crash-*"))
    assert len(logs) == 1
    crash = logs[0].read_text(encoding="utf-8")
    assert "an induced bug" in crash and not leaked(crash), leaked(crash)


def test_show_phi_shows_the_managed_birth_date_as_documented(
    site: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = site
    code, text = run(capsys, "plan", "--spec", str(spec), "--show-phi")
    assert code == 0 and "1937-11-13" in text and PASSWORD not in text
    code, text = run(capsys, "inventory", "--spec", str(spec), "--show-phi", "--no-cache")
    assert code == 0 and "PIDCANARY42" in text and "Leakname^Canary" in text and "1937-11-13" in text


class Recorder:
    """An HTTP server on another address that records the headers of what reaches it."""

    def __init__(self, host: str) -> None:
        self.seen: list[dict[str, str]] = []
        self.server = make_server(host, 0, self.app, threaded=True)
        self.url = f"http://{host}:{self.server.port}"

    @Request.application  # type: ignore[misc]
    def app(self, request: Request) -> Response:
        self.seen.append(dict(request.headers))
        return Response('{"ResultSet": {"Result": []}}', content_type="application/json")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder("127.0.0.2")
    threading.Thread(target=r.server.serve_forever, daemon=True).start()
    yield r
    r.server.shutdown()


@pytest.mark.parametrize("redirect_login", [True, False], ids=["at-login", "after-login"])
def test_a_redirect_to_another_host_carries_no_credential(
    recorder: Recorder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, redirect_login: bool
) -> None:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", PASSWORD)

    @Request.application  # type: ignore[misc]
    def front(request: Request) -> Response:
        if request.path == "/data/JSESSION" and not redirect_login:
            response = Response(COOKIE, status=200)
            response.set_cookie("JSESSIONID", COOKIE)
            return response
        return Response("moved", status=302, headers={"Location": recorder.url + request.full_path})

    server = make_server("127.0.0.1", 0, front, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, text = run(capsys, "state", "--project", "P", "--server", f"http://127.0.0.1:{server.port}")
    finally:
        server.shutdown()
    assert code == 1 and "error: " in text, text
    assert PASSWORD not in text and COOKIE not in text
    for headers in recorder.seen:
        assert "Authorization" not in headers and COOKIE not in headers.get("Cookie", ""), headers
