"""Writing an exported spec: one file, or an index with one file per subject. Each file is
written aside and renamed into place, and a folder is filled aside and moved into place: an
interrupted export leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from xsync.errors import UsageError
from xsync.export.yamltext import render

SUBJECTS_DIR = "subjects"


def write_text_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_whole(path: Path, document: dict[str, Any], header: str, *, force: bool) -> Path:
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists: refresh it with `xsync export --update --spec {path}`, or replace it with --force"
        )
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent} is not a folder")
    write_text_atomically(path, render(document, header))
    return path


def write_split(folder: Path, document: dict[str, Any], header: str, *, force: bool) -> list[Path]:
    """FOLDER/xsync.yaml (everything but the subjects, and `include: [subjects/*.yaml]`) and
    FOLDER/subjects/LABEL.yaml, one per subject."""
    if folder.exists() and any(folder.iterdir()) and not force:
        raise UsageError(f"{folder} is not empty: choose a new folder, or replace it with --force")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        (staging / SUBJECTS_DIR).mkdir()
        index = {k: v for k, v in document.items() if k != "subjects"}
        index["include"] = [f"{SUBJECTS_DIR}/*.yaml"]
        names = [Path("xsync.yaml")]
        (staging / "xsync.yaml").write_text(render(index, header), encoding="utf-8")
        for label, subject in document["subjects"].items():
            name = Path(SUBJECTS_DIR) / f"{label}.yaml"
            (staging / name).write_text(render({"subjects": {label: subject}}, f"Subject {label}."), encoding="utf-8")
            names.append(name)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / n for n in names]
