"""Read one file of the tree: a DICOM file, a gzip-ed DICOM file, or a zip of DICOM files.

`read_file` never raises for a bad file: every outcome is an `Entry` whose `kind` says what
was found. Plain little-endian files go through the fast parser (`header.parse`); anything
it declines goes to pydicom.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, NamedTuple

from xsync.inventory.fields import INSTANCE_FIELDS, WANTED, Header, decode
from xsync.inventory.header import (
    CHUNK,
    EXPLICIT_VR_BE,
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    MEDIA_STORAGE_DIRECTORY,
    DicomDir,
    NotDicom,
    ReadAt,
    Truncated,
    classify,
    parse,
)

# Non-blocking: should a FIFO take a file's place between stat and open, opening it must not
# hang the scan (it is then refused as not a regular file, never read).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)

# Of a gzip-ed object, only the first GZIP_HEAD bytes are kept to read the header from: the
# rest is decompressed to learn the object's length (what an upload sends) and thrown away,
# so memory stays bounded whatever the file expands to. Headers are kilobytes; 64 MiB leaves
# room for the largest private sequences seen in practice.
GZIP_HEAD = 64 << 20
# A gzip-ed object expanding beyond this is reported and not read: no DICOM element can
# declare more (lengths are 32-bit), and it bounds the time a gzip bomb costs (seconds).
GZIP_MAX_OBJECT = 4 << 30
_STREAM_CHUNK = 1 << 20

# A zip member whose name climbs out of the archive's folder or is absolute.
_UNSAFE_MEMBER = re.compile(r"^[/\\]|^[A-Za-z]:|(^|[/\\])\.\.([/\\]|$)")

# Entry kinds. "unreadable" is transient (permissions, I/O) and never cached.
OK = "ok"
NOT_DICOM = "not-dicom"
TRUNCATED = "truncated"
CORRUPT = "corrupt"
DICOMDIR = "dicomdir"
UNREADABLE = "unreadable"


class BeyondHead(Exception):
    """The header of a gzip-ed object goes on past the part kept in memory (`GZIP_HEAD`)."""


class Entry(NamedTuple):
    """What one DICOM object (a file, or a member of a zip) turned out to be.

    `size` is the length of the DICOM object itself: after gunzip for `.dcm.gz`, the member's
    uncompressed length inside a zip. `header` is set when `kind` is OK, `message` otherwise.
    """

    member: str | None
    kind: str
    size: int
    gzipped: bool
    header: Header | None
    message: str = ""


# What travels from the readers to the cache and the grouping, one per object:
# (member, kind, size, gzipped, SOP instance UID, instance number, series-level part, message).
# For a DICOM object the series-level part is `Header[INSTANCE_FIELDS:]` and the message "";
# otherwise the UID and number are "", the part is None, and the message says what was found.
Outcome = tuple[str | None, str, int, bool, str, str, tuple[str, ...] | None, str]


def outcomes(entries: Sequence[Entry], shared_parts: dict[tuple[str, ...], tuple[str, ...]]) -> list[Outcome]:
    """`entries` as outcomes. Equal series-level parts become one object (kept in
    `shared_parts`), so that pickle sends and the cache stores each once."""
    out: list[Outcome] = []
    for e in entries:
        h = e.header
        if h is None:
            out.append((e.member, e.kind, e.size, e.gzipped, "", "", None, e.message))
        else:
            shared = h[INSTANCE_FIELDS:]
            out.append((e.member, e.kind, e.size, e.gzipped, h[0], h[1], shared_parts.setdefault(shared, shared), ""))
    return out


def read_file(path: str, size: int) -> list[Entry]:
    """The entries of the file at `path` (`size` as stat saw it)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        return [Entry(None, UNREADABLE, size, False, None, _os_message(e))]
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # replaced since it was listed: never read a FIFO or device
            return [Entry(None, UNREADABLE, size, False, None, f"not a regular file ({file_kind(mode)})")]
        buf = os.read(fd, CHUNK)
        if len(buf) < CHUNK:
            size = len(buf)  # the whole file is in hand, whatever stat said earlier
        kind = classify(buf)
        if kind == "zip":
            return _read_zip(path)
        if kind == "gzip":
            with open(fd, "rb", closefd=False) as raw:
                raw.seek(0)
                return [_read_gzip(None, raw)]
        return [_read_object(None, buf, size, lambda off, n: os.pread(fd, n, off), False)]
    except OSError as e:
        return [Entry(None, UNREADABLE, size, False, None, _os_message(e))]
    finally:
        os.close(fd)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _os_message(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _gunzip(raw: IO[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream, a bounded chunk at a time."""
    with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        while chunk := gz.read(_STREAM_CHUNK):
            yield chunk


def _read_gzip(member: str | None, raw: IO[bytes]) -> Entry:
    """A gzip-ed object, decompressed as a stream: its first `GZIP_HEAD` bytes are kept, the
    rest only counted."""
    head = bytearray()
    total = 0
    try:
        for chunk in _gunzip(raw):
            total += len(chunk)
            if total > GZIP_MAX_OBJECT:
                limit = f"{GZIP_MAX_OBJECT >> 30} GiB"
                return Entry(member, CORRUPT, total, True, None, f"the gzip stream expands to more than {limit}")
            if len(head) < GZIP_HEAD:
                head += chunk[: GZIP_HEAD - len(head)]
    except EOFError:
        return Entry(member, TRUNCATED, total, True, None, "the gzip stream ends early")
    except (gzip.BadGzipFile, zlib.error) as e:
        return Entry(member, CORRUPT, total, True, None, f"not a valid gzip file ({e})")
    inner = bytes(head)
    complete = len(inner) == total

    def read_at(offset: int, n: int) -> bytes:
        if offset + n > len(inner) and not complete:
            raise BeyondHead(f"the header goes on past the first {GZIP_HEAD >> 20} MiB of the gzip-ed object")
        return inner[offset : offset + n]

    return _read_object(member, inner[:CHUNK], total, read_at, True)


def _read_object(member: str | None, buf: bytes, size: int, read_at: ReadAt, gzipped: bool) -> Entry:
    """Parse one DICOM object given its first bytes, length and a reader for the rest."""
    try:
        header = parse(buf, size, read_at)
    except NotDicom as e:
        return Entry(member, NOT_DICOM, size, gzipped, None, str(e))
    except DicomDir:
        return Entry(member, DICOMDIR, size, gzipped, None, "a DICOMDIR index")
    except Truncated as e:
        return Entry(member, TRUNCATED, size, gzipped, None, str(e))
    except BeyondHead as e:
        return Entry(member, CORRUPT, size, gzipped, None, str(e))
    except OSError:
        raise  # the file, not its content: read_file reports it as unreadable
    except Exception:  # NeedsFallback, or bytes the fast path did not expect: pydicom decides
        return _read_with_pydicom(member, size, gzipped, read_at, classify(buf))
    return Entry(member, OK, size, gzipped, header)


def _read_with_pydicom(member: str | None, size: int, gzipped: bool, read_at: ReadAt, kind: str) -> Entry:
    """pydicom for what the fast path declines (big endian, deflate, odd encodings).

    pydicom parses the structure; the raw values then go through the same decoder as the fast
    path, so both paths give identical text for identical bytes.
    """
    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.multival import MultiValue

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Read lazily: pydicom stops before the pixel data, which is never loaded.
            ds = pydicom.dcmread(io.BufferedReader(_LazyFile(read_at, size)), stop_before_pixels=True, force=True)
            found: list[tuple[tuple[int, int], bytes]] = []
            for tag, field in WANTED.items():
                if tag not in ds:
                    continue
                elem = ds.get_item(tag)
                if isinstance(elem, RawDataElement):
                    found.append((field, elem.value or b""))
                else:  # already converted by pydicom (the character set is, to read the rest)
                    value = elem.value
                    text = (
                        "\\".join(map(str, value)) if isinstance(value, MultiValue | list | tuple) else str(value or "")
                    )
                    found.append((field, text.encode("utf-8")))
            meta = getattr(ds, "file_meta", None)
            ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
            if not ts:
                implicit, little = ds.original_encoding
                ts = IMPLICIT_VR_LE if implicit else (EXPLICIT_VR_LE if little else EXPLICIT_VR_BE)
            header = decode(found, ts)
    except BeyondHead as e:
        return Entry(member, CORRUPT, size, gzipped, None, str(e))
    except (EOFError, struct.error) as e:
        return Entry(member, TRUNCATED, size, gzipped, None, f"the header ends early ({e})")
    except Exception as e:  # pydicom raises many types for garbage; the file is what is wrong
        return Entry(member, CORRUPT, size, gzipped, None, f"pydicom cannot read it ({type(e).__name__}: {e})")
    if kind != "dicom" and not (header.sop_class_uid or header.study_instance_uid or header.sop_instance_uid):
        return Entry(member, NOT_DICOM, size, gzipped, None, "no DICM magic and no DICOM identifiers")
    meta_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    if meta_class == MEDIA_STORAGE_DIRECTORY:
        return Entry(member, DICOMDIR, size, gzipped, None, "a DICOMDIR index")
    return Entry(member, OK, size, gzipped, header)


def _read_zip(path: str) -> list[Entry]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        return [Entry(None, CORRUPT, 0, False, None, f"a damaged zip archive ({e})")]
    entries: list[Entry] = []
    with zf:
        for info in zf.infolist():
            name = info.filename
            if _UNSAFE_MEMBER.search(name):  # never extracted by anything; said, not dropped
                message = "an unsafe member name (an absolute path, or '..'): not read"
                entries.append(Entry(name, CORRUPT, info.file_size, False, None, message))
                continue
            if info.is_dir() or any(part.startswith(".") or part == "__MACOSX" for part in name.split("/")):
                continue
            try:
                with zf.open(info) as fh:
                    buf = fh.read(CHUNK)
                    kind = classify(buf)
                    if kind == "gzip":
                        fh.seek(0)
                        entries.append(_read_gzip(name, fh))
                    elif kind == "zip":
                        entries.append(Entry(name, NOT_DICOM, info.file_size, False, None, "a zip inside a zip"))
                    else:
                        entries.append(_read_object(name, buf, info.file_size, _member_reader(fh, buf), False))
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
                entries.append(Entry(name, CORRUPT, info.file_size, False, None, f"cannot extract ({e})"))
    return entries


def _member_reader(fh: IO[bytes], head: bytes) -> ReadAt:
    def read_at(offset: int, n: int) -> bytes:
        if offset + n <= len(head):
            return head[offset : offset + n]
        fh.seek(offset)  # forward seeks decompress and discard; backward ones restart the member
        return fh.read(n)

    return read_at


class _LazyFile(io.RawIOBase):
    """A read-only file over `read_at`, for pydicom: it reads only what it asks for."""

    name = "<DICOM object>"  # pydicom names the file it reads

    def __init__(self, read_at: ReadAt, size: int) -> None:
        super().__init__()
        self._read_at = read_at
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(b), self._size - self._pos))
        data = self._read_at(self._pos, n) if n else b""
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)


def dicom_chunks(path: str, member: str | None = None) -> Iterator[bytes]:
    """The DICOM object itself, a bounded chunk at a time: the file, gunzipped if gzip-ed, or
    a member of a zip archive (gunzipped if gzip-ed)."""
    with contextlib.ExitStack() as stack:
        if member is not None:
            zf = stack.enter_context(zipfile.ZipFile(path))
            fh: IO[bytes] = stack.enter_context(zf.open(member))
        else:
            fh = stack.enter_context(open(path, "rb"))
        magic = fh.read(2)
        fh.seek(0)
        if magic == b"\x1f\x8b":
            yield from _gunzip(fh)
        else:
            while chunk := fh.read(_STREAM_CHUNK):
                yield chunk


def dicom_bytes(path: str, member: str | None = None) -> bytes:
    """The DICOM object itself, whole (see `dicom_chunks`)."""
    return b"".join(dicom_chunks(path, member))
