"""Golden plans: spec + local DICOM + remote state -> the exact text, JSON and markdown.

Each case lives in tests/golden/plan/<case>/:
  case.json     optional: {"spec": "<repo-relative spec>", "show_unmanaged": true, "show_phi": true}
  xsync.yaml    the spec (unless case.json names one)
  dicom.json    studies to generate with xsync.testing.dicomgen beside the spec (optional)
  remote.json   the server's state (RemoteState.to_json form)
  expected/     plan.txt, plan.json, plan.md
Run `pytest tests/golden --update-golden` to rewrite `expected/` after a deliberate change,
then review the diff like any other code change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xsync.inventory.scan import scan
from xsync.model.remote import RemoteState
from xsync.plan.build import build_plan
from xsync.plan.mask import masked
from xsync.plan.resolve import resolve
from xsync.render.jsonplan import load_plan_document, render_json
from xsync.render.markdown import render_markdown
from xsync.render.text import render_text
from xsync.spec.load import load_spec
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study

CASES_DIR = Path(__file__).parent / "plan"
REPO = Path(__file__).resolve().parents[2]
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())


def _materialise(case: Path, workdir: Path) -> Path:
    """The case's spec and DICOM in a scratch folder (generated DICOM never enters the repo)."""
    meta = json.loads((case / "case.json").read_text()) if (case / "case.json").exists() else {}
    if "spec" in meta:
        source = REPO / meta["spec"]
        shutil.copytree(source.parent, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".xsync"))
        return workdir / source.name
    shutil.copy(case / "xsync.yaml", workdir / "xsync.yaml")
    if (case / "dicom.json").exists():
        for entry in json.loads((case / "dicom.json").read_text())["studies"]:
            series = tuple(SeriesSpec(**s) for s in entry["series"])
            write_study(StudySpec(**entry["study"], series=series), workdir / entry["dir"])
    return workdir / "xsync.yaml"


@pytest.mark.parametrize("name", CASES)
def test_golden_plan(name: str, tmp_path: Path, update_golden: bool) -> None:
    case = CASES_DIR / name
    meta = json.loads((case / "case.json").read_text()) if (case / "case.json").exists() else {}
    spec = load_spec(_materialise(case, tmp_path))
    inventory = scan(spec.dicom.roots, cache_path=None, workers=1) if spec.dicom.roots else None
    remote = RemoteState.from_json(json.loads((case / "remote.json").read_text()))
    plan = build_plan(
        resolve(spec, inventory),
        remote,
        spec_digest="sha256:" + spec.digest,
        inventory_digest="sha256:" + inventory.digest if inventory else "sha256:none",
        version="golden",
        show_unmanaged=bool(meta.get("show_unmanaged")),
    )
    phi = bool(meta.get("show_phi"))
    rendered = {
        "plan.txt": render_text(plan, show_phi=phi),
        "plan.json": render_json(plan, show_phi=phi),
        "plan.md": render_markdown(plan, show_phi=phi),
    }
    expected_dir = case / "expected"
    if update_golden:
        expected_dir.mkdir(exist_ok=True)
        for file, text in rendered.items():
            (expected_dir / file).write_text(text, encoding="utf-8")
    for file, text in rendered.items():
        expected = (expected_dir / file).read_text(encoding="utf-8")
        assert text == expected, f"{name}/{file} differs; if intended, run pytest --update-golden and review"
    assert load_plan_document(rendered["plan.json"]) == (plan if phi else masked(plan))  # the saved form reads back
    for phi in _patient_identifiers(case):
        assert not any(phi in text for text in rendered.values()), f"{name}: a patient identifier leaked"


def _patient_identifiers(case: Path) -> set[str]:
    if not (case / "dicom.json").exists():
        return set()
    found = set()
    for entry in json.loads((case / "dicom.json").read_text())["studies"]:
        study = StudySpec(**entry["study"])
        found |= {study.patient_id, study.patient_name, study.patient_name.replace("^", "_"), study.birth_date}
    return {p for p in found if p}
