"""The checked-in JSON Schemas are what the models generate, and the examples satisfy them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from xsync.spec.schema import SCHEMA_DIR, SCHEMAS, build, render
from xsync.spec.yamlsrc import parse

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted((REPO / "examples").rglob("*.yaml"))
SPEC_FILES = [p for p in EXAMPLE_FILES if p.name == "xsync.yaml"]
INCLUDED_FILES = [p for p in EXAMPLE_FILES if p.parent.name == "subjects"]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_checked_in_schema_is_current(name: str) -> None:
    model, title = SCHEMAS[name]
    on_disk = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert on_disk == render(model, title), f"schemas/{name} is stale: run `python -m xsync.spec.schema`"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    model, title = SCHEMAS[name]
    schema = build(model, title)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _data(path: Path) -> Any:
    doc = parse(path, path.read_text(encoding="utf-8"))
    assert not doc.problems
    return doc.data


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_satisfy_the_schema_and_name_it(path: Path) -> None:
    assert path.read_text().startswith("# yaml-language-server: $schema=../../schemas/xsync.schema.json")
    errors = [e.message for e in _validator("xsync.schema.json").iter_errors(_data(path))]
    assert errors == []


@pytest.mark.parametrize("path", INCLUDED_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_included_examples_satisfy_the_include_schema(path: Path) -> None:
    assert path.read_text().startswith("# yaml-language-server: $schema=../../../schemas/xsync-include.schema.json")
    errors = [e.message for e in _validator("xsync-include.schema.json").iter_errors(_data(path))]
    assert errors == []


def test_schema_catches_what_an_editor_should_flag() -> None:
    validator = _validator("xsync.schema.json")
    spec = {
        "version": 1,
        "project": "P",
        "subjects": {"sub1": {"gander": "female", "gender": "woman", "age": "x", "sessions": {"s": {}}}},
    }
    messages = sorted(e.message for e in validator.iter_errors(spec))
    assert len(messages) == 3
    assert "Additional properties are not allowed ('gander' was unexpected)" in messages
    # enumerations are case-insensitive, as in XNAT
    assert list(validator.iter_errors({**spec, "subjects": {"sub1": {"gender": "Female"}}})) == []
