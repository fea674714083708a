"""What a terminal sees: colour (spinner included) unless --no-color or NO_COLOR says otherwise,
run in a real pseudo-terminal; and output formats that exclude each other."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "ccf_test" / "xsync.yaml"
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # a colour or style sequence (cursor movement is not one)
SPINNER = "\u280b".encode()  # the first frame of rich's "dots" spinner


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("CCF_TEST",))) as e:
        yield e


def run_in_terminal(args: list[str], env_extra: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm", XNAT_USER="admin", XNAT_PASS="admin", **env_extra)
    command = [sys.executable, "-m", "xsync", *args]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    out = b""
    try:
        while select.select([master], [], [], 60)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return process.wait(timeout=60), out


@pytest.mark.parametrize(
    ("extra", "env", "coloured"),
    [([], {}, True), (["--no-color"], {}, False), ([], {"NO_COLOR": "1"}, False)],
    ids=["terminal", "--no-color", "NO_COLOR"],
)
def test_colour_on_a_terminal_unless_asked_not_to_spinner_included(
    emu: Emulator, tmp_path: Path, extra: list[str], env: dict[str, str], coloured: bool
) -> None:
    code, out = run_in_terminal(["plan", "--spec", str(SPEC), "--server", emu.url, "--no-cache", *extra], env, tmp_path)
    assert code == 0, out
    assert SPINNER in out  # the spinner ran while the server was read
    assert bool(SGR.search(out)) is coloured, out[:400]


def test_json_and_markdown_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--spec", str(SPEC), "--json", "--markdown"]) == 4
    assert "error: --json and --markdown: choose one" in capsys.readouterr().err
