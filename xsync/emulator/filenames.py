"""The names XNAT gives received DICOM files and the prearchive directories it puts them in.

- Template names: XNAT's `web/.../org/nrg/dcm/id/TemplatizedDicomFileNamer.java` with the site
  preference `dicomFileNameTemplate` (default below; `.dcm` is appended to a template without
  an extension). `${Keyword}` is the header value (its first value, trimmed), or
  `no-value-for-Keyword` when blank; `${HashAWithB...}` is Java's `List.hashCode()` of those
  values (after that substitution), taken as an unsigned 32-bit number in base 36.
- Kept names: `GradualDicomImporter.getSafeFile` keeps the name a file came with, its
  characters outside `[\\w.-]` made `_` (dicom-xnat-util `Files.toFileNameChars`); an archive
  entry is named by the part after its last `/` (`ArchiveEntryFileWriterWrapper`). The template
  name (with leading dots dropped) is used with `rename=true`, for nameless objects (C-STORE),
  and when the kept name is taken by another instance.
- Scan directories: prearc-importer `Restructurer.determineScanSubdir`: the SeriesNumber when
  it is a valid file name, else the SeriesInstanceUID in label characters, else `NA`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from xsync.emulator.labels import file_name_chars, is_file_name, label_chars

DEFAULT_TEMPLATE = "${StudyInstanceUID}-${SeriesNumber}-${InstanceNumber}-${HashSOPClassUIDWithSOPInstanceUID}"
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_EXTENSION = re.compile(r"\.[A-z0-9]+")  # XNAT's `[A-z]`, which also takes [ \ ] ^ _ `
_HASH_PREFIX, _HASH_JOIN = "Hash", "With"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_MASK32 = 0xFFFFFFFF


def java_string_hash(value: str) -> int:
    """`String.hashCode()` as an unsigned 32-bit number: over UTF-16 code units."""
    units = value.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "big")) & _MASK32
    return h


def java_list_hash(values: Iterable[str]) -> int:
    """`List.hashCode()` of strings as an unsigned 32-bit number."""
    h = 1
    for v in values:
        h = (31 * h + java_string_hash(v)) & _MASK32
    return h


def base36(n: int) -> str:
    """`Long.toString(n, 36)` for n >= 0."""
    digits = ""
    while True:
        n, r = divmod(n, 36)
        digits = _BASE36[r] + digits
        if n == 0:
            return digits


class FileNameTemplate:
    """A `dicomFileNameTemplate`, parsed once."""

    def __init__(self, template: str = DEFAULT_TEMPLATE) -> None:
        last_dot = template.rfind(".")
        has_extension = last_dot >= 0 and _EXTENSION.fullmatch(template[last_dot:]) is not None
        self.template = template if has_extension else template + ".dcm"
        variables = _VARIABLE.findall(self.template)
        self._hashes = {v: v[len(_HASH_PREFIX) :].split(_HASH_JOIN) for v in variables if v.startswith(_HASH_PREFIX)}
        hashed = [part for parts in self._hashes.values() for part in parts]
        self._plain = [v for v in dict.fromkeys([*variables, *hashed]) if v not in self._hashes]

    def name(self, header: Callable[[str], str]) -> str:
        """The file name for an object whose header value for a keyword is `header(keyword)`."""
        values = {}
        for keyword in self._plain:
            value = header(keyword)
            values[keyword] = value if value.strip() else f"no-value-for-{keyword}"
        for variable, parts in self._hashes.items():
            values[variable] = base36(java_list_hash(values[p] for p in parts))
        return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), self.template)


def archive_entry_name(path: str) -> str:
    """The name an archive entry is imported under: the part after the last `/` (Java's
    `split` drops trailing empty parts, so `dir/` names `dir`)."""
    parts = path.split("/")
    while parts and not parts[-1]:
        parts.pop()
    return parts[-1] if parts else ""


def kept_name(name: str) -> str | None:
    """The name an uploaded file keeps when nothing forces the template, or None when it has
    no usable one. Choice: `.` and `..` (valid for XNAT's pattern) are refused, as they name
    no file."""
    cleaned = file_name_chars(archive_entry_name(name))
    return cleaned if is_file_name(cleaned) and cleaned not in (".", "..") else None


def scan_directory(series_number: str, series_uid: str) -> str:
    """Where a received object waits in the prearchive: `SCANS/<this>/DICOM/`."""
    if is_file_name(series_number) and series_number not in (".", ".."):
        return series_number
    return label_chars(series_uid) if series_uid else "NA"
