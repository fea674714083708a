"""schemas/plan.schema.json is generated from the plan model and must not go stale; plans
validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from xsync.render.jsonplan import plan_schema

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "plan"


def test_checked_in_plan_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text()) == plan_schema(), (
        "schemas/plan.schema.json is stale: run `python -m xsync.render.jsonplan` and commit it"
    )


def test_golden_plans_validate_against_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    plans = sorted(GOLDEN.glob("*/expected/plan.json"))
    assert plans
    for p in plans:
        jsonschema.validate(json.loads(p.read_text()), schema)
