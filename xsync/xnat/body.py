"""An answer's body, read within bounds, and a listing's JSON checked for the shape xsync relies
on. Pure of the client: failures are `BodyError`s holding one line the client completes with the
method and the URL (never the credentials).

Bounds (docs/connecting.md, "Limits on what a server sends"):
- time: the whole body must arrive within `deadline` seconds of the answer's headers (the CLI
  passes --timeout's read timeout); the socket's own timeout only bounds each gap between bytes,
  so a server sending a byte a second would otherwise never be given up on;
- size: at most `MAX_ANSWER_BYTES` after decompression, counted while reading, so neither an
  endless body nor a gzip bomb is held in memory;
- rows: at most `MAX_LISTING_ROWS` objects in one listing, counted while parsing, so a huge
  listing stops before its rows fill memory;
- nesting: JSON nested deeper than Python's recursion limit is refused, not a RecursionError.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
import urllib3

# 128 MiB: an XNAT listing of a very large project (a scan listing of 100,000 scans is about
# 60 MB) fits; an endless or decompression-bomb answer stops here instead of filling memory.
MAX_ANSWER_BYTES = 128 * 1024 * 1024
# 500,000 rows: more than any listing of a real project (one row per scan, or per scan and custom
# variable); parsed rows cost about 0.5-1.5 KB each in Python, so this keeps a listing's memory
# well under a gigabyte (tests/integration/test_hostile_server.py measures it in a child process).
MAX_LISTING_ROWS = 500_000
_CHUNK = 64 * 1024  # bytes asked for per read; urllib3 (>= 2.6) never decompresses more per call

Row = dict[str, str]


class BodyError(Exception):
    """The body cannot be used; `str()` is one line saying why. `transport`: the failure was
    the connection's (slow, cut), not the content's."""

    def __init__(self, message: str, *, transport: bool = False) -> None:
        super().__init__(message)
        self.transport = transport


def read_body(response: requests.Response, *, deadline: float, max_bytes: int = MAX_ANSWER_BYTES) -> bytes:
    """The decompressed body of a streamed response, read in chunks. Raises `BodyError` once it
    passes `max_bytes`, or is still arriving `deadline` seconds after the headers."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes and "Content-Encoding" not in response.headers:
        raise BodyError(f"the answer announces {int(declared):,} bytes, more than the {_mib(max_bytes)} xsync reads")
    body = bytearray()
    ends = time.monotonic() + deadline
    raw = response.raw
    try:
        while True:
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > max_bytes:
                raise BodyError(f"the answer is larger than the {_mib(max_bytes)} xsync reads")
            if time.monotonic() > ends:
                raise BodyError(f"the answer did not arrive whole within {deadline:g} s (--timeout)", transport=True)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise BodyError(_cut_short(e), transport=True) from None
    finally:
        response.close()
    return bytes(body)


def _cut_short(error: BaseException) -> str:
    if isinstance(error, urllib3.exceptions.DecodeError):
        return "the answer's compressed body is corrupt"
    if isinstance(error, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return "the answer stopped arriving (--timeout sets how long to wait for each byte)"
    return "the connection was lost while the answer arrived"


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


class _TooManyObjects(Exception):
    pass


def parse_json(body: bytes, *, max_objects: int = MAX_LISTING_ROWS + 2) -> Any:
    """The JSON in `body`; at most `max_objects` objects (counted as they are built, so a huge
    listing stops early) and no nesting deeper than the interpreter's recursion limit."""
    count = 0

    def counted(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal count
        count += 1
        if count > max_objects:
            raise _TooManyObjects
        return obj

    try:
        return json.loads(body, object_hook=counted)
    except _TooManyObjects:
        raise BodyError(f"the answer holds more than {MAX_LISTING_ROWS:,} rows, the most xsync reads") from None
    except RecursionError:
        raise BodyError("the answer's JSON is nested too deeply") from None
    except ValueError:  # JSONDecodeError, and a body that is not UTF-8
        raise BodyError(f"the server answered with something that is not JSON ({_looks_like(body)})") from None


def _looks_like(body: bytes) -> str:
    start = body.lstrip()[:200].lower()
    if not start:
        return "an empty body"
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "an HTML page: a proxy or login page, or a wrong server URL?"
    if start.startswith((b"{", b"[")):
        return "truncated or malformed JSON"
    return "neither JSON nor HTML"


def listing_rows(body: Any) -> list[Row]:
    """`ResultSet.Result` of an XNAT listing, checked: a list of objects whose values are all
    scalars. Cells become strings as XNAT writes them (numbers as written, null as ""), since
    everything downstream reads strings; a list or object in a cell is refused, not guessed at."""
    result = body.get("ResultSet") if isinstance(body, dict) else None
    rows = result.get("Result") if isinstance(result, dict) else None
    if rows is None:
        raise BodyError("the listing has no ResultSet.Result")
    if not isinstance(rows, list):
        raise BodyError(f"ResultSet.Result is {_kind(rows)}, not a list of rows")
    checked: list[Row] = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise BodyError(f"row {number} of ResultSet.Result is {_kind(row)}, not an object")
        for key, value in row.items():
            if not isinstance(value, str):
                if isinstance(value, (list, dict)):
                    raise BodyError(f"row {number} of ResultSet.Result has {_kind(value)} in {_shown_key(key)}")
                row[key] = _cell(value)
        checked.append(row)
    return checked


def _cell(value: bool | int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _shown_key(key: str) -> str:
    """A column name as a message shows it: short and printable (it comes from the server)."""
    text = key if len(key) <= 60 else key[:60] + "…"
    return repr(text) if text.isprintable() else ascii(text)
