"""The one error handler: every outcome maps to its documented exit code; bugs leave a log
file instead of a traceback on the terminal."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from xsync import errors
from xsync.cli.main import cli, main


@pytest.fixture
def command() -> Iterator[Callable[[Callable[[], object]], None]]:
    """Registers a throwaway `xsync boom` command that runs the given function."""

    def register(fn: Callable[[], object]) -> None:
        cli.add_command(click.Command("boom", callback=fn))

    yield register
    cli.commands.pop("boom", None)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.XsyncError("x"), 1),
        (errors.UsageError("x"), 4),
        (errors.SpecError([errors.Diagnostic("f.yaml", 1, 2, "a", "bad")]), 4),
        (errors.AuthenticationError("x", method="GET", url="u", status=401), 1),
        (errors.TransportError("x"), 1),
        (errors.PlanError("x"), 1),
        (errors.InventoryError("x"), 1),
        (errors.StalePlanError("x"), 5),
        (errors.InternalError("x"), 3),
        (KeyboardInterrupt(), 130),
    ],
)
def test_errors_map_to_their_exit_codes(command, exc: BaseException, code: int, capsys) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise exc

    command(boom)
    assert main(["boom"]) == code
    err = capsys.readouterr().err
    if isinstance(exc, errors.XsyncError):
        assert err.startswith(f"error: {exc.summary}")


def test_usage_errors_are_4_not_clicks_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["plan", "--no-such-option"]) == 4
    assert main(["no-such-command"]) == 4


def test_a_bug_exits_3_with_a_log_file_and_no_traceback(command, capsys) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise ZeroDivisionError("inner detail")

    command(boom)
    assert main(["boom"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    log = Path(re.search(r"details in (\S+)", err).group(1))  # type: ignore[union-attr]
    try:
        assert "ZeroDivisionError: inner detail" in log.read_text()
    finally:
        log.unlink()
    assert main(["--debug", "boom"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    Path(re.search(r"details in (\S+)", err).group(1)).unlink()  # type: ignore[union-attr]


def test_spec_error_lists_every_diagnostic(command, capsys) -> None:  # type: ignore[no-untyped-def]
    diags = [errors.Diagnostic("s.yaml", 3, 5, "subjects.a.gender", "bad"), errors.Diagnostic("s.yaml", 9, 1, "", "x")]

    def boom() -> None:
        raise errors.SpecError(diags)

    command(boom)
    assert main(["boom"]) == 4
    assert capsys.readouterr().err.splitlines() == [
        "error: the spec has 2 errors",
        "s.yaml:3:5: subjects.a.gender: bad",
        "s.yaml:9:1: x",
    ]


def test_version_and_help_exit_0(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("xsync ")
    assert main(["--help"]) == 0
    assert "Exit codes:" in capsys.readouterr().out


def test_a_diagnostic_stays_on_one_line() -> None:
    d = errors.Diagnostic("dir/bad\nname.dcm", message="not DICOM")
    assert str(d) == "dir/bad\\nname.dcm: not DICOM"


def test_a_misspelt_command_is_4_with_a_suggestion(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["plna"]) == 4
    assert "No such command 'plna'. Did you mean 'plan'?" in capsys.readouterr().err
    assert main(["emulator", "srve"]) == 4
    assert "Did you mean 'serve'?" in capsys.readouterr().err
    assert main(["zzz"]) == 4
    assert "Did you mean" not in capsys.readouterr().err
