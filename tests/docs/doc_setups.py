"""What a docs page assumes before one of its console blocks (`<!-- doctest: setup=NAME -->`):
the situation the page describes, built with real files and real requests."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import requests

from xsync.apply.lockrecord import LOCK_FILE, LOCK_LABEL, encode_content, encode_file, new_lock


def typo_spec(cwd: Path, env: Mapping[str, str]) -> None:
    """docs/spec.md's spec with three mistakes, in two files."""
    (cwd / "subjects").mkdir()
    (cwd / "xsync.yaml").write_text(
        "version: 1\nproject: CCF_TEST\ninclude: [subjects/*.yaml]\nsubjects:\n  sub1:\n    gander: female\n"
        "    gender: woman\n"
    )
    (cwd / "subjects" / "sub2.yaml").write_text(
        "subjects:\n  sub2:\n    sessions:\n      s1:\n        date: 31/01/2024\n"
    )


HELD_LOCK_ID = "5f0c3e0e4b6d4a4c9a51c2d0f1e8a7b3"


def held_lock(cwd: Path, env: Mapping[str, str]) -> None:
    """docs/apply.md's lock of a CI run on another machine, put on the server as that run would."""
    lock = new_lock(HELD_LOCK_ID, owner="ci", host="runner-7", pid=4242, now=datetime.now(UTC), ttl=900)
    auth = (env["XNAT_USER"], env["XNAT_PASS"])
    resources = f"{env['XNAT_HOST']}/data/projects/CCF_TEST/resources"
    put = requests.put(f"{resources}/{LOCK_LABEL}", params={"content": encode_content(lock)}, auth=auth, timeout=10)
    put.raise_for_status()
    requests.put(
        f"{resources}/{LOCK_LABEL}/files/{LOCK_FILE}", params={"inbody": "true"}, data=encode_file(lock, lock.started),
        headers={"Content-Type": "application/json"}, auth=auth, timeout=10,
    ).raise_for_status()  # fmt: skip


def applied(cwd: Path, env: Mapping[str, str]) -> None:
    """The README's walk-through done: CCF_TEST applied."""
    subprocess.run(
        ["xsync", "apply", "--spec", "examples/ccf_test/xsync.yaml", "--auto-approve"],
        cwd=cwd, env=dict(env), check=True, capture_output=True, timeout=120,
    )  # fmt: skip
