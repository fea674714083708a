"""The CI examples' xsync steps, run as written (with bash, as the runners run them) against the
built-in XNAT emulator, in the order a change goes through them: review (pull or merge request),
merge (apply the reviewed plan), schedule (drift check).

Steps that only talk to GitHub or GitLab (the comment, the artifact download, `pip install`) are
not run; the artifact is handed from the review's workspace to the merge's by copying plan.json,
as the download step does. A shim `xsync` on PATH records each xsync command's own exit code, so
a test sees both it (plan: 2, changes) and the step's (0: the job passes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.docs.ci_files import (
    GITHUB,
    GITHUB_EVENTS,
    GITLAB,
    GITLAB_JOBS,
    GITLAB_SOURCES,
    PHASES,
    REPO,
    Script,
    github_job_condition,
    github_scripts,
    gitlab_jobs,
    gitlab_scripts,
    load,
)
from xsync.emulator import Emulator, EmulatorConfig

# What each phase runs, in order. A command that disappears, changes or moves fails this.
REVIEW_VALIDATE = "validate"
REVIEW_PLAN = "plan --markdown -o plan.json --detailed-exitcode"
MERGE_APPLY = "apply plan.json --auto-approve --json --lock-timeout 600"
DRIFT_CHECK = "plan --markdown --detailed-exitcode"
EXPECTED = {"review": [REVIEW_VALIDATE, REVIEW_PLAN], "merge": [MERGE_APPLY], "schedule": [DRIFT_CHECK]}

SCRIPTS: dict[str, Callable[[str], list[Script]]] = {"github": github_scripts, "gitlab": gitlab_scripts}
SHIM = """#!/usr/bin/env bash
"$XSYNC_TEST_PYTHON" -m xsync "$@"
code=$?
printf '%s %s\\n' "$code" "$*" >> "$XSYNC_TEST_CALLS"
exit "$code"
"""


@dataclass
class Phase:
    """What one phase's steps did: each step's exit code, and each xsync command's."""

    steps: list[tuple[str, int]] = field(default_factory=list)
    calls: list[tuple[int, str]] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return all(code == 0 for _, code in self.steps)


class Runner:
    """Runs a CI file's local steps in a workspace holding a copy of examples/ccf_test."""

    def __init__(self, ci: str, folder: Path, emu: Emulator) -> None:
        self.ci = ci
        self.folder = folder
        (folder / "bin").mkdir()
        (folder / "home").mkdir()
        shim = folder / "bin" / "xsync"
        shim.write_text(SHIM)
        shim.chmod(0o755)
        self.summary = folder / "step-summary.md"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("XNAT_", "PYTEST_", "COV_"))}
        self.env = {**base, "PATH": f"{folder / 'bin'}{os.pathsep}{base.get('PATH', '')}", "HOME": str(folder / "home"),
                    "NO_COLOR": "1", "XSYNC_TEST_PYTHON": sys.executable, "XSYNC_TEST_CALLS": str(folder / "calls"),
                    "GITHUB_STEP_SUMMARY": str(self.summary),
                    "XNAT_HOST": emu.url, "XNAT_USER": "admin", "XNAT_PASS": "admin"}  # fmt: skip

    def workspace(self, name: str) -> Path:
        """A fresh checkout: the example's spec and DICOM, no inventory cache."""
        path = self.folder / name
        shutil.copytree(REPO / "examples" / "ccf_test", path, ignore=shutil.ignore_patterns(".xsync"))
        return path

    def run(self, phase: str, cwd: Path) -> Phase:
        """The phase's local steps in order; after a failure only `if: always()` steps run, as on a
        runner (a GitLab job that fails stops the pipeline's later jobs)."""
        calls = Path(self.env["XSYNC_TEST_CALLS"])
        calls.unlink(missing_ok=True)
        self.summary.unlink(missing_ok=True)
        result = Phase()
        for script in SCRIPTS[self.ci](phase):
            if not script.is_local or (not result.passed and script.condition != "always()"):
                continue
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script.text],
                                  cwd=cwd, env=self.env, capture_output=True, text=True, timeout=180)  # fmt: skip
            result.steps.append((script.name, done.returncode))
            result.output += done.stdout + done.stderr
        for line in calls.read_text().splitlines() if calls.exists() else []:
            code, _, args = line.partition(" ")
            result.calls.append((int(code), args))
        return result


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), strict=True)) as emulator:
        yield emulator


def put(emu: Emulator, path: str, **params: str) -> None:
    """A change made on the server by hand, as a user with curl would."""
    answer = requests.put(
        f"{emu.url}/data/projects/CCF_TEST/{path}", params=params, auth=("admin", "admin"), timeout=10
    )
    answer.raise_for_status()


def experiments(emu: Emulator) -> list[object]:
    listing = requests.get(f"{emu.url}/data/projects/CCF_TEST/experiments", params={"format": "json"},
                           auth=("admin", "admin"), timeout=10)  # fmt: skip
    listing.raise_for_status()
    return list(listing.json()["ResultSet"]["Result"])


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_each_phase_runs_these_xsync_commands_in_this_order(ci: str) -> None:
    for phase in PHASES:
        scripts = SCRIPTS[ci](phase)
        assert [" ".join(words) for s in scripts for words in s.xsync_commands] == EXPECTED[phase], phase
        # the steps that run xsync are runnable as written: no GitHub expression, no network tool
        assert all(s.is_local and "${{" not in s.text for s in scripts if s.xsync_commands), phase


def test_the_github_jobs_run_on_their_events() -> None:
    for phase in PHASES:
        assert f"github.event_name == '{GITHUB_EVENTS[phase]}'" in github_job_condition(phase)


def test_the_gitlab_jobs_run_on_their_pipelines_and_no_other_job_runs_xsync() -> None:
    jobs = gitlab_jobs()
    for phase in PHASES:
        for name in GITLAB_JOBS[phase]:
            assert any(f'$CI_PIPELINE_SOURCE == "{GITLAB_SOURCES[phase]}"' in r["if"] for r in jobs[name]["rules"])
    listed = {name for names in GITLAB_JOBS.values() for name in names}
    others = [Script(name, "\n".join(job["script"])) for name, job in jobs.items() if name not in listed]
    assert others and not any(s.xsync_commands for s in others)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_a_change_goes_from_review_to_apply_to_drift_checks(ci: str, emu: Emulator, tmp_path: Path) -> None:
    runner = Runner(ci, tmp_path, emu)

    pr = runner.workspace("pull-request")
    review = runner.run("review", pr)
    assert review.calls == [(0, REVIEW_VALIDATE), (2, REVIEW_PLAN)]  # 2: changes to review ...
    assert review.passed, review.output  # ... and the job passes
    plan_md = (pr / "plan.md").read_text()
    assert "**Plan: 1 to create, 1 to import (3 files, 4.0 KB), 2 to change, 0 to delete.**" in plan_md
    if ci == "github":
        assert runner.summary.read_text() == plan_md
    assert experiments(emu) == []  # review writes nothing

    main = runner.workspace("main")
    shutil.copy(pr / "plan.json", main / "plan.json")  # the reviewed plan, as the download step fetches it
    merge = runner.run("merge", main)
    assert merge.calls == [(0, MERGE_APPLY)] and merge.passed, merge.output
    summary = json.loads((main / "apply.jsonl").read_text().splitlines()[-1])
    assert summary["event"] == "summary" and summary["ok"] and summary["done"] == 4
    assert len(experiments(emu)) == 1

    nightly = runner.workspace("schedule")
    converged = runner.run("schedule", nightly)
    assert converged.calls == [(0, DRIFT_CHECK)] and converged.passed, converged.output
    assert "**No changes.** The project matches the spec." in (nightly / "drift.md").read_text()

    put(emu, "subjects/sub1", gender="male")  # someone edits XNAT by hand
    drifted = runner.run("schedule", nightly)
    assert drifted.calls == [(2, DRIFT_CHECK)]
    assert not drifted.passed  # the job fails so that someone looks ...
    drift_md = (nightly / "drift.md").read_text()
    assert '~     gender = "male" -> "female"' in drift_md  # ... and sees what differs
    if ci == "github":
        assert runner.summary.read_text() == drift_md  # the summary step runs after the failure


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("moved", ["server", "spec"])
def test_a_plan_that_went_stale_after_review_is_not_applied(ci: str, moved: str, emu: Emulator, tmp_path: Path) -> None:
    runner = Runner(ci, tmp_path, emu)
    pr = runner.workspace("pull-request")
    assert runner.run("review", pr).passed

    main = runner.workspace("main")
    shutil.copy(pr / "plan.json", main / "plan.json")
    if moved == "server":
        put(emu, "subjects/sub1", gender="male")  # created by hand after the review
    else:
        spec = main / "xsync.yaml"  # another change reached main after the review
        spec.write_text(spec.read_text().replace("age: 25", "age: 26"))
    merge = runner.run("merge", main)
    assert merge.calls == [(5, MERGE_APPLY)]
    assert [code for _, code in merge.steps] == [5]  # the job fails with xsync's code ...
    assert "the reviewed plan is stale" in merge.output  # ... and says to plan again
    assert "is not what would be applied now; plan again and review it" in merge.output
    assert experiments(emu) == []  # nothing was written


def test_every_script_is_valid_bash_including_those_not_run() -> None:
    """The GitHub and GitLab API steps cannot run here; bash checks their syntax at least."""
    github = [step["run"] for job in load(GITHUB)["jobs"].values() for step in job["steps"] if "run" in step]
    gitlab = [
        "\n".join([*job.get("before_script", []), *job.get("script", [])])
        for job in {**gitlab_jobs(), **{k: v for k, v in load(GITLAB).items() if k.startswith(".")}}.values()
        if "script" in job or "before_script" in job
    ]
    for text in github + gitlab:
        checked = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"{text}\n{checked.stderr}"
