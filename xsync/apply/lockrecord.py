"""What a project lock records and how it reads: the record, its two encodings on XNAT, the rule
that picks the holder among lock resources, and the messages that name the holder. Pure.

The lock is a project resource labelled `LOCK_LABEL`. Its identity (lock id, owner, host, pid,
start, first expiry) is the resource's `content` attribute, sent as a query parameter of the PUT
that creates it, so no reader ever sees a lock without an owner. XNAT stores `content` verbatim
and lists it in `/data/projects/P/resources` (CatalogUtils.populateTable); a resource's attributes
cannot be changed after creation (a second PUT answers 409), so the heartbeat's later expiries go
into a small `LOCK_FILE` inside the resource, overwritten in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

LOCK_LABEL = "xsync-lock"
LOCK_FILE = "lock.json"
RECORD_FORMAT = "xsync-lock/1"
# XNAT keeps `content` in a VARCHAR(255) column (XFT's DEFAULT_STRING_SIZE, GenericWrapperField), so
# the free-text parts of the record are cut short; the lock id and times are fixed-length.
_MAX_NAME = 48
_UNPRINTABLE = re.compile(r"[\s=]+|[^\x21-\x7e]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LockInfo:
    """One xsync run's lock on a project, as recorded on the server.

    `resource_id` is the lock resource's `xnat_abstractresource_id` (0 before it exists); all
    writes after the create address the resource by it, never by label, since a race can leave
    two resources with the label. A lock whose record cannot be read has `readable` False and the
    id `resource-N`, so that it can still be named to force-unlock."""

    id: str
    owner: str
    host: str
    pid: int
    started: datetime
    expires: datetime
    resource_id: int = 0
    readable: bool = True

    def expired(self, now: datetime) -> bool:
        return self.expires <= now

    def renewed(self, now: datetime, ttl: float) -> LockInfo:
        return replace(self, expires=_whole_seconds(now + timedelta(seconds=ttl)))


def new_lock(lock_id: str, *, owner: str, host: str, pid: int, now: datetime, ttl: float) -> LockInfo:
    started = _whole_seconds(now)
    return LockInfo(
        id=lock_id,
        owner=clean_name(owner),
        host=clean_name(host),
        pid=pid,
        started=started,
        expires=_whole_seconds(now + timedelta(seconds=ttl)),
    )


def unreadable_lock(resource_id: int) -> LockInfo:
    return LockInfo(f"resource-{resource_id}", "", "", 0, _EPOCH, _EPOCH, resource_id, readable=False)


# -- times -----------------------------------------------------------------------------------------
def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _whole_seconds(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


def clean_name(name: str) -> str:
    """One token of printable ASCII: the record is split on spaces and `=`."""
    return _UNPRINTABLE.sub("_", name)[:_MAX_NAME] or "unknown"


# -- the resource's `content` attribute ------------------------------------------------------------
def encode_content(info: LockInfo) -> str:
    """`xsync-lock/1 id=<hex> owner=<user> host=<host> pid=<n> started=<utc> expires=<utc>`
    (at most 230 characters, under XFT's 255)."""
    return (
        f"{RECORD_FORMAT} id={info.id} owner={info.owner} host={info.host} pid={info.pid} "
        f"started={format_time(info.started)} expires={format_time(info.expires)}"
    )


def decode_content(text: str, resource_id: int) -> LockInfo:
    tokens = text.split()
    if not tokens or tokens[0] != RECORD_FORMAT:
        return unreadable_lock(resource_id)
    fields = dict(token.partition("=")[::2] for token in tokens[1:])
    started = parse_time(fields.get("started", ""))
    expires = parse_time(fields.get("expires", ""))
    pid = fields.get("pid", "")
    if not fields.get("id") or started is None or expires is None or not pid.isdigit():
        return unreadable_lock(resource_id)
    return LockInfo(
        fields["id"], fields.get("owner", ""), fields.get("host", ""), int(pid), started, expires, resource_id
    )


# -- the heartbeat's file --------------------------------------------------------------------------
def encode_file(info: LockInfo, renewed: datetime) -> bytes:
    document = {
        "format": RECORD_FORMAT,
        "id": info.id,
        "owner": info.owner,
        "host": info.host,
        "pid": info.pid,
        "started": format_time(info.started),
        "expires": format_time(info.expires),
        "renewed": format_time(renewed),
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def with_file(info: LockInfo, body: bytes) -> LockInfo:
    """`info` with the expiry of its lock file, when the file is well formed and of the same lock
    (anything else keeps the expiry recorded at creation)."""
    try:
        document = json.loads(body)
    except ValueError:
        return info
    if not isinstance(document, dict) or document.get("id") != info.id or not info.readable:
        return info
    expires = parse_time(str(document.get("expires", "")))
    return replace(info, expires=expires) if expires is not None else info


# -- which lock holds ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LockRow:
    """A lock resource from the project's resource listing."""

    resource_id: int
    content: str
    file_count: int

    def info(self) -> LockInfo:
        return decode_content(self.content, self.resource_id)


def lock_rows(rows: Iterable[Mapping[str, str]]) -> list[LockRow]:
    """The lock resources of a resource listing, oldest first. The holder is the first: XNAT
    numbers resources from one database sequence, so the lowest id is the earliest insert and
    every reader that sees the same resources names the same holder."""
    found = [
        LockRow(int(row["xnat_abstractresource_id"]), row.get("content") or "", _int(row.get("file_count")))
        for row in rows
        if row.get("label") == LOCK_LABEL and str(row.get("xnat_abstractresource_id", "")).isdigit()
    ]
    return sorted(found, key=lambda r: r.resource_id)


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


# -- messages --------------------------------------------------------------------------------------
def describe(info: LockInfo, now: datetime) -> str:
    """`alice on ci-3 (pid 4242), started 2024-05-01T12:00:00Z, expires 2024-05-01T12:15:00Z`."""
    if not info.readable:
        return f"an {LOCK_LABEL} resource (XNAT resource {info.resource_id}) whose record cannot be read"
    state = "expired" if info.expired(now) else "expires"
    return (
        f"{info.owner} on {info.host} (pid {info.pid}), started {format_time(info.started)}, "
        f"{state} {format_time(info.expires)}"
    )


def held_message(project: str, info: LockInfo, now: datetime, *, waited: float = 0.0) -> tuple[str, str]:
    """(summary, detail) of a refusal because `info` holds the lock of `project`."""
    waiting = f" (still held after waiting {waited:g} s)" if waited > 0 else ""
    summary = f"project {project} is locked by another xsync run{waiting}: {describe(info, now)}"
    unlock = f"xsync force-unlock {info.id} --project {project}"
    lines = [f"lock id: {info.id}"]
    if info.readable and info.expired(now):
        lines += [
            f"The lock expired at {format_time(info.expires)}: the run that holds it stopped renewing it, so it "
            "probably died (a killed job, a lost machine). An expired lock is never broken automatically.",
            f"If no xsync run is working on {project}, break the lock with: {unlock}",
        ]
    else:
        lines += [
            "To wait for it to be released, run again with --lock-timeout SECONDS.",
            f"If that run is dead, break its lock with: {unlock}",
        ]
    return summary, "\n".join(lines)
