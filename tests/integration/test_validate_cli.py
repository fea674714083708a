"""`xsync validate` as a user runs it: a real process, real files, exit codes and streams."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def xsync(*args: str, cwd: Path, stdin: str | IO[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XNAT_HOST", "XNAT_USER", "XNAT_PASS")}
    feed = {"input": stdin} if isinstance(stdin, str) else {"stdin": stdin if stdin is not None else subprocess.DEVNULL}
    return subprocess.run(
        [sys.executable, "-m", "xsync", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, **feed
    )


def test_valid_spec_in_the_current_directory(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "hcp_site", tmp_path / "site")
    result = xsync("validate", cwd=tmp_path / "site")
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ("xsync.yaml: valid: project HCP_SITE, 4 subjects, 6 sessions, 3 scans, 10 scan rules\n")


def test_invalid_spec_exits_4_with_every_message_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "subjects").mkdir()
    (tmp_path / "site.yaml").write_text(
        "version: 1\nproject: P\ninclude: [subjects/a.yaml]\nsubjects:\n  sub1: {gender: woman}\n"
    )
    (tmp_path / "subjects" / "a.yaml").write_text("subjects:\n  sub2: {age: old}\n")
    result = xsync("validate", "--spec", "site.yaml", cwd=tmp_path)
    assert result.returncode == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the spec has 2 errors",
        'site.yaml:5:18: subjects.sub1.gender: "woman" is not one of male, female, other, unknown, M, F',
        'subjects/a.yaml:2:15: subjects.sub2.age: expected a whole number, got "old"',
    ]


def test_json_report_for_machines(tmp_path: Path) -> None:
    ok = xsync("validate", "--json", "--spec", str(REPO / "examples" / "ccf_test" / "xsync.yaml"), cwd=tmp_path)
    assert ok.returncode == 0
    report = json.loads(ok.stdout)
    assert report["valid"] is True and report["project"] == "CCF_TEST"
    assert report["counts"] == {"subjects": 1, "sessions": 1, "scans": 1}
    assert report["digest"].startswith("sha256:") and report["diagnostics"] == []

    (tmp_path / "xsync.yaml").write_text("version: 1\nproject: P\nsubjects:\n  sub1: {gander: male}\n")
    bad = xsync("validate", "--json", cwd=tmp_path)
    assert bad.returncode == 4
    assert json.loads(bad.stdout)["diagnostics"] == [
        {
            "file": "xsync.yaml",
            "line": 4,
            "col": 10,
            "path": "subjects.sub1.gander",
            "message": 'unknown key "gander" (did you mean "gender"?)',
            "severity": "error",
        }
    ]


def test_missing_spec_is_exit_4(tmp_path: Path) -> None:
    result = xsync("validate", cwd=tmp_path)
    assert result.returncode == 4
    assert result.stderr.splitlines() == [
        "error: the spec has 1 error",
        "xsync.yaml: spec file not found (use --spec PATH)",
    ]


STDIN_SPEC = """\
version: 1
project: P
dicom: {roots: [dicom]}
include: [subjects/*.yaml]
subjects:
  sub1:
    sessions:
      s1: {dicom: {path: dicom/sub1/s1}}
"""


def test_spec_from_stdin_is_relative_to_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "subjects").mkdir()
    (tmp_path / "subjects" / "sub2.yaml").write_text("subjects:\n  sub2: {age: 3}\n")
    piped = xsync("validate", "--spec", "/dev/stdin", cwd=tmp_path, stdin=STDIN_SPEC)
    assert (piped.returncode, piped.stdout) == (0, "")
    assert piped.stderr == "/dev/stdin: valid: project P, 2 subjects, 1 session, 0 scans, 0 scan rules\n"

    # Redirected from a file elsewhere, /dev/stdin is that file, but still read as a stream:
    # the includes are found in the current directory, not beside the file.
    (tmp_path / "elsewhere").mkdir()
    spec_file = tmp_path / "elsewhere" / "xsync.yaml"
    spec_file.write_text(STDIN_SPEC.replace("sub1:\n", "sub1: {gender: woman}\n  sub9:\n"))
    with spec_file.open() as redirected:
        bad = xsync("validate", "--spec", "/dev/stdin", cwd=tmp_path, stdin=redirected)
    assert bad.returncode == 4
    assert bad.stderr.splitlines() == [
        "error: the spec has 1 error",
        '/dev/stdin:6:18: subjects.sub1.gender: "woman" is not one of male, female, other, unknown, M, F',
    ]
