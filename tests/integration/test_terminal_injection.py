"""Text from outside xsync (server labels, field values, XNAT's error pages, DICOM headers, file
names, lock records, XNAT_USER) never drives the terminal or forges a line: what xsync prints
is made of printable characters and its own newlines, with the outside text shown as visible
escapes (`\\x1b`, `\\n`, `\\u202e`). JSON keeps the exact value, escaped."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from xsync.apply.report import ApplyReport, OpResult, Status
from xsync.cli.apply import _print_report
from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study

# An OSC title, a colour, a screen clear, an 8-bit CSI, CR/LF with a forged markdown heading and
# table row, a bidi override and a run of backticks longer than the markdown fence.
HOSTILE = "evil\x1b]0;owned\x07\x1b[31mred\x1b[2J\x9b1m\r\n## Approved\n| a | b |\u202egnp.exe`````x"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the painter's own colours


def printable_lines(text: str) -> bool:
    """Only printable characters between our newlines."""
    return all(line.isprintable() for line in text.split("\n"))


def assert_clean(text: str) -> None:
    assert printable_lines(text), [line for line in text.split("\n") if not line.isprintable()]
    assert not any(line.startswith(("## Approved", "| a |")) for line in text.split("\n"))
    assert "\\x1b]0;owned\\x07" in text  # shown, visibly


@pytest.fixture
def emu(env: dict[str, str]) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("P",))) as e:
        e.seed.add_subject("P", HOSTILE, fields={"gender": "male"}, custom={"site": HOSTILE})
        e.seed.add_session(
            "P", HOSTILE, "ses" + HOSTILE, fields={"scanner": HOSTILE},
            scans=[ScanSeed("7" + HOSTILE, fields={"type": HOSTILE}, files=1)],
        )  # fmt: skip
        yield e


def spec_file(tmp_path: Path, server: str, body: str = "") -> Path:
    spec = tmp_path / "xsync.yaml"
    spec.write_text(f"version: 1\nserver: {server}\nproject: P\n{body}")
    return spec


def test_state_tree_shows_server_labels_and_values_as_escapes(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["state", "--spec", str(spec_file(tmp_path, emu.url))]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert len(out.splitlines()) == 4  # project, subject, session, scan: nothing forged
    assert main(["state", "--spec", str(spec_file(tmp_path, emu.url)), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # JSON keeps the exact label
    assert list(data["subjects"]) == [HOSTILE]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_unmanaged_labels_cannot_forge_plan_lines_or_markdown(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    spec = spec_file(tmp_path, emu.url, "subjects:\n  sub1: {gender: female}\n")  # one operation: details shown
    extra = ["--markdown"] if fmt == "markdown" else []
    assert main(["plan", "--spec", str(spec), "--show-unmanaged", "--no-cache", *extra]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    if fmt == "markdown":
        fences = [line for line in out.split("\n") if line.startswith("```")]
        assert len(fences) == 2 and fences[0] == fences[1] + "diff", fences  # one block, opened and closed once
        assert len(fences[1]) > 5  # longer than the label's run of backticks
        inside = out.split(fences[0], 1)[1].split("\n" + fences[1] + "\n", 1)[0]
        assert "P/evil\\x1b]0;owned" in inside  # the label is inside the code block


def test_plan_json_keeps_the_value_and_prints_no_raw_control(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = spec_file(tmp_path, emu.url)
    saved = tmp_path / "plan.json"
    assert main(["plan", "--spec", str(spec), "--show-unmanaged", "--no-cache", "--json", "-o", str(saved)]) == 0
    out = capsys.readouterr().out
    for text in (out, saved.read_text(encoding="utf-8")):
        assert printable_lines(text)  # not even C1 or a bidi override
        assert json.loads(text)["unmanaged"] == [f"P/{HOSTILE}"]


def test_colour_is_the_only_escape_sequence_in_a_painted_plan(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    emu.seed.add_subject("P", "sub1", fields={"gender": "fe\x1b[2Jmale\x1b]0;t\x07"})
    spec = spec_file(tmp_path, emu.url, "subjects:\n  sub1: {gender: female}\n")
    assert main(["plan", "--spec", str(spec), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert SGR.search(out)  # painted
    assert printable_lines(SGR.sub("", out))
    assert 'gender = "fe\\u001b[2Jmale' in SGR.sub("", out)


def test_an_error_quoting_xnat_s_message_is_one_printable_line(
    tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    @Request.application  # type: ignore[misc]
    def hostile(request: Request) -> Response:
        if request.path == "/data/JSESSION":
            return Response("0123456789ABCDEF", status=200)
        return Response(f"<html><h3>{HOSTILE}</h3></html>", status=500, content_type="text/html")

    server = make_server("127.0.0.1", 0, hostile, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main(["state", "--project", "P", "--server", f"http://127.0.0.1:{server.port}"]) == 1
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and "\\x1b]0;owned" in error_lines[0]
    assert printable_lines(err)


def test_a_cr_lf_in_xnat_user_is_not_echoed(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XNAT_USER", "admin\r\nerror: forged\x1b[2J")
    assert main(["state", "--spec", str(spec_file(tmp_path, emu.url))]) == 1
    err = capsys.readouterr().err
    assert printable_lines(err) and "forged" not in err
    assert err.startswith("error: login failed at 127.0.0.1")


def test_apply_report_lines_show_server_text_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    report = ApplyReport(
        results=(
            OpResult(0, "create_subject", f"P/{HOSTILE}", Status.FAILED, detail=f"XNAT said: {HOSTILE}"),
            OpResult(1, "update_subject", "P/ok", Status.DONE, detail=HOSTILE),
        ),
        seconds=0.1,
    )
    _print_report(report, as_json=False)
    out = capsys.readouterr().out
    assert_clean(out)
    assert out.startswith("FAILED  create subject P/evil\\x1b") and len(out.splitlines()) == 3
    _print_report(report, as_json=True)
    assert printable_lines(capsys.readouterr().out)


def test_inventory_shows_header_text_and_file_names_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = StudySpec(study_description="d" + HOSTILE[:40], station_name="st\x1b[2J", manufacturer="m\u202e",
                      specific_character_set="ISO_IR 192",
                      series=(SeriesSpec(1, "T1w\x1b]0;owned\x07", instances=1),))  # fmt: skip
    write_study(study, tmp_path / "roots" / "folder\x1b[2J\nname")
    assert main(["inventory", "--no-cache", str(tmp_path / "roots")]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "folder\\x1b[2J\\nname" in out and "st\\x1b[2J" in out and "m\\u202e" in out
