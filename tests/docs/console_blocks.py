"""The fenced ```console blocks of a Markdown file, as commands with the output they show.

A block is a sequence of `$ command` lines (a trailing backslash continues a command on the
next line), each followed by the lines of output the page shows for it. An HTML comment right
above the fence, invisible on the rendered page, says what the block needs:

    <!-- doctest: emulator=CCF_TEST setup=held_lock -->

Each output line the page shows must appear, in the page's order, as a whole line of the real
output; other lines may come between (so a page may show only the lines that matter, and `...`
says so to the reader). Within a line, what cannot be the same twice is loose (ports, times,
durations, temporary paths, `…` where the page elides) and the rest must match exactly.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:(?P<body>.*?)-->\s*$")

DOC_PORT = "8080"  # the port every page shows; the test maps it to the one it uses


@dataclass(frozen=True)
class Command:
    text: str  # as shown, continuation lines joined
    output: tuple[str, ...]  # the lines the page shows after it
    line: int  # 1-based, of the `$` line in the page

    @property
    def expects_error(self) -> bool:
        """The page shows it failing: an `error:` line in its output."""
        return any(line.startswith("error:") for line in self.output)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    commands: tuple[Command, ...]
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def parse_directives(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        out[key] = value
    return out


def console_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence or fence["lang"] != "console":
            i += 1
            continue
        directives: dict[str, str] = {}
        above = _DIRECTIVE.match(lines[i - 1]) if i > 0 else None
        if above:
            directives = parse_directives(above["body"])
        indent = len(fence["indent"])
        start = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            line = lines[i]
            body.append(line[indent:] if not line[:indent].strip() else line.lstrip())  # the fence's indent
            i += 1
        blocks.append(Block(path, start, _commands(body, start + 1), directives))
        i += 1
    return blocks


def _commands(body: list[str], first_line: int) -> tuple[Command, ...]:
    commands: list[Command] = []
    text: str | None = None
    at = 0
    output: list[str] = []
    j = 0
    while j < len(body):
        line = body[j]
        if line.startswith("$ "):
            if text is not None:
                commands.append(Command(text, tuple(output), at))
            at = first_line + j
            parts = [line[2:]]
            while parts[-1].endswith("\\") and j + 1 < len(body):
                j += 1
                parts[-1] = parts[-1][:-1].rstrip()
                parts.append(body[j].strip())
            text, output = " ".join(parts), []
        elif text is not None:
            output.append(line)
        j += 1
    if text is not None:
        commands.append(Command(text, tuple(output), at))
    return tuple(commands)


# -- comparing output --------------------------------------------------------------------------

_LOOSE = [
    (re.compile("…"), ".*?"),  # the page elides here
    (re.compile(r"\d{4}\\-\d\d\\-\d\dT\d\d:\d\d:\d\dZ"), r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"),
    (re.compile(r"\d{8}_\d{9}"), r"\\d{8}_\\d{9}"),  # a prearchive timestamp folder
    (re.compile(r"\d+\\\.\d+\\ s\b"), r"\\d+\\.\\d+\\ s"),  # a duration
]


def expected_pattern(line: str, replacements: dict[str, str]) -> re.Pattern[str]:
    """A shown output line as a pattern for the real one: the test's own port and paths in place
    of the page's, and the loose parts loosened."""
    for shown, real in replacements.items():
        line = line.replace(shown, real)
    pattern = re.escape(line.rstrip())
    for loose, replacement in _LOOSE:
        pattern = loose.sub(replacement, pattern)
    return re.compile(pattern)


def unmatched(shown: tuple[str, ...], actual: str, replacements: dict[str, str]) -> list[str]:
    """The shown lines not found, in order, among the actual ones (`...` skips freely; a shown
    line is matched by the first later actual line it fits)."""
    actual_lines = [a.rstrip() for a in actual.splitlines()]
    missing: list[str] = []
    at = 0
    for line in shown:
        if not line.strip() or line.strip() == "...":
            continue
        pattern = expected_pattern(line, replacements)
        for k in range(at, len(actual_lines)):
            if pattern.fullmatch(actual_lines[k]):
                at = k + 1
                break
        else:
            missing.append(line)
    return missing
