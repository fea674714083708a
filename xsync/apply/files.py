"""The local DICOM of a planned import, as zip entries, and how each instance will be named on
the server.

Uploads ask XNAT to name files by its template (`rename=true`), the names its C-STORE receiver
gives too: `StudyUID-Series-Instance-hash.dcm`, the hash made from the SOP class and instance
UIDs. So which instances a scan already holds is read off the server's file names, and a
re-send carries exactly the missing ones (XNAT refuses a duplicate instance at merge).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

from xsync.apply.zipstream import Entry
from xsync.dicom.naming import template_file_name
from xsync.model.inventory import DicomFile, Series, Study


@dataclass(frozen=True)
class Instance:
    series: Series
    file: DicomFile  # one copy of the SOP instance
    server_name: str  # the name XNAT's template gives it


def instances(study: Study, series: Series) -> list[Instance]:
    """One file per distinct SOP instance of the series, in the order the inventory keeps."""
    seen: dict[str, Instance] = {}
    for f in series.files:
        if f.sop_instance_uid not in seen:
            name = template_file_name(study.uid, series.number, f.instance_number, f.sop_class_uid, f.sop_instance_uid)
            seen[f.sop_instance_uid] = Instance(series, f, name)
    return list(seen.values())


class _Source(io.RawIOBase):
    """A readable stream that closes everything it was opened through (a zip archive and its
    member, a file under its gzip reader)."""

    def __init__(self, stream: IO[bytes], *owners: IO[bytes] | zipfile.ZipFile) -> None:
        super().__init__()
        self._stream = stream
        self._owners = owners

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        return self._stream.read(-1 if n is None else n)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            for owner in reversed(self._owners):
                owner.close()
        super().close()


def open_instance(f: DicomFile) -> BinaryIO:
    """The DICOM object's bytes: a plain file, a zip member, gunzipped where stored so."""
    owners: list[IO[bytes] | zipfile.ZipFile] = []
    if f.member is not None:
        archive = zipfile.ZipFile(f.path)
        owners.append(archive)
        stream: IO[bytes] = archive.open(f.member)
    else:
        stream = open(f.path, "rb")  # noqa: SIM115 - closed by _Source
    if f.gzipped:
        owners.append(stream)
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb"))
    return cast(BinaryIO, _Source(stream, *owners))


def zip_entries(chosen: Iterable[Instance]) -> list[Entry]:
    """Entries named `<series UID>/<SOP instance UID>.dcm` (unique; XNAT renames them anyway)."""
    return [Entry(entry_name(i), i.file.size, _opener(i.file)) for i in chosen]


def entry_name(i: Instance) -> str:
    return f"{i.series.uid}/{i.file.sop_instance_uid}.dcm"


def _opener(f: DicomFile) -> Callable[[], BinaryIO]:
    return lambda: open_instance(f)
