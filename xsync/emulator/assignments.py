"""`Key:value` assignments inside free-text DICOM fields, read as XNAT's
ContainedAssignmentExtractor reads them (dicom-xnat-util `org/nrg/dcm/ContainedAssignmentExtractor.java`,
`MatchedPatternExtractorWithLengthLimit.java`), and the identifier's extractor chains
(`ChainExtractor.java`; the chains themselves are in dicom-xnat-mx
`org/nrg/dcm/id/XnatDefaultDicomObjectIdentifier.java` and XNAT's
`web/.../org/nrg/dcm/id/Xnat15DicomProjectIdentifier.java`).

XNAT's pattern, matched against the whole field value (`Matcher.matches`):

    (?:\\A|(?:.*[\\s,;]))KEY\\s*\\:\\s*([\\w\\-]*)(?:(?:[\\s,;].*\\Z)|\\Z)    (CASE_INSENSITIVE)

Consequences the emulator keeps:
- the leading `.*` is greedy, so of several assignments of one key the *last* one that fits wins
  (`Project:A Project:B` names B);
- the value may be empty (`Project:` matches with ""), which a chain treats as no value;
- `.` does not cross a line terminator (`\\n`, `\\r`, U+0085, U+2028, U+2029), so text before
  the key may span at most one line break, and so may text after the value;
- `\\w`, `\\s` and the case folding are ASCII only (Java without UNICODE_* flags).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# Java's `.`: anything but a line terminator.
_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"
# Java's `\s` (ASCII): space, tab, newline, vertical tab, form feed, carriage return.
_SPACE = "[ \\t\\n\\x0b\\f\\r]"
_SEPARATOR = "[ \\t\\n\\x0b\\f\\r,;]"
# Java's `\Z`: the end, or before a final line terminator. `matches()` must consume that
# terminator too, which only the separator after the value can do, so a plain end suffices.
_VALUE = "([A-Za-z0-9_\\-]*)"


@cache
def _pattern(key: str) -> re.Pattern[str]:
    source = f"(?:{_DOT}*{_SEPARATOR})?{re.escape(key)}{_SPACE}*:{_SPACE}*{_VALUE}(?:{_SEPARATOR}{_DOT}*)?"
    return re.compile(source, re.IGNORECASE | re.ASCII)


def assignment(text: str, key: str) -> str | None:
    """The value assigned to `key` in `text` ("" when the key has an empty value), or None
    when the field does not match."""
    if not text:
        return None
    m = _pattern(key).fullmatch(text)
    return m.group(1) if m else None


def first_of(values: Iterable[str | None]) -> str | None:
    """ChainExtractor: the first non-empty value of the chain; None when there is none."""
    return next((v for v in values if v), None)
