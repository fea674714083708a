"""A plan as its versioned JSON document: the `--json` output and the saved plan file share
this form (schema: schemas/plan.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from xsync.plan.mask import masked
from xsync.plan.plan import Plan
from xsync.render.safe import json_escaped


def plan_document(plan: Plan, *, show_phi: bool = False) -> dict[str, Any]:
    """The document printed and saved: patient identifiers hidden unless `show_phi`."""
    return (plan if show_phi else masked(plan)).model_dump(mode="json", by_alias=True)


def render_json(plan: Plan, *, show_phi: bool = False) -> str:
    text = json.dumps(plan_document(plan, show_phi=show_phi), indent=2, ensure_ascii=False)
    return json_escaped(text) + "\n"


def load_plan_document(text: str) -> Plan:
    data = json.loads(text)
    data.pop("summary", None)  # derived; recomputed from the operations
    return Plan.model_validate(data)


def plan_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "xsync plan"
    return schema


if __name__ == "__main__":  # python -m xsync.render.jsonplan  (rewrites schemas/plan.schema.json)
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
    target.write_text(json.dumps(plan_schema(), indent=2) + "\n", encoding="utf-8")
    print(target)
