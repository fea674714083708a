"""JSON Schema of the spec, generated from the models, for editors (yaml-language-server).

    python -m xsync.spec.schema          # rewrites schemas/*.schema.json in the repository

The files are checked in; tests/unit/test_spec_schema.py fails when they are stale. The
schema helps while typing; `xsync validate` remains the judge (positions, includes, rules).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from xsync.spec.model import IncludedFile, Spec

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "xsync.schema.json": (Spec, "xsync spec (xsync.yaml)"),
    "xsync-include.schema.json": (IncludedFile, "xsync included spec file (subjects: and include:)"),
}
_NULL = {"type": "null"}


def _drop_null(node: Any) -> Any:
    """Empty values are refused (model.SpecModel), so `null` is never offered to editors."""
    if isinstance(node, list):
        return [_drop_null(n) for n in node]
    if not isinstance(node, dict):
        return node
    # Defaults that are whole models would list every unset field as null: leave them out.
    out = {k: _drop_null(v) for k, v in node.items() if not (k == "default" and (v is None or isinstance(v, dict)))}
    options = out.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        kept = [o for o in options if o != _NULL]
        del out["anyOf"]
        if len(kept) == 1:
            out.update(kept[0])
        else:
            out["anyOf"] = kept
    return out


def build(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = _drop_null(model.model_json_schema(mode="validation"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}


def render(model: type[BaseModel], title: str) -> str:
    return json.dumps(build(model, title), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else SCHEMA_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name, (model, title) in SCHEMAS.items():
        (out / name).write_text(render(model, title), encoding="utf-8")
        print(out / name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
