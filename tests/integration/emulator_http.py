"""Small helpers for the emulator's integration tests: a logged-in requests session and the
pieces of XNAT's answers tests look at."""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from xsync.emulator import Emulator
from xsync.emulator.persist import STATE_FILE, dump


def session(emu: Emulator, user: str = "admin", password: str = "admin") -> requests.Session:
    s = requests.Session()
    s.auth = (user, password)
    return s


def rows(response: requests.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:500]
    result: list[dict[str, str]] = response.json()["ResultSet"]["Result"]
    return result


def h3(response: requests.Response) -> str:
    """The message of a Restlet status page."""
    m = re.search(r"<h3>(.*?)</h3>", response.text, re.DOTALL)
    assert m is not None, response.text[:500]
    return m.group(1)


def item(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == 1
    return items[0]


def child(it: dict[str, Any], field: str) -> list[dict[str, Any]]:
    for c in it["children"]:
        if c["field"] == field:
            found: list[dict[str, Any]] = c["items"]
            return found
    return []


def snapshot(emu: Emulator) -> str:
    """Everything a refused request must leave as it was: the archive objects, the prearchive
    rows, the counters, and the files on disk (every path under the store's root, with its
    size), as one comparable string."""
    store = emu.store
    with store.lock:
        state = [
            dump(x, store.root)
            for x in (store.projects, store.subjects, store.experiments, store.prearchive, store.counters)
        ]
        files = sorted(
            (str(p.relative_to(store.root)), p.stat().st_size if p.is_file() else -1)
            for p in store.root.rglob("*")
            if not p.name.startswith((STATE_FILE, ".state-"))  # --data-dir's own file, saved in the background
        )
    return json.dumps([state, files], sort_keys=True)
