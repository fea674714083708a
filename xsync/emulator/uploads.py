"""The file an import request carries, and the entries of an uploaded archive.

Body forms (REST-CONTRACT.md §5.1, SecureResource.getFileWritersAndLoadParams): a raw body when
`inbody=true` or the Content-Type is one XNAT takes as an upload (RequestUtil's table; the server
names the body after the type: `upload.zip`, `upload.dcm` ...), or one file part of a
multipart/form-data body.

Lenient (the default; as XNAT 1.7 did, and the seed's `curl --data-binary @dicoms.zip` needs):
a raw body is also recognised by its bytes. A body whose derived name says nothing (curl's
default x-www-form-urlencoded, octet-stream) is a zip when it starts with `PK`, a gzipped tar
when it starts with gzip's magic, a tar when it has `ustar` at offset 257.

Strict (`EmulatorConfig.strict`), as XNAT 1.8's code reads:
- only RequestUtil's types are raw bodies without `inbody=true`, named by that table
  (`application/gzip` and `application/x-zip-compressed` are not among them); with
  `inbody=true` any other type names the body `upload.unsupported` (DICOM-zip then answers
  400 "Unsupported format UNKNOWN");
- `application/x-www-form-urlencoded` counts as a form (RequestUtil.isMultiPartFormData), which
  commons-fileupload cannot parse: 400 "the request doesn't contain a multipart/form-data or
  multipart/mixed stream, content type header is application/x-www-form-urlencoded" (curl's
  `--data-binary` without `-H "Content-Type: application/zip"` and without `inbody=true`);
- any other body carries no file (the importer's "Unable to identify upload format.", or a 500
  without `import-handler`: Importer takes the first of no files).
Choice (both modes): an empty body carries no file (XNAT's answer depends on how the container
hands Restlet an empty entity).
"""

from __future__ import annotations

import re
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

# RequestUtil.supported_upload_types: exactly the types XNAT 1.8 takes as a raw body, and the
# extension of the name it gives it (`*` types are literal: `text/*`, not any text type).
XNAT_UPLOAD_TYPES = {
    "text/*": ".txt",
    "application/*": "",
    "text/plain": ".txt",
    "text/xml": ".xml",
    "text/csv": ".csv",
    "application/dicom": ".dcm",
    "application/zip": ".zip",
    "application/xar": ".xar",
    "application/x-gtar": ".tar.gz",
    "application/x-gzip": ".gzip",
    "application/octet-stream": "",
    "application/pdf": ".pdf",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/x-tar": ".tar",
    "application/msword": ".doc",
    "image/*": ".img",
    "image/bmp": ".bmp",
    "image/gif": ".gif",
    "image/x-icon": ".icon",
    "image/jpeg": ".jpeg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/tiff": ".tiff",
    "video/*": ".video",
    "video/x-msvideo": ".avi",
    "video/mp4": ".mp4",
    "video/mpeg": ".mpg",
    "video/quicktime": ".mov",
    "video/x-ms-wmv": ".wmv",
}
# RequestUtil.isMultiPartFormData: what XNAT hands to its multipart parser.
_FORM_TYPES = frozenset({"multipart/*", "multipart/form-data", "application/x-www-form-urlencoded"})
MULTIPART_ONLY = "the request doesn't contain a multipart/form-data or multipart/mixed stream, content type header is"

ZIP, TAR, TGZ, GZ, UNKNOWN = "ZIP", "TAR", "TGZ", "GZ", "UNKNOWN"


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
        return _multipart(ctx)
    if ctx.config.strict:
        return _strict_raw(ctx, inbody)
    body = _spool(request.stream)
    head = body.read(262)
    body.seek(0)
    mimetype = request.mimetype
    known = mimetype in _DERIVED_NAMES or mimetype.startswith("text/")
    if not head or not (inbody or known or _is_archive_magic(head)):
        body.close()
        return None
    return Upload(_DERIVED_NAMES.get(mimetype, "upload.unsupported"), body)


def _multipart(ctx: Ctx) -> Upload | None:
    parts = [f for _, f in ctx.request.files.items(multi=True)]
    if len(parts) > 1:
        raise XnatHTTPError(400, "Importer is limited to one uploaded resource at a time.")
    if not parts:
        return None
    return Upload(parts[0].filename or "upload", _spool(parts[0].stream))


def _strict_raw(ctx: Ctx, inbody: bool) -> Upload | None:
    """A body that is not multipart/form-data, read as XNAT 1.8 reads it (module docstring)."""
    request = ctx.request
    mimetype = request.mimetype
    if inbody or mimetype in XNAT_UPLOAD_TYPES:
        body = _spool(request.stream)
        if not body.read(1):
            body.close()
            return None
        body.seek(0)
        return Upload("upload" + XNAT_UPLOAD_TYPES.get(mimetype, ".unsupported"), body)
    if mimetype in _FORM_TYPES:
        raise XnatHTTPError(400, f"{MULTIPART_ONLY} {request.headers.get('Content-Type', '')}")
    return None


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


# What a damaged or unsupported archive raises while being read (encrypted zip entries raise
# RuntimeError, unknown compression methods NotImplementedError).
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith((".zip", ".zar", ".tgz", ".tar.gz", ".tar", ".xar"))


def entries(name: str, body: IO[bytes], depth: int = 0, *, sniff: bool = True) -> Iterator[tuple[str, bytes]]:
    """(entry name, bytes) for every file in the archive, in archive order; directories are
    skipped and nested archives expanded. A damaged archive raises 400 "unable to read data
    from file" where the damage is met (entries before it have been yielded). Without `sniff`
    (strict mode) the format comes from the name alone, as XNAT 1.8 reads it."""
    fmt = archive_format(name, body) if sniff else xnat_format(name)
    if fmt not in (ZIP, TAR, TGZ):
        raise XnatHTTPError(400, f"Unsupported format {fmt}")
    try:
        for entry_name, data in _zip_entries(body) if fmt == ZIP else _tar_entries(body, fmt == TGZ):
            if _is_archive_name(entry_name) and depth < _MAX_NESTING:
                nested = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
                with nested:
                    nested.write(data)
                    nested.seek(0)
                    yield from entries(entry_name, nested, depth + 1, sniff=sniff)
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
