"""How a value is written in YAML: plain where it reads back as the same text, else quoted.
One rule for the exported spec and for values written into an existing one."""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_CHARS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ ./+:-]*")
# What a YAML 1.1 or 1.2 reader may take for something other than text (either is quoted:
# a spec is read by other tools too): numbers, special floats, booleans, null, timestamps.
_NOT_TEXT = re.compile(
    r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|0[xob][0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"
    r"|(?i:y|n|yes|no|true|false|on|off|null)|~"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?"
)


def plain_ok(text: str) -> bool:
    """A colon is plain text unless a space follows it or it ends the value (a URL stays plain)."""
    if ": " in text or text.endswith(":"):
        return False
    return bool(_PLAIN_CHARS.fullmatch(text)) and text == text.strip() and not _NOT_TEXT.fullmatch(text)


def scalar_text(value: Any, style: str | None = None) -> str:
    """A value as YAML writes it: numbers and booleans as themselves; text in the quote style it
    had (`style`: `'` or `"`) where that style can hold it, else plain when plain reads back as
    the same text, else double-quoted."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if style == "'" and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    if style != '"' and plain_ok(text):
        return text
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's syntax is a subset) in which every character that is
    not printable (controls, bidi overrides, line separators) is an escape: a value from the
    server never writes a terminal sequence or a hidden line into a spec file."""
    quoted = json.dumps(text, ensure_ascii=False)  # ASCII controls come out escaped already
    return "".join(c if c.isprintable() else _escape(c) for c in quoted)


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def flow_text(value: Any) -> str:
    """A value in flow style: a mapping as `{k: v, ...}`, a list as `[a, b]`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar_text(k)}: {flow_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow_text(v) for v in value) + "]"
    return scalar_text(value)
