"""Reading the CI examples as a CI runner would: which steps (GitHub Actions) or jobs (GitLab CI)
run on which event, their shell scripts, and the `xsync` command lines in them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT_CONFIG = CI / "pre-commit-config.yaml"

# The jobs that run on each stage of a change's life, in the order a change goes through them.
PHASES = ("review", "merge", "schedule")
GITHUB_JOBS = {"review": "plan", "merge": "apply", "schedule": "drift"}
GITHUB_EVENTS = {"review": "pull_request", "merge": "push", "schedule": "schedule"}
GITLAB_JOBS = {"review": ("validate", "plan"), "merge": ("apply",), "schedule": ("drift",)}
GITLAB_SOURCES = {"review": "merge_request_event", "merge": "push", "schedule": "schedule"}
_NETWORK_TOOL = re.compile(r"(?<![\w-])(gh|curl|pip|api)\s")


@dataclass(frozen=True)
class Script:
    """One shell script a runner would run: a GitHub step's `run:` or a GitLab job's `script:`."""

    name: str
    text: str
    condition: str = ""  # a GitHub step's `if:`

    @property
    def xsync_commands(self) -> list[list[str]]:
        return [words for line in self.text.splitlines() for words in xsync_words(line)]

    @property
    def is_local(self) -> bool:
        """Runs without GitHub, GitLab or a package index: no gh, curl or pip in it."""
        return _NETWORK_TOOL.search(self.text) is None


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def xsync_words(command: str) -> list[list[str]]:
    """The arguments of each `xsync` command in one shell line, without redirections."""
    return [words[1:] for words in _commands(command) if words and words[0] == "xsync"]


def _commands(line: str) -> list[list[str]]:
    out = []
    for part in line.replace("||", ";").replace("&&", ";").split(";"):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:  # a fragment of a quoted string split by the `;` above: not a command
            continue
        out.append(words[: next((i for i, w in enumerate(words) if w in (">", ">>", "|")), len(words))])
    return out


def github_scripts(phase: str) -> list[Script]:
    """The `run:` steps of the job that runs in `phase`, in order."""
    job = load(GITHUB)["jobs"][GITHUB_JOBS[phase]]
    steps = [step for step in job["steps"] if "run" in step]
    return [Script(step.get("name", step["run"]), step["run"], str(step.get("if", ""))) for step in steps]


def github_job_condition(phase: str) -> str:
    return str(load(GITHUB)["jobs"][GITHUB_JOBS[phase]]["if"])


def gitlab_scripts(phase: str) -> list[Script]:
    """The `script:` of each job that runs in `phase`, in the order of the pipeline's stages."""
    jobs = load(GITLAB)
    return [Script(name, "\n".join(jobs[name]["script"])) for name in GITLAB_JOBS[phase]]


def gitlab_jobs() -> dict[str, Any]:
    return {name: job for name, job in load(GITLAB).items() if isinstance(job, dict) and "script" in job}
