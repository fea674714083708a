"""The entries of an uploaded archive, read as DicomZipImporter reads them: front to back, each
handed to the importer before the next is read (a zip as java.util.zip.ZipInputStream reads
it, `zipreader.py`; a tar or gzipped tar through tarfile's stream mode), nested archives
expanded in place (1.8.10+).

What fails where (DicomZipImporter.importCompressedFile turns an IOException into a
ClientException, which Importer answers with 400 and its message):
- The archive cannot be read on (a damaged or refused local header, a STORED entry with a
  data descriptor, a dropped connection between entries, any tar damage): the iteration
  raises 400 "unable to read data from file". A name that is not UTF-8 raises 400
  "MALFORMED" (ZipInputStream's IllegalArgumentException reaches Importer unwrapped).
- An entry's bytes cannot be read (a wrong CRC or size, a deflate stream cut short or
  corrupt, an unknown method, the connection dropped inside it): the gradual importer reading
  the entry fails, so the entry comes with the failure XNAT answers, 400 "unable to read DICOM
  object <file name>", and `Ignore-Unparsable` may skip it. When the zip reader cannot move
  past such an entry, asking for the next raises "unable to read data from file".
- A nested archive that cannot be read on is one failed entry of its parent, 400 "unable to
  read data from file", after its entries before the damage. The nested reader stops at its
  own end, so damage to the parent entry's bytes (a wrong CRC ...) is met only when the
  parent's next entry is asked for: "unable to read data from file", whatever the options.
Choice: tar damage is always of the first kind (XNAT's TarArchiveInputStream would fail some of
it inside the entry being read, as for zips).
"""

from __future__ import annotations

import io
import re
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from xsync.emulator.filenames import archive_entry_name
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.zipreader import MalformedName, Source, ZipFormatError, read_zip

ZIP, TAR, TGZ, GZ, UNKNOWN = "ZIP", "TAR", "TGZ", "GZ", "UNKNOWN"
UNREADABLE = "unable to read data from file"
_MAX_NESTING = 3  # archives inside archives

# What reading an archive on raises when it cannot (a dropped connection is an OSError).
_DAMAGED = (ZipFormatError, tarfile.TarError, zlib.error, EOFError, OSError)


@dataclass(frozen=True)
class ArchiveEntry:
    path: str  # the entry's name in its archive
    data: bytes
    failure: XnatHTTPError | None = None  # what importing it answers, when its bytes could not be read

    @property
    def file_name(self) -> str:
        return entry_file_name(self.path)


def entry_file_name(path: str) -> str:
    """The name the importer knows an entry by (ArchiveEntryFileWriterWrapper: the part after
    the last `/` or `\\`)."""
    return archive_entry_name(path.replace("\\", "/"))


def archive_format(name: str, body: Source) -> str:
    """Zip, tar or gzipped tar: by the file name as XNAT's Format.getFormat, else by the bytes."""
    lower = name.lower()
    if lower.endswith((".zip", ".zar")):
        return ZIP
    if lower.endswith((".tgz", ".tar.gz")):
        return TGZ
    if lower.endswith((".tar", ".xar")):
        return TAR
    head = body.peek(262)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return TGZ
    if head[257:262] == b"ustar":
        return TAR
    return UNKNOWN


# Format.getFormat's patterns, in its order (case-sensitive, by the name alone).
_XNAT_FORMATS = (
    (TAR, re.compile(r"^.*\.[tx]ar$")),
    (TGZ, re.compile(r"^.*\.t(ar\.)?gz$")),
    (ZIP, re.compile(r"^.*\.z(ip|ar)$")),
    (GZ, re.compile(r"^(?!.*\.tar\.gz$).*\.gz$")),
)


def xnat_format(name: str) -> str:
    """The format XNAT 1.8 reads from a file name: ZIP, TAR, TGZ, GZ (a gzipped single file,
    which DICOM-zip refuses) or UNKNOWN."""
    return next((fmt for fmt, pattern in _XNAT_FORMATS if pattern.match(name)), UNKNOWN)


def _is_nested_archive(name: str, sniff: bool) -> bool:
    if not sniff:  # as XNAT: any name Format.getFormat knows (a `.gz` then fails as unsupported)
        return xnat_format(name) != UNKNOWN
    return name.lower().endswith((".zip", ".zar", ".tgz", ".tar.gz", ".tar", ".xar"))


def entries(name: str, body: Source, *, sniff: bool = True) -> Iterator[ArchiveEntry]:
    """Every file of the archive, in archive order, read from `body` as it goes (directories
    skipped). Without `sniff` (strict mode) the format comes from the name alone, as XNAT 1.8
    reads it. Raises XnatHTTPError(400) where the archive cannot be read on (module docstring)."""
    try:
        yield from _walk(name, body, 0, sniff)
    except MalformedName as e:
        raise XnatHTTPError(400, str(e)) from e
    except _DAMAGED as e:
        raise XnatHTTPError(400, UNREADABLE) from e


def _walk(name: str, body: Source, depth: int, sniff: bool) -> Iterator[ArchiveEntry]:
    fmt = archive_format(name, body) if sniff else xnat_format(name)
    if fmt not in (ZIP, TAR, TGZ):
        raise XnatHTTPError(400, f"Unsupported format {fmt}")
    for path, data, damage in _zip_entries(body) if fmt == ZIP else _tar_entries(body, fmt == TGZ):
        if depth < _MAX_NESTING and _is_nested_archive(path, sniff):
            yield from _nested(path, data, depth, sniff)
            if damage is not None:
                # The nested reader stops at its own end, so the damage is met when the next
                # entry of this archive is asked for.
                raise ZipFormatError(damage)
        elif damage is not None:
            yield ArchiveEntry(path, b"", XnatHTTPError(400, f"unable to read DICOM object {entry_file_name(path)}"))
        else:
            yield ArchiveEntry(path, data)


def _nested(path: str, data: bytes, depth: int, sniff: bool) -> Iterator[ArchiveEntry]:
    """A nested archive's entries; one that cannot be read on ends with a failed entry."""
    try:
        yield from _walk(path, Source(io.BytesIO(data)), depth + 1, sniff)
    except XnatHTTPError as e:  # a nested `.gz`: "Unsupported format GZ"
        yield ArchiveEntry(path, b"", e)
    except _DAMAGED:
        yield ArchiveEntry(path, b"", XnatHTTPError(400, UNREADABLE))


def _zip_entries(body: Source) -> Iterator[tuple[str, bytes, str | None]]:
    for entry in read_zip(body):
        yield entry.name, entry.data, entry.damage


def _tar_entries(body: Source, gzipped: bool) -> Iterator[tuple[str, bytes, str | None]]:
    with tarfile.open(fileobj=body, mode="r|gz" if gzipped else "r|") as tf:  # type: ignore[call-overload]
        for member in tf:
            if member.isfile():
                handle = tf.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read(), None
