"""XNAT's label rules and the `Key:value` assignments XNAT reads from DICOM comment fields."""

from __future__ import annotations

import re

# XNAT labels and IDs: letters, digits, underscore, hyphen.
LABEL_RE = re.compile(r"[A-Za-z0-9_-]+")
_NOT_LABEL_CHAR = re.compile(r"[^A-Za-z0-9_-]")


def is_valid_label(value: str) -> bool:
    return LABEL_RE.fullmatch(value) is not None


def clean_label(value: str) -> str:
    """XNAT's label cleaner: every character other than [A-Za-z0-9_-] becomes `_`."""
    return _NOT_LABEL_CHAR.sub("_", value)


# What Java's `.` and `\s` match (XNAT's patterns use neither DOTALL nor Unicode classes).
_NOT_LINE_END = "[^\n\r\u0085\u2028\u2029]"
_SPACE = "[ \t\n\x0b\f\r]"
_SEPARATOR = "[ \t\n\x0b\f\r,;]"


def contained_assignment(text: str | None, key: str) -> str | None:
    """The value of `key:value` inside a free-text DICOM field, as XNAT's
    ContainedAssignmentExtractor reads it.

    The whole field must match: the key (case-insensitive) starts the field or follows
    whitespace, `,` or `;`; spaces may surround the colon; the value is made of [A-Za-z0-9_-]
    and ends the field or is followed by whitespace, `,` or `;`. The text before the key and
    after the value may not cross more than that one separating line break. Of several
    assignments the last one wins; an empty last one means no value. Returns None when there
    is no value.
    """
    if not text:
        return None
    pattern = re.compile(
        f"(?:{_NOT_LINE_END}*{_SEPARATOR})?{re.escape(key)}{_SPACE}*:{_SPACE}*([A-Za-z0-9_-]*)"
        f"(?:{_SEPARATOR}{_NOT_LINE_END}*)?",
        re.IGNORECASE | re.ASCII,
    )
    m = pattern.fullmatch(text)
    return m.group(1) or None if m else None
