"""XNAT's archive file names for DICOM instances.

The default template (site preference `dicomFileNameTemplate`) is
`${StudyInstanceUID}-${SeriesNumber}-${InstanceNumber}-${HashSOPClassUIDWithSOPInstanceUID}.dcm`.
The hash is Java's `List.hashCode()` of [SOPClassUID, SOPInstanceUID], taken unsigned and
written in lower-case base 36 (verified against NRG's `rest-tests/filenames/sample1.json`).
"""

from __future__ import annotations

import re

_UNSAFE_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.-]")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def java_string_hash(value: str) -> int:
    """`String.hashCode()` as a signed 32-bit int (UTF-16 code units)."""
    data = value.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def java_list_hash(values: list[str]) -> int:
    """`List.hashCode()` of strings as a signed 32-bit int."""
    h = 1
    for v in values:
        h = (31 * h + java_string_hash(v)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


def sop_hash(sop_class_uid: str, sop_instance_uid: str) -> str:
    return base36(java_list_hash([sop_class_uid, sop_instance_uid]) & 0xFFFFFFFF)


def template_file_name(
    study_uid: str | None,
    series_number: str | None,
    instance_number: str | None,
    sop_class_uid: str,
    sop_instance_uid: str,
) -> str:
    """The name XNAT gives an instance with `rename=true` or when it has no usable name."""

    def part(value: str | None, tag: str) -> str:
        return value if value and value.strip() else f"no-value-for-{tag}"  # XNAT: defaultIfBlank

    return (
        f"{part(study_uid, 'StudyInstanceUID')}-{part(series_number, 'SeriesNumber')}-"
        f"{part(instance_number, 'InstanceNumber')}-{sop_hash(sop_class_uid, sop_instance_uid)}.dcm"
    )


def safe_incoming_name(name: str) -> str:
    """An uploaded file's own name as XNAT keeps it: the part after the last `/` (a backslash
    is no separator there), characters other than [A-Za-z0-9_.-] -> `_`."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return _UNSAFE_NAME_CHAR.sub("_", base)
