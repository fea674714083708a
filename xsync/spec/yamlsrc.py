"""YAML text -> plain Python values plus the position of every key and value.

ruamel.yaml composes the node graph (keeping marks); the conversion to Python values is done
here rather than by ruamel's constructors because the spec needs things they do not give
together: every duplicate key reported (not the first one raised), mapping keys kept as
written (`01:` and `1:` are two scan IDs, not one integer), and a position for every key.

Composition uses libyaml (ruamel.yaml.clib) when it is installed, about ten times faster than
the pure-Python parser (bench/bench_spec_load.py); a file that libyaml rejects is parsed again
in pure Python, so that syntax errors read the same whichever parser is installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import ruamel.yaml
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from xsync.spec.values import WrittenFloat, WrittenInt


def _libyaml() -> tuple[Any, Any]:
    try:
        from ruamel.yaml.cyaml import CBaseLoader, CParser  # type: ignore[attr-defined]
    except ImportError:  # ruamel.yaml.clib not installed: the pure-Python parser does it all
        return None, None
    return CBaseLoader, CParser


_CLoader, _CParser = _libyaml()

HAVE_LIBYAML = _CLoader is not None

PathKey = tuple[str | int, ...]

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
# What the parsers resolve untagged nodes to (timestamps are read as text), and what `!!str`
# and the like spell; any other tag (`!!python/object:...`, `!local`) would promise a meaning
# this reader does not give.
_CORE_TAGS = frozenset(_CORE_TAG_PREFIX + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))
BOM = "\ufeff"

# Limits against hostile or broken files (docs/spec.md, "Limits"). A spec's own structure is at
# most nine levels deep (subjects.S.sessions.E.scans.N.fields.F); both composers recurse once
# per level (the libyaml one in C, where some 30,000 levels overflow the stack), so the depth is
# checked on the parser's events, which are produced without recursion, before composing.
MAX_DEPTH = 100
# Aliases share one node that the conversion copies at every use: nine anchors of nine aliases
# each make 9**9 values from 200 bytes. Counted on the events, before anything is copied. A
# legitimate use (one block of fields aliased under every subject of a large site) stays far
# below this.
MAX_ALIAS_VALUES = 200_000
# The longest number any spec field can hold is a float written out in full (some 50
# characters); well past that a number is a mistake, and from 4,300 digits Python refuses to
# convert it. Below this, a number too large for its field is reported as out of range.
MAX_NUMBER_CHARS = 1000
# Characters that no value can hold: lone surrogates have no UTF-8 encoding (a YAML escape
# such as "\uD800" makes one), and XML 1.0, in which XNAT stores and serves every value,
# allows no C0 control character other than tab, newline and carriage return, nor U+FFFE/F.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based


@dataclass(frozen=True)
class Problem:
    """A YAML-level problem, before any spec validation."""

    mark: Mark
    path: PathKey
    message: str


@dataclass(eq=False)
class Document:
    """One parsed file. `key_at(p)` is where the key of the entry at path p was written and
    `value_at(p)` where its value starts; the empty path is the document itself. The dicts hold
    the parser's own 0-based marks, converted only when asked for (most never are)."""

    path: Path
    data: Any = None
    keys: dict[PathKey, Any] = field(default_factory=dict)
    values: dict[PathKey, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def key_at(self, loc: PathKey) -> Mark | None:
        raw = self.keys.get(loc)
        return None if raw is None else Mark(raw.line + 1, raw.column + 1)

    def value_at(self, loc: PathKey) -> Mark | None:
        raw = self.values.get(loc)
        return None if raw is None else Mark(raw.line + 1, raw.column + 1)


def _tag(node: Node) -> str:
    # Node.tag builds a string on every call; the resolved tag is usually the bare suffix.
    ctag = node.ctag
    return ctag.suffix if ctag.handle is None else str(ctag)


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


# Plain scalars starting otherwise are text: skips the regexes for most values.
_MAYBE_NOT_TEXT = frozenset("0123456789+-.~nNtTfF")


def plain_scalar(text: str) -> Any:
    """YAML 1.2 core-schema resolution of a plain (unquoted) scalar. Dates stay text; numbers
    keep the text they were written as (`WrittenInt`, `WrittenFloat`) for text fields."""
    if text and text[0] not in _MAYBE_NOT_TEXT:
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        return WrittenInt(int(text), text)
    if _OCT.fullmatch(text):
        return WrittenInt(int(text[2:], 8), text)
    if _HEX.fullmatch(text):
        return WrittenInt(int(text[2:], 16), text)
    if _FLOAT.fullmatch(text):
        return WrittenFloat(float(text), text)
    special = _SPECIAL_FLOATS.get(text.lower())
    return text if special is None else WrittenFloat(special, text)


def _unstorable(text: str) -> str | None:
    """Why `text` cannot be a value, or None. isprintable() is a fast pass for almost all text."""
    if text.isprintable():
        return None
    bad = _UNSTORABLE.search(text)
    if bad is None:
        return None
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"text holding a lone surrogate (U+{code:04X}) cannot be encoded as UTF-8"
    return f"text holding the control character U+{code:04X} cannot be stored by XNAT (XML allows none)"


def _number_too_long(text: str) -> str | None:
    if len(text) <= MAX_NUMBER_CHARS or not (_INT.fullmatch(text) or _OCT.fullmatch(text) or _HEX.fullmatch(text)
                                             or _FLOAT.fullmatch(text)):  # fmt: skip
        return None
    return f"number too long ({len(text)} characters; at most {MAX_NUMBER_CHARS}): quote it if it is text"


class _Converter:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.active: set[int] = set()  # nodes being converted: a recursive alias would loop
        self.fatal = False  # a value that must not reach validation (or be printed back whole)

    def problem(self, node: Node, path: PathKey, message: str) -> None:
        self.doc.problems.append(Problem(_mark(node), path, message))

    def scalar(self, node: ScalarNode, path: PathKey) -> Any:
        text: str = node.value
        reason = _unstorable(text)
        if reason is None and not node.style and text and text[0] in _MAYBE_NOT_TEXT:
            reason = _number_too_long(text)
        if reason is not None:
            self.problem(node, path, reason)
            self.fatal = True
            return None
        return plain_scalar(text) if not node.style else text

    def convert(self, node: Node, path: PathKey) -> Any:
        if id(node) in self.active:
            self.problem(node, path, "recursive YAML alias")
            self.fatal = True
            return None
        tag = _tag(node) or ""
        if tag not in _CORE_TAGS:
            # Reported, then read as if untagged so that the value's own checks still run.
            self.problem(node, path, f'YAML tags ("{tag}") are not supported')
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.item(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.mapping(cast(MappingNode, node), path)
        finally:
            self.active.discard(id(node))

    def item(self, node: Node, path: PathKey) -> Any:
        self.doc.keys[path] = self.doc.values[path] = node.start_mark
        return self.convert(node, path)

    def mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keys, values = self.doc.keys, self.doc.values
        for key_node, value_node in node.value:
            if _tag(key_node) == _MERGE_TAG or (key_node.value == "<<" and not key_node.style):
                self.problem(key_node, path, 'YAML merge keys ("<<") are not supported; use "defaults:"')
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, path, "a key must be plain text, not a list or mapping")
                continue
            key = key_node.value  # as written: `1:` and `01:` stay apart
            if (reason := _unstorable(key)) is not None:
                self.problem(key_node, path, reason)
                self.fatal = True
                continue
            entry = (*path, key)
            if key in out:
                first = keys[entry]
                self.problem(key_node, entry, f'duplicate key "{key}" (first at line {first.line + 1})')
                continue
            keys[entry] = key_node.start_mark
            # An empty value has no place of its own (the two parsers disagree): use the key's.
            empty = isinstance(value_node, ScalarNode) and value_node.value == "" and not value_node.style
            values[entry] = keys[entry] if empty else value_node.start_mark
            out[key] = self.convert(value_node, entry)
        return out


class _Refused(Exception):
    """The file is beyond a limit; raised before composing it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _check_shape(events: Iterable[Event]) -> None:
    """Raise `_Refused` at the first collection nested deeper than MAX_DEPTH, or at the alias
    that takes the values aliases add past MAX_ALIAS_VALUES. One pass over the parser's events,
    which neither recurses nor expands aliases: `written` counts the values so far, aliases
    counting every value of what they repeat, whose size is known once its anchor is closed."""
    depth = written = repeated = 0
    open_at: list[tuple[str | None, int]] = []  # per open collection: its anchor, `written` at its start
    size_of: dict[str, int] = {}  # anchor -> values it holds, itself included
    for event in events:
        if isinstance(event, ScalarEvent):
            written += 1
            if event.anchor is not None:
                size_of[event.anchor] = 1
        elif isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                message = f"nested deeper than {MAX_DEPTH} levels (a spec needs fewer than ten)"
                raise _Refused(Problem(_event_mark(event), (), message))
            open_at.append((event.anchor, written))
            written += 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            anchor, start = open_at.pop()
            if anchor is not None:
                size_of[anchor] = written - start
        elif isinstance(event, AliasEvent):
            added = size_of.get(event.anchor, 1)  # an alias to an open collection is reported later
            written += added
            repeated += added
            if repeated > MAX_ALIAS_VALUES:
                message = (
                    f"YAML aliases repeat more than {MAX_ALIAS_VALUES} values in all: write the values out, "
                    'or give shared values once under "defaults:"'
                )
                raise _Refused(Problem(_event_mark(event), (), message))


def _event_mark(event: Event) -> Mark:
    return Mark(event.start_mark.line + 1, event.start_mark.column + 1)


def _libyaml_events(text: str) -> Iterator[Event]:
    parser = _CParser(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _compose_pure(text: str, name: str) -> Node | None:
    yaml = ruamel.yaml.YAML(typ="base", pure=True)
    _check_shape(yaml.parse(text))
    return yaml.compose(text)  # type: ignore[no-any-return]


def _compose_libyaml(text: str, name: str) -> Node | None:
    assert _CLoader is not None
    _check_shape(_libyaml_events(text))
    loader = _CLoader(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    finally:
        loader.dispose()


Composer = Callable[[str, str], "Node | None"]


def _yaml_error(exc: YAMLError, text: str) -> tuple[Mark, str]:
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        where = exc.problem_mark
        # A quote or bracket left open is only noticed at the end of the file; the parser's
        # context mark says where it was opened, which is the line to fix.
        if where.index >= len(text) and exc.context_mark is not None and exc.context_mark.index < where.index:
            where = exc.context_mark
        mark = Mark(where.line + 1, where.column + 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        return mark, f"YAML syntax error: {problem}{context}"
    if isinstance(exc, ReaderError) and isinstance(exc.position, int):
        before = text[: exc.position]
        mark = Mark(before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        if isinstance(exc.character, int):
            return mark, f"YAML syntax error: character U+{exc.character:04X} is not allowed in YAML ({exc.reason})"
        return mark, f"YAML syntax error: {exc.reason}"
    return Mark(1, 1), f"YAML syntax error: {str(exc).splitlines()[0]}"


def parse(path: Path, text: str, *, pure_python: bool = False) -> Document:
    """Compose and convert one file; YAML problems land in `doc.problems`, never raised."""
    doc = Document(path=path)
    composer: Composer = _compose_pure if pure_python or not HAVE_LIBYAML else _compose_libyaml
    if text.startswith(BOM):
        text = text[1:]  # written by some Windows editors; the parsers' marks then stay as shown
    try:
        try:
            node = composer(text, str(path))
        except YAMLError:
            # Report what the pure-Python parser says, whichever parser failed first.
            try:
                node = _compose_pure(text, str(path))
            except YAMLError as exc:
                mark, message = _yaml_error(exc, text)
                doc.problems.append(Problem(mark, (), message))
                return doc
    except _Refused as refused:
        doc.problems.append(refused.problem)
        return doc
    if node is not None:
        doc.values[()] = node.start_mark
        converter = _Converter(doc)
        data = converter.convert(node, ())
        doc.data = None if converter.fatal else data  # None with problems: nothing else is checked
    return doc
