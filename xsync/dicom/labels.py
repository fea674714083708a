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


def contained_assignment(text: str | None, key: str) -> str | None:
    """The value of `key:value` inside a free-text DICOM field, as XNAT's
    ContainedAssignmentExtractor reads it.

    The key is case-insensitive and must start the field or follow whitespace, `,` or `;`;
    spaces may surround the colon; the value is made of [A-Za-z0-9_-] only and must end the
    field or be followed by whitespace, `,` or `;`. Returns None when there is no such value.
    """
    if not text:
        return None
    pattern = re.compile(
        r"(?:^|[\s,;])" + re.escape(key) + r"\s*:\s*([A-Za-z0-9_-]+)(?=$|[\s,;])",
        re.IGNORECASE,
    )
    m = pattern.search(text)
    return m.group(1) if m else None
