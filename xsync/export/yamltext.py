"""An exported spec as YAML text: block style for the tree, one flow mapping per scan and per
binding (a session reads as a short block), a header saying where it came from."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


def render(document: dict[str, Any], header: str) -> str:
    root = CommentedMap()
    for k, v in document.items():
        root[k] = _convert(v)
    root.yaml_set_start_comment(header)
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a value
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def _convert(value: Any, key: str = "") -> Any:
    if not isinstance(value, dict):
        return value
    node = CommentedMap((k, _convert(v, k)) for k, v in value.items())
    if key == "dicom" or key == "fields" or (key not in ("subjects", "sessions", "scans") and _leaf(value)):
        node.fa.set_flow_style()
    return node


def _leaf(value: dict[str, Any]) -> bool:
    """A mapping of plain values only (a scan's fields)."""
    return all(not isinstance(v, dict) for v in value.values())
