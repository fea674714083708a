"""Every command the README, docs/ and the examples' READMEs show is run, as a reader would run
it, and its exit code and the output the page shows are checked.

One page is one session: its blocks run in order in a fresh folder holding a copy of
`examples/`, with the environment its `export` lines build. `xsync emulator serve` runs in the
background as the page says (in another terminal); a block marked `emulator=PROJECT` gets one
started for it (with XNAT_HOST, XNAT_USER and XNAT_PASS exported). The page's port 8080 becomes
a free one, /tmp/ the test's folder. A command is expected to succeed unless the page shows an
`error:` line for it; then it must fail with a documented code (1, 4 or 5), not crash (3).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs import doc_setups
from tests.docs.console_blocks import DOC_PORT, Block, Command, console_blocks, unmatched
from tests.network import free_port

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "examples").glob("*/README.md"))]
COMMAND_TIMEOUT = 180


class Session:
    """One page being followed: its folder, environment and background servers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cwd = folder / "work"
        skip = shutil.ignore_patterns(".xsync", "__pycache__")
        shutil.copytree(REPO / "examples", self.cwd / "examples", ignore=skip)
        self.port = free_port()
        bin_dir = str(Path(sys.executable).parent)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("XNAT_", "PYTEST_", "COV_"))}
        self.env = {**base, "PATH": bin_dir + os.pathsep + base.get("PATH", ""), "NO_COLOR": "1",
                    "TERM": "dumb", "PYTHONUNBUFFERED": "1", "HOME": str(folder / "home")}  # fmt: skip
        (folder / "home").mkdir()
        self.background: list[tuple[subprocess.Popen[str], threading.Thread, str]] = []
        self.closed_port = 0  # a port nothing listens on, for a block marked closed-port

    # -- substitutions -------------------------------------------------------------------------
    def replacements(self) -> dict[str, str]:
        port = str(self.closed_port or self.port)
        return {f"127.0.0.1:{DOC_PORT}": f"127.0.0.1:{port}", f"--port {DOC_PORT}": f"--port {port}",
                "/tmp/": f"{self.folder}/tmp/"}  # fmt: skip

    def real(self, text: str) -> str:
        for shown, real in self.replacements().items():
            text = text.replace(shown, real)
        return text

    # -- running -------------------------------------------------------------------------------
    def run(self, command: Command, where: str) -> None:
        text = self.real(command.text)
        words = shlex.split(text)
        if words[0] == "export":
            for assignment in words[1:]:
                key, _, value = assignment.partition("=")
                self.env[key] = value
            return
        if words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
            return
        if words[:3] == ["xsync", "emulator", "serve"]:
            self.serve(text, command, where)
            return
        done = subprocess.run(
            ["bash", "-c", text], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
        said = f"{where}: `{command.text}` exited {done.returncode}:\n{done.stdout}"
        if command.expects_error:
            assert done.returncode in (1, 4, 5), said
        else:
            assert done.returncode == 0, said
        missing = unmatched(command.output, done.stdout, self.replacements())
        assert not missing, f"{said}\nlines the page shows that did not appear:\n" + "\n".join(missing)

    def serve(self, text: str, command: Command, where: str) -> None:
        """`xsync emulator serve` as the page shows it, left running; its banner is checked."""
        process = subprocess.Popen(
            ["bash", "-c", "exec " + text], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        banner: list[str] = []
        banner_read = threading.Event()
        reader = threading.Thread(target=_read_output, args=(process, banner, banner_read), daemon=True)
        reader.start()
        self.background.append((process, reader, where))
        banner_read.wait(timeout=30)
        missing = unmatched(command.output, "\n".join(banner), self.replacements())
        assert not missing, f"{where}: `{command.text}` printed:\n" + "\n".join(banner)
        _wait_for_port(self.port)

    def start_emulator(self, projects: str) -> None:
        """What `emulator=PROJECT` asks for: the page's walk-through has it running already."""
        if not self.background:
            flags = " ".join(f"--project {p}" for p in projects.split(","))
            self.serve(f"xsync emulator serve --port {self.port} {flags}", Command("", (), 0), "emulator")
        self.env.update(XNAT_HOST=f"http://127.0.0.1:{self.port}", XNAT_USER="admin", XNAT_PASS="admin")

    def close(self) -> list[str]:
        problems = []
        for process, reader, where in self.background:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            reader.join(timeout=20)  # it meets the end of the output now that the process is gone
            if process.stdout is not None:
                process.stdout.close()
            if code != 0:
                problems.append(f"{where}: the emulator exited {code} on SIGTERM")
        return problems


def _read_output(process: subprocess.Popen[str], banner: list[str], banner_read: threading.Event) -> None:
    """Collect the banner (up to "Stop with ..."), then keep draining so that a chatty server
    never blocks on a full pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        if not banner_read.is_set():
            banner.append(line.rstrip("\n"))
            if line.startswith("Stop with"):
                banner_read.set()
    banner_read.set()


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    s = Session(tmp_path)
    yield s
    problems = s.close()
    assert not problems, problems


def _blocks(page: Path) -> list[Block]:
    return console_blocks(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_console_block_of_the_page_runs_as_shown(page: Path, session: Session) -> None:
    blocks = _blocks(page)
    for block in blocks:
        assert block.commands, f"{block.where}: a console block without a `$ ` command"
        if "emulator" in block.directives:
            session.start_emulator(block.directives["emulator"])
        session.closed_port = free_port() if "closed-port" in block.directives else 0
        if "setup" in block.directives:
            getattr(doc_setups, block.directives["setup"])(session.cwd, session.env)
        for command in block.commands:
            session.run(command, f"{page.relative_to(REPO)}:{command.line}")


def test_the_pages_with_commands_are_all_found() -> None:
    """The test above cannot pass by finding nothing: these pages show commands."""
    counted = {str(p.relative_to(REPO)): sum(len(b.commands) for b in _blocks(p)) for p in PAGES}
    pages = ["README.md", "docs/apply.md", "docs/connecting.md", "docs/emulator.md", "docs/inventory.md",
             "docs/plans.md", "docs/spec.md", "examples/ccf_test/README.md", "examples/hcp_site/README.md"]  # fmt: skip
    for page in pages:
        assert counted.get(page, 0) > 0, page
