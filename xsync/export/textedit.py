"""Edits of a YAML file in its own text: a value replaced, a key added or removed, every other
byte (comments, key order, quoting, anchors, blank lines) left exactly as written.

ruamel composes the file into nodes that know where they start and end; an edit replaces that
span of the text. Keys are found through `<<` merges (a key only merged in is added to the
mapping itself, which then overrides the anchor for this object alone), and a value written as
an alias (`*name`) is replaced at the alias, never at its anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from xsync.export.scalars import flow_text, scalar_text

_MERGE = "tag:yaml.org,2002:merge"
_ALIAS = re.compile(r"\*[^\s,\]\}]+")


class EditError(Exception):
    """The file cannot be edited as asked (a mapping is not where the spec says)."""


@dataclass
class YamlText:
    path: Path
    text: str
    root: Node | None
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> YamlText:
        text = path.read_text(encoding="utf-8")
        return cls(path, text, YAML().compose(text))

    # -- finding ---------------------------------------------------------------------------

    def mapping(self, keys: tuple[str, ...]) -> MappingNode | None:
        node: Node | None = self.root
        for key in keys:
            if not isinstance(node, MappingNode):
                return None
            found = _pair(node, key)
            node = found[1] if found else None
        return node if isinstance(node, MappingNode) else None

    # -- editing ---------------------------------------------------------------------------

    def set_value(self, mapping: MappingNode, key: str, value: Any) -> None:
        """Replace `key`'s value (a scalar) in `mapping`, or add the key when only a merge gives it."""
        own = _own_pair(mapping, key)
        if own is None:
            self.add_key(mapping, key, value)
            return
        k, v = own
        start, end, style = self._value_span(k, v)
        self.edits.append((start, end, scalar_text(value, style)))

    def remove_key(self, mapping: MappingNode, key: str) -> bool:
        """Remove `key` written in `mapping` itself; False when it is not (merged in, or absent)."""
        pairs = _own_pairs(mapping)
        index = next((i for i, (k, _) in enumerate(pairs) if _key(k) == key), None)
        if index is None:
            return False
        k, v = pairs[index]
        if mapping.flow_style:
            if index + 1 < len(pairs):
                self.edits.append((k.start_mark.index, pairs[index + 1][0].start_mark.index, ""))
            elif index > 0:
                self.edits.append((self._value_span(*pairs[index - 1])[1], self._value_span(k, v)[1], ""))
            else:
                self.edits.append((k.start_mark.index, self._value_span(k, v)[1], ""))
            return True
        start = self.text.rfind("\n", 0, k.start_mark.index) + 1
        self.edits.append((start, self._line_end(self._value_span(k, v)[1]), ""))
        return True

    def add_key(self, mapping: MappingNode, key: str, value: Any) -> None:
        """Add `key: value` after the mapping's last one-line value, ahead of its nested blocks
        (sessions, scans), where a reader looks for an object's fields; a dict value is written
        in flow style."""
        entry = f"{scalar_text(key)}: {flow_text(value)}"
        pairs = _own_pairs(mapping)
        if mapping.flow_style:
            close = self.text.rfind("}", 0, mapping.end_mark.index)
            self.edits.append((close, close, (", " if pairs else "") + entry))
            return
        if not pairs:
            raise EditError(f"{self.path}: cannot add {key} to an empty block mapping")
        indent = " " * pairs[0][0].start_mark.column
        block = next((i for i, (_, v) in enumerate(pairs) if _is_block(v)), len(pairs))
        after = pairs[block - 1] if block > 0 else pairs[-1]  # a mapping of objects: at its end
        end = self._line_end(self._value_span(*after)[1])
        self.edits.append((end, end, f"{indent}{entry}\n"))

    def result(self) -> str:
        """The text with every edit made, from the end backwards. Lines inserted at one place
        end up deepest first (a session before the next subject), then in the order added."""

        def order(item: tuple[int, tuple[int, int, str]]) -> tuple[int, int, int, int]:
            seq, (start, end, new) = item
            indent = len(new) - len(new.lstrip(" "))
            return start, end, -indent, -seq

        text = self.text
        for _, (start, end, new) in sorted(enumerate(self.edits), key=order, reverse=True):
            text = text[:start] + new + text[end:]
        return text

    # -- spans -----------------------------------------------------------------------------

    def _value_span(self, key: Node, value: Node) -> tuple[int, int, str | None]:
        """Where the value written for `key` is in the text, and its quote style: the alias when
        it is one (whose node is the anchor's, elsewhere in the file)."""
        after = self.text.index(":", key.end_mark.index) + 1
        m = _ALIAS.match(self.text, _skip_space(self.text, after))
        if m:
            return m.start(), m.end(), None
        if isinstance(value, ScalarNode) and value.start_mark.index >= after:
            return value.start_mark.index, _node_end(self.text, value), value.style
        return value.start_mark.index, _node_end(self.text, value), None

    def _line_end(self, index: int) -> int:
        """The index after the newline ending the line `index` is on (or was last on)."""
        if index > 0 and self.text[index - 1] == "\n":
            return index
        nl = self.text.find("\n", index)
        return len(self.text) if nl < 0 else nl + 1


def _is_block(node: Node) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _node_end(text: str, node: Node) -> int:
    """Where the node's text ends: ruamel's end mark, less the spaces and newlines it may run over."""
    start: int = node.start_mark.index
    end: int = node.end_mark.index
    while end > start and text[end - 1] in " \t\n":
        end -= 1
    return end


def _key(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else ""


def _own_pairs(mapping: MappingNode) -> list[tuple[Node, Node]]:
    return [(k, v) for k, v in mapping.value if k.tag != _MERGE]


def _own_pair(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    return next(((k, v) for k, v in _own_pairs(mapping) if _key(k) == key), None)


def _pair(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    """`key` in the mapping itself, else in what it merges (`<<: *anchor` or a list of them)."""
    own = _own_pair(mapping, key)
    if own is not None:
        return own
    for k, v in mapping.value:
        if k.tag == _MERGE:
            merged = v.value if isinstance(v, SequenceNode) else [v]
            for m in merged:
                if isinstance(m, MappingNode):
                    found = _pair(m, key)
                    if found is not None:
                        return found
    return None
