"""The character rules XNAT applies to labels and file names taken from DICOM headers
(dicom-xnat-util `org/nrg/xnat/Labels.java` and `org/nrg/xnat/Files.java`).

Java's `\\w` without the UNICODE_CHARACTER_CLASS flag is ASCII only, so every other character
-- an accented letter, a CJK ideograph, an emoji -- is one code point to replace, as Java's
regex engine replaces it (a surrogate pair counts once).
"""

from __future__ import annotations

import re

# Labels (subject and session labels, scan directories): letters, digits, `_` and `-`.
_LABEL = re.compile(r"[A-Za-z0-9_-]+")
_NOT_LABEL_CHAR = re.compile(r"[^A-Za-z0-9_-]")
# File names additionally keep `.`.
_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_NOT_FILE_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.-]")


def label_chars(value: str) -> str:
    """`Labels.toLabelChars`: every character outside `[A-Za-z0-9_-]` becomes `_`."""
    return _NOT_LABEL_CHAR.sub("_", value)


def is_label(value: str) -> bool:
    """`Labels.isValidLabel`: non-empty and made of `[A-Za-z0-9_-]` only."""
    return _LABEL.fullmatch(value) is not None


def file_name_chars(value: str) -> str:
    """`Files.toFileNameChars`: every character outside `[A-Za-z0-9_.-]` becomes `_`."""
    return _NOT_FILE_NAME_CHAR.sub("_", value)


def is_file_name(value: str) -> bool:
    """`Files.isValidFilename`: non-empty and made of `[A-Za-z0-9_.-]` only (so `.` and `..`
    pass; callers that write files refuse those two themselves)."""
    return _FILE_NAME.fullmatch(value) is not None
