"""The file an import request carries, and the entries of an uploaded archive.

Body forms (REST-CONTRACT.md §5.1): a raw body when `inbody=true` or the Content-Type is a known
upload type (the server derives a file name from the type: `upload.zip`, `upload.dcm` ...), or
one file part of a multipart/form-data body.

Choice (as XNAT 1.7 did, and the seed's `curl --data-binary @dicoms.zip` needs): a raw body is
also recognised by its bytes. A body whose derived name says nothing (curl's default
x-www-form-urlencoded, octet-stream) is a zip when it starts with `PK`, a gzipped tar when it
starts with gzip's magic, a tar when it has `ustar` at offset 257. XNAT 1.8 answers such a body
with "Unsupported format UNKNOWN".
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from xsync.emulator.http import Ctx, XnatHTTPError

_SPOOL_BYTES = 16 * 1024 * 1024  # bodies larger than this go to a temporary file
_MAX_NESTING = 3  # archives inside archives (1.8.10+ expands them)

# RequestUtil: the name XNAT gives an in-body upload, by Content-Type.
_DERIVED_NAMES = {
    "application/zip": "upload.zip",
    "application/x-zip-compressed": "upload.zip",
    "application/dicom": "upload.dcm",
    "application/x-mirc": "upload.dcm",
    "application/x-mirc-dicom": "upload.dcm",
    "application/x-tar": "upload.tar",
    "application/x-gtar": "upload.tar.gz",
    "application/x-gzip": "upload.gzip",
    "application/gzip": "upload.gzip",
    "application/octet-stream": "upload",
}
DICOM_TYPES = frozenset({"application/dicom", "application/x-mirc", "application/x-mirc-dicom"})

ZIP, TAR, TGZ, UNKNOWN = "ZIP", "TAR", "TGZ", "UNKNOWN"


@dataclass
class Upload:
    name: str  # the client's file name, or the one derived from the Content-Type
    body: IO[bytes]  # seekable, positioned at 0

    def read(self) -> bytes:
        self.body.seek(0)
        return self.body.read()


def _spool(stream: IO[bytes]) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by the caller
    shutil.copyfileobj(stream, spool, 1024 * 1024)
    spool.seek(0)
    return spool


def _is_archive_magic(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b")) or head[257:262] == b"ustar"


def request_upload(ctx: Ctx) -> Upload | None:
    """The uploaded file, or None when the request carries none.

    Raises 406 for `inbody=true` with a multipart body and 400 for more than one file part."""
    request = ctx.request
    inbody = ctx.flag("inbody")
    if request.mimetype == "multipart/form-data":
        if inbody:
            raise XnatHTTPError(
                406,
                "In-body File posts must include the file directly as the body of the message "
                "(not as part of a multi-part form).",
            )
        parts = [f for _, f in request.files.items(multi=True)]
        if len(parts) > 1:
            raise XnatHTTPError(400, "Importer is limited to one uploaded resource at a time.")
        if not parts:
            return None
        return Upload(parts[0].filename or "upload", _spool(parts[0].stream))
    body = _spool(request.stream)
    head = body.read(262)
    body.seek(0)
    mimetype = request.mimetype
    known = mimetype in _DERIVED_NAMES or mimetype.startswith("text/")
    if not head or not (inbody or known or _is_archive_magic(head)):
        body.close()
        return None
    return Upload(_DERIVED_NAMES.get(mimetype, "upload.unsupported"), body)


def archive_format(name: str, body: IO[bytes]) -> str:
    """Zip, tar or gzipped tar: by the file name as XNAT's Format.getFormat, else by the bytes."""
    lower = name.lower()
    if lower.endswith((".zip", ".zar")):
        return ZIP
    if lower.endswith((".tgz", ".tar.gz")):
        return TGZ
    if lower.endswith((".tar", ".xar")):
        return TAR
    body.seek(0)
    head = body.read(262)
    body.seek(0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return TGZ
    if head[257:262] == b"ustar":
        return TAR
    return UNKNOWN


# What a damaged or unsupported archive raises while being read (encrypted zip entries raise
# RuntimeError, unknown compression methods NotImplementedError).
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith((".zip", ".zar", ".tgz", ".tar.gz", ".tar", ".xar"))


def entries(name: str, body: IO[bytes], depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """(entry name, bytes) for every file in the archive, in archive order; directories are
    skipped and nested archives expanded. A damaged archive raises 400 "unable to read data
    from file" where the damage is met (entries before it have been yielded)."""
    fmt = archive_format(name, body)
    if fmt == UNKNOWN:
        raise XnatHTTPError(400, f"Unsupported format {fmt}")
    try:
        for entry_name, data in _zip_entries(body) if fmt == ZIP else _tar_entries(body, fmt == TGZ):
            if _is_archive_name(entry_name) and depth < _MAX_NESTING:
                nested = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
                with nested:
                    nested.write(data)
                    nested.seek(0)
                    yield from entries(entry_name, nested, depth + 1)
            else:
                yield entry_name, data
    except _DAMAGED as e:
        raise XnatHTTPError(400, "unable to read data from file") from e


def _zip_entries(body: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(body) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                yield info.filename, zf.read(info)


def _tar_entries(body: IO[bytes], gzipped: bool) -> Iterator[tuple[str, bytes]]:
    body.seek(0)
    with tarfile.open(fileobj=body, mode="r:gz" if gzipped else "r:") as tf:
        for member in tf:
            if member.isfile():
                handle = tf.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()
