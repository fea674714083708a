"""An exported spec as YAML text, written directly (a 20,000-scan project is 35,000 lines, which
a general YAML emitter takes seconds over): block mappings for the tree, a flow mapping for
each leaf (a scan's fields, a binding, custom variables), a header comment."""

from __future__ import annotations

from typing import Any

from xsync.export.scalars import flow_text, scalar_text

_FLOW_KEYS = frozenset({"dicom", "fields"})
_TREE_KEYS = frozenset({"subjects", "sessions", "scans"})


def render(document: dict[str, Any], header: str) -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _block(document, 0, lines)
    return "\n".join(lines) + "\n"


def _block(mapping: dict[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        name = scalar_text(key)
        if isinstance(value, dict) and value and (key in _TREE_KEYS or (key not in _FLOW_KEYS and not _leaf(value))):
            lines.append(f"{pad}{name}:")
            _block(value, indent + 2, lines)
        elif isinstance(value, list):
            lines.append(f"{pad}{name}:")
            lines.extend(f"{pad}  - {flow_text(item)}" for item in value)
        else:
            lines.append(f"{pad}{name}: {flow_text(value)}")


def _leaf(value: dict[str, Any]) -> bool:
    """A mapping of plain values only (a scan's fields): one line."""
    return all(not isinstance(v, dict | list) for v in value.values())
