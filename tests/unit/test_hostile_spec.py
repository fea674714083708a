"""The bad-input corpus for specs: hostile or broken files, each generated here and run through
the real `xsync validate` in a child process (a crash must not take the test runner with it).

Each must end in exit 4 with one `file:line:col: message` line after the `error:` header, no
traceback, within a subprocess timeout that only a hang reaches and an address-space limit
that only runaway memory reaches. The limits themselves are in docs/spec.md ("Limits").
"""

# ruff: noqa: E501 - one generated input per row, kept on one line

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HEAD = "version: 1\nproject: P\n"
HANG = 60  # seconds: each input takes about one; only a hang gets near this
MEMORY = 2 * 2**30  # bytes of address space for the child: a normal run needs a few hundred MB
DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): \S.*$")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_validate(spec: Path | str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from xsync.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "validate", "--spec", str(spec)],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=HANG,
        preexec_fn=_limit_memory,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


# ------------------------------------------------------------------ generated inputs


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return HEAD + "\n".join(lines) + "\n"


def alias_bomb_block() -> str:
    # Under a known key, so that no "unknown key" check can stop it before the aliases expand.
    out = HEAD + "defaults:\n  subject:\n    fields:\n      f0: &b0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        out += f"      f{i}: &b{i}\n" + "".join(f"        - *b{i - 1}\n" for _ in range(10))
    return out + "subjects: {}\n"


def deep_block_mappings(levels: int) -> str:
    return HEAD + "x:\n" + "".join(" " * i + "k:\n" for i in range(1, levels)) + " " * levels + "v\n"


def deep_block_sequences(levels: int) -> str:
    return HEAD + "x:\n" + "".join(" " * (2 * i) + "-\n" for i in range(levels)) + " " * (2 * levels) + "v\n"


@dataclass(frozen=True)
class Hostile:
    id: str
    content: Callable[[], bytes | str]
    where: tuple[int, int]  # line, column of the message
    says: str  # a part of the message


HOSTILE = [
    Hostile("alias_bomb_flow", alias_bomb, (8, 15), "YAML aliases repeat more than 200000 values"),
    Hostile("alias_bomb_block", alias_bomb_block, (52, 11), "YAML aliases repeat more than 200000 values"),
    Hostile(
        "deep_flow_lists", lambda: HEAD + "x: " + "[" * 40_000 + "]" * 40_000 + "\n", (3, 103), "nested deeper than 100"
    ),
    Hostile(
        "deep_flow_mappings",
        lambda: HEAD + "x: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
        (3, 400),
        "nested deeper than 100",
    ),
    Hostile(
        "deep_flow_mixed",
        lambda: HEAD + "x: " + "[{a: " * 600 + "1" + "}]" * 600 + "\n",
        (3, 250),
        "nested deeper than 100",
    ),
    Hostile("deep_block_mappings", lambda: deep_block_mappings(3_000), (103, 101), "nested deeper than 100"),
    Hostile("deep_block_sequences", lambda: deep_block_sequences(3_000), (103, 199), "nested deeper than 100"),
    Hostile(
        "huge_int",
        lambda: HEAD + "subjects:\n  s1:\n    yob: " + "9" * 5_000 + "\n",
        (5, 10),
        "number too long (5000 characters",
    ),
    Hostile(
        "huge_int_key_depth",
        lambda: HEAD + "subjects: {s1: {sessions: {e1: {scans: {'1': {quality: " + "1" * 2_000 + "}}}}}}\n",
        (3, 56),
        "number too long (2000 characters; at most 1000)",
    ),
    Hostile("huge_float", lambda: HEAD + "x: 1." + "5" * 4_999 + "\n", (3, 4), "number too long (5001 characters"),
    Hostile("huge_hex", lambda: HEAD + "x: 0x" + "f" * 10_000 + "\n", (3, 4), "number too long (10002 characters"),
    Hostile(
        "lone_surrogate",
        lambda: HEAD + 'subjects:\n  s1:\n    sessions:\n      e1:\n        visit_id: "\\uD800"\n',
        (7, 19),
        "lone surrogate (U+D800)",
    ),
    Hostile("lone_surrogate_key", lambda: HEAD + 'subjects:\n  "s\\uDFFF": {}\n', (4, 3), "lone surrogate (U+DFFF)"),
    Hostile(
        "nul_escape", lambda: HEAD + 'subjects:\n  s1: {fields: {note: "a\\0b"}}\n', (4, 23), "control character U+0000"
    ),
    Hostile(
        "control_escape",
        lambda: HEAD + 'subjects:\n  s1: {fields: {note: "a\\x1bb"}}\n',
        (4, 23),
        "control character U+001B",
    ),
    Hostile(
        "nul_byte",
        lambda: (HEAD + "subjects:\n  s1: {}\0\n").encode(),
        (4, 9),
        "character U+0000 is not allowed in YAML",
    ),
    Hostile(
        "not_utf8", lambda: (HEAD + "subjects:\n  s\xe9: {}\n").encode("latin-1"), (4, 4), "not UTF-8 text (byte 0xe9)"
    ),
    Hostile("utf16", lambda: (HEAD + "subjects: {}\n").encode("utf-16"), (1, 1), "not UTF-8 text (byte 0xff)"),
    Hostile("huge_file", lambda: HEAD + "# " + "x" * (17 * 2**20) + "\n", (1, 1), "larger than 16 MiB"),
    Hostile(
        "long_line_key",
        lambda: HEAD + "subjects:\n  " + "a" * 1_000_000 + ": {}\n",
        (4, 1_000_003),
        "mapping values are not allowed",
    ),
    Hostile(
        "long_line_value",
        lambda: HEAD + "subjects: {s1: {sessions: {e1: {visit_id: " + "v" * 1_000_000 + "}}}}\n",
        (3, 43),
        "is 1000000 characters long",
    ),
    Hostile("tab_indent", lambda: HEAD + "subjects:\n\ts1: {}\n", (4, 1), "found character '\\t'"),
    Hostile("duplicate_keys", lambda: HEAD + "subjects:\n  s1: {}\n  s1: {}\n", (5, 3), 'duplicate key "s1"'),
    Hostile("unknown_alias", lambda: HEAD + "subjects: *nowhere\n", (3, 11), "found undefined alias"),
    Hostile("recursive_alias", lambda: HEAD + "subjects: &s {s1: *s}\n", (3, 11), "recursive YAML alias"),
    Hostile("python_tag", lambda: HEAD + "subjects: !!python/object:os.system {}\n", (3, 11), "YAML tags"),
    Hostile("two_documents", lambda: HEAD + "---\n" + HEAD, (3, 1), "expected a single document"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c.id for c in HOSTILE])
def test_hostile_spec_is_refused_in_one_line(case: Hostile, tmp_path: Path) -> None:
    content = case.content()
    spec = tmp_path / "xsync.yaml"
    spec.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    done = run_validate("xsync.yaml", tmp_path)
    assert_refused(done, "xsync.yaml", case.where, case.says)


def assert_refused(done: subprocess.CompletedProcess[str], file: str, where: tuple[int, int], says: str) -> None:
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 4, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: "), lines[:2]
    diagnostics = [line for line in lines[1:] if DIAGNOSTIC.match(line)]
    assert len(diagnostics) == 1 == len(lines) - 1, lines[:5]
    m = DIAGNOSTIC.match(diagnostics[0])
    assert m is not None
    assert (m["file"], int(m["line"]), int(m["col"])) == (file, *where), diagnostics[0][:300]
    assert says in diagnostics[0], diagnostics[0][:300]


# ------------------------------------------------------------------ files and includes


def test_include_cycle(tmp_path: Path) -> None:
    (tmp_path / "xsync.yaml").write_text(HEAD + "include: [a.yaml]\n")
    (tmp_path / "a.yaml").write_text("include: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n")
    done = run_validate("xsync.yaml", tmp_path)
    assert_refused(done, "b.yaml", (1, 11), "include cycle: xsync.yaml -> a.yaml -> b.yaml -> a.yaml")


def test_include_of_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "xsync.yaml").write_text(HEAD + "include: [zero.yaml]\n")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    done = run_validate("xsync.yaml", tmp_path)
    assert_refused(done, "xsync.yaml", (3, 11), 'include "zero.yaml": not a regular file')


def test_include_of_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "xsync.yaml").write_text(HEAD + "include: [sub]\n")
    (tmp_path / "sub").mkdir()
    done = run_validate("xsync.yaml", tmp_path)
    assert_refused(done, "xsync.yaml", (3, 11), 'include "sub": not a regular file')


def test_spec_read_from_a_device_is_cut_off(tmp_path: Path) -> None:
    done = run_validate("/dev/zero", tmp_path)
    assert_refused(done, "/dev/zero", (1, 1), "larger than 16 MiB")


def test_include_outside_the_folder_is_read_and_named_by_its_path(tmp_path: Path) -> None:
    # Allowed (shared files one folder up are common); every message names the file it read.
    spec_dir = tmp_path / "site"
    spec_dir.mkdir()
    (spec_dir / "xsync.yaml").write_text(HEAD + "include: [../shared.yaml, linked.yaml]\n")
    (tmp_path / "shared.yaml").write_text("subjects:\n  s1: {gender: bogus}\n")
    (tmp_path / "elsewhere.yaml").write_text("subjects:\n  s2: {}\n")
    (spec_dir / "linked.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    done = run_validate("xsync.yaml", spec_dir)
    assert_refused(done, str(tmp_path / "shared.yaml"), (2, 16), "subjects.s1.gender")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "xsync.yaml").write_bytes(b"\xef\xbb\xbf" + (HEAD + "subjects:\n  s1: {}\n").encode())
    done = run_validate("xsync.yaml", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid: project P, 1 subject," in done.stderr


def test_limits_leave_a_large_ordinary_spec_alone(tmp_path: Path) -> None:
    # Nine levels deep, aliases used a thousand times, numbers at their longest sensible size.
    spec = HEAD + "defaults:\n  subject:\n    fields: &site {site: S, group: G}\nsubjects:\n"
    spec += "".join(
        textwrap.indent(
            f"s{i}:\n  fields: *site\n  sessions:\n    e{i}:\n      fields: {{n: {i}}}\n      scans:\n        '1': {{quality: usable}}\n",
            "  ",
        )
        for i in range(1_000)
    )
    (tmp_path / "xsync.yaml").write_text(spec)
    done = run_validate("xsync.yaml", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "valid: project P, 1,000 subjects, 1,000 sessions, 1,000 scans" in done.stderr


# ------------------------------------------------------------------ rule patterns


def test_backtracking_regex_rule_does_not_hang_matching(tmp_path: Path) -> None:
    # `^(a+)+$` takes 2**40 steps in a backtracking engine on 40 a's and a "!": a hang.
    (tmp_path / "xsync.yaml").write_text(
        HEAD + "rules:\n  scans:\n    - match: {series_description: '/^(a+)+$/'}\n      set: {type: T1w}\n"
    )
    code = textwrap.dedent("""\
        from pathlib import Path
        from xsync.spec import load_spec
        from xsync.spec.rules import match_scan_rules
        spec = load_spec(Path("xsync.yaml"))
        hostile = match_scan_rules(spec.rules, {"series_description": "a" * 40 + "!"})
        plain = match_scan_rules(spec.rules, {"series_description": "a" * 40})
        print(hostile.matched, plain.matched)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["()", "(0,)"]


def test_regex_rule_outside_re2_syntax_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "xsync.yaml").write_text(
        HEAD + "rules:\n  scans:\n    - match: {series_description: '/(a)\\1/'}\n      set: {type: T1w}\n"
    )
    done = run_validate("xsync.yaml", tmp_path)
    assert_refused(
        done, "xsync.yaml", (5, 15), 'invalid regular expression "/(a)\\1/": invalid escape sequence: \\1 (RE2 syntax)'
    )
