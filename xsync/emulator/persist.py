"""`--data-dir`: the store as one JSON file (`state.json`), written atomically (temp file +
rename) after every change and reloaded at start, so files uploaded or imported earlier stay
reachable across restarts.

Serialisation is generic over the store's dataclasses: every field is written except those
marked `field(metadata={"transient": True})` (derived data such as a prearchive row's built
session). Paths inside the data directory are written relative to it, so the directory can be
moved. Sessions and alias tokens are not persisted (a restarted XNAT forgets sessions too).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from xsync.emulator import store as store_module
from xsync.emulator.store import Counters, Experiment, PrearchiveSession, Project, Store, Subject

STATE_FILE = "state.json"
FORMAT_VERSION = 1
_DATACLASSES = {
    name: obj
    for name, obj in vars(store_module).items()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == store_module.__name__
}
_NAME = re.compile(r"[A-Za-z_]\w*")


def dump(value: Any, root: Path) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: dump(getattr(value, f.name), root)
            for f in dataclasses.fields(value)
            if not f.metadata.get("transient")
        }
    if isinstance(value, Path):
        return str(value.relative_to(root)) if value.is_relative_to(root) else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(dump(v, root) for v in value)
    if isinstance(value, dict):
        return {k: dump(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(v, root) for v in value]
    return value


def load(cls: type, data: dict[str, Any], root: Path) -> Any:
    """Rebuild a store dataclass; nested dataclasses, Paths and sets are recognised from the
    fields' annotations (strings, as the store module uses postponed annotations)."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("transient") or f.name not in data:
            continue
        kwargs[f.name] = _convert(str(f.type), data[f.name], root)
    return cls(**kwargs)


def _convert(annotation: str, value: Any, root: Path) -> Any:
    if value is None:
        return None
    names = _NAME.findall(annotation)
    nested = next((_DATACLASSES[n] for n in names if n in _DATACLASSES), None)
    if annotation.startswith("dict[") and isinstance(value, dict):
        inner = annotation[annotation.index(",") + 1 : -1].strip()
        return {k: _convert(inner, v, root) for k, v in value.items()}
    if annotation.startswith("list[") and isinstance(value, list):
        return [_convert(annotation[5:-1], v, root) for v in value]
    if annotation.startswith("set[") and isinstance(value, list):
        return set(value)
    if nested is not None and isinstance(value, dict):
        return load(nested, value, root)
    if "Path" in names and isinstance(value, str):
        p = Path(value)
        return p if p.is_absolute() else root / p
    return value


class Persistence:
    """Keeps `<data_dir>/state.json` in step with the store."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.path = data_dir / STATE_FILE
        self._lock = threading.Lock()

    def restore(self) -> bool:
        """Load the saved state into the (empty) store; False when there is none."""
        if not self.path.is_file():
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{self.path} is not a readable emulator state: {e}") from e
        root = self.store.root
        with self.store.lock:
            for pid, p in data.get("projects", {}).items():
                self.store.projects[pid] = load(Project, p, root)
            for s in data.get("subjects", {}).values():
                self.store.add_subject(load(Subject, s, root))
            for e in data.get("experiments", {}).values():
                self.store.add_experiment(load(Experiment, e, root))
            self.store.prearchive[:] = [load(PrearchiveSession, r, root) for r in data.get("prearchive", [])]
            self.store.counters = load(Counters, data.get("counters", {}), root)
        return True

    def save(self) -> None:
        with self._lock:
            root = self.store.root
            with self.store.lock:
                data = {
                    "version": FORMAT_VERSION,
                    "projects": dump(self.store.projects, root),
                    "subjects": dump(self.store.subjects, root),
                    "experiments": dump(self.store.experiments, root),
                    "prearchive": dump(self.store.prearchive, root),
                    "counters": dump(self.store.counters, root),
                }
            text = json.dumps(data)
            fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
