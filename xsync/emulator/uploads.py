"""The file an import request carries (its entries, when an archive: `archive_entries.py`).

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

A raw body is never spooled: the importer reads it from the connection as XNAT does
(FileWriterWrapper hands the importer the entity's stream), so what arrived before a dropped
connection has been imported when the read fails (`BodyCut`). A multipart body is parsed whole
first, as commons-fileupload does (werkzeug spools its file part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from werkzeug.exceptions import ClientDisconnected

from xsync.emulator.http import Ctx, XnatHTTPError
from xsync.emulator.zipreader import Source

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


class BodyCut(OSError):
    """The client closed the connection before the body's Content-Length was reached (Tomcat's
    ClientAbortException under XNAT's reader)."""


class _RequestBody:
    """The request body as werkzeug streams it (bounded by Content-Length), with a dropped
    connection turned into the IOException Java's readers meet."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        try:
            return self._stream.read(n)
        except ClientDisconnected as e:
            raise BodyCut("the client closed the connection before the end of the body") from e


@dataclass(frozen=True)
class Upload:
    name: str  # the client's file name, or the one derived from the Content-Type
    body: Source  # read once, front to back: a raw body streams from the connection

    def read(self) -> bytes:
        return self.body.read()


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
    body = Source(_RequestBody(request.stream))
    head = body.peek(262)
    mimetype = request.mimetype
    known = mimetype in _DERIVED_NAMES or mimetype.startswith("text/")
    if not head or not (inbody or known or _is_archive_magic(head)):
        return None
    return Upload(_DERIVED_NAMES.get(mimetype, "upload.unsupported"), body)


def _multipart(ctx: Ctx) -> Upload | None:
    parts = [f for _, f in ctx.request.files.items(multi=True)]
    if len(parts) > 1:
        raise XnatHTTPError(400, "Importer is limited to one uploaded resource at a time.")
    if not parts:
        return None
    return Upload(parts[0].filename or "upload", Source(parts[0].stream))


def _strict_raw(ctx: Ctx, inbody: bool) -> Upload | None:
    """A body that is not multipart/form-data, read as XNAT 1.8 reads it (module docstring)."""
    request = ctx.request
    mimetype = request.mimetype
    if inbody or mimetype in XNAT_UPLOAD_TYPES:
        body = Source(_RequestBody(request.stream))
        if not body.peek(1):
            return None
        return Upload("upload" + XNAT_UPLOAD_TYPES.get(mimetype, ".unsupported"), body)
    if mimetype in _FORM_TYPES:
        raise XnatHTTPError(400, f"{MULTIPART_ONLY} {request.headers.get('Content-Type', '')}")
    return None
