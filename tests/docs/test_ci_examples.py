"""The CI examples call xsync with commands and options that exist: each `xsync ...` in a
workflow step or hook is parsed by the real command line (nothing runs)."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from xsync.cli.main import cli

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"


def _invocations() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    workflow = YAML(typ="safe").load((CI / "github-actions.yml").read_text())
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            found += [("github-actions.yml", words) for words in _xsync_words(step.get("run", ""))]
    hooks = YAML(typ="safe").load((CI / "pre-commit-config.yaml").read_text())
    for repo in hooks["repos"]:
        for hook in repo["hooks"]:
            found += [("pre-commit-config.yaml", words) for words in _xsync_words(hook["entry"])]
    return found


def _xsync_words(command: str) -> list[list[str]]:
    out = []
    for part in command.replace("||", ";").replace("&&", ";").split(";"):
        words = shlex.split(part, comments=True)
        words = words[: next((i for i, w in enumerate(words) if w in (">", "|")), len(words))]
        if words and words[0] == "xsync":
            out.append(words[1:])
    return out


@pytest.mark.parametrize("where, words", _invocations(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_the_example_invocation_parses(where: str, words: list[str]) -> None:
    group = cli.make_context("xsync", ["--help"], resilient_parsing=True)
    command = cli.get_command(group, words[0])
    assert command is not None, f"{where}: no command {words[0]}"
    try:
        command.make_context(words[0], words[1:])
    except click.UsageError as e:  # an unknown option, a missing value
        pytest.fail(f"{where}: xsync {' '.join(words)}: {e}")


def test_the_examples_apply_on_merge_and_plan_on_pull_requests() -> None:
    commands = [words[0] for _, words in _invocations()]
    assert {"validate", "plan", "apply"} <= set(commands)
