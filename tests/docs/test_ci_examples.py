"""The CI examples call xsync with commands and options that exist: each `xsync ...` in a
workflow step, a GitLab job, a pre-commit hook this repository provides or the example
configuration's hooks is parsed by the real command line (nothing runs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from tests.docs.ci_files import (
    GITHUB,
    GITLAB,
    HOOKS,
    PRE_COMMIT_CONFIG,
    gitlab_jobs,
    load,
    xsync_words,
)
from xsync.cli.main import cli


def _invocations() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for job in load(GITHUB)["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                found += [(GITHUB.name, words) for words in xsync_words(line)]
    for job in gitlab_jobs().values():
        for line in "\n".join(job["script"]).splitlines():
            found += [(GITLAB.name, words) for words in xsync_words(line)]
    for hook in load(HOOKS):
        found += [(HOOKS.name, words) for words in xsync_words(hook["entry"])]
    for hook in _configured_hooks():
        if "entry" in hook:
            found += [(PRE_COMMIT_CONFIG.name, words) for words in xsync_words(hook["entry"])]
    return found


def _configured_hooks() -> list[dict[str, Any]]:
    """The example configuration's hooks, and those of its commented-out local variant."""
    text = PRE_COMMIT_CONFIG.read_text()
    live = [hook for repo in load(PRE_COMMIT_CONFIG)["repos"] for hook in repo["hooks"]]
    commented = text[text.index("  # - repo: local") :].splitlines()
    local = "\n".join(line.removeprefix("  # ") for line in commented)
    return live + [hook for repo in YAML(typ="safe").load(local) for hook in repo["hooks"]]


@pytest.mark.parametrize("where, words", _invocations(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_the_example_invocation_parses(
    where: str, words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.json").touch()  # the reviewed plan the apply steps are given: click checks it exists
    group = cli.make_context("xsync", ["--help"], resilient_parsing=True)
    command = cli.get_command(group, words[0])
    assert command is not None, f"{where}: no command {words[0]}"
    try:
        command.make_context(words[0], words[1:])
    except click.UsageError as e:  # an unknown option, a missing value
        pytest.fail(f"{where}: xsync {' '.join(words)}: {e}")


def test_the_examples_apply_on_merge_and_plan_on_pull_requests() -> None:
    for where in (GITHUB.name, GITLAB.name):
        commands = [words[0] for name, words in _invocations() if name == where]
        assert {"validate", "plan", "apply"} <= set(commands), where


def test_the_repository_provides_a_validate_hook_that_the_example_uses() -> None:
    hooks = {hook["id"]: hook for hook in load(HOOKS)}
    validate = hooks["xsync-validate"]
    assert validate["entry"] == "xsync validate" and validate["language"] == "python"
    assert validate["pass_filenames"] is False and validate["always_run"] is False
    assert re.search(validate["files"], "subjects/sub1.yaml") and re.search(validate["files"], "xsync.yml")
    assert not re.search(validate["files"], "README.md")
    configured = load(PRE_COMMIT_CONFIG)["repos"]
    assert configured[0]["rev"] and [hook["id"] for hook in configured[0]["hooks"]] == ["xsync-validate"]
    assert [hook["id"] for hook in _configured_hooks()] == ["xsync-validate", "xsync-validate"]  # ours, and local
