"""The lock record: its encodings, which lock resource holds, and the refusal messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from xsync.apply.lockrecord import (
    LOCK_LABEL,
    LockInfo,
    decode_content,
    describe,
    encode_content,
    encode_file,
    held_message,
    lock_rows,
    new_lock,
    parse_time,
    with_file,
)
from xsync.errors import EXIT_ERROR, LockError, XsyncError

NOW = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)
LOCK_ID = "0123456789abcdef0123456789abcdef"


def a_lock(**kw: object) -> LockInfo:
    args: dict[str, object] = {"owner": "alice", "host": "ci-3", "pid": 4242, "now": NOW, "ttl": 900.0, **kw}
    return new_lock(LOCK_ID, **args)  # type: ignore[arg-type]


def test_a_new_lock_has_whole_second_utc_times_and_its_expiry_after_ttl() -> None:
    info = a_lock(now=datetime(2024, 5, 1, 14, 0, 0, 900_000, tzinfo=UTC).astimezone(), ttl=90.5)
    assert info.started == datetime(2024, 5, 1, 14, 0, 0, tzinfo=UTC)
    assert info.expires == datetime(2024, 5, 1, 14, 1, 31, tzinfo=UTC)
    assert info.renewed(NOW, 60).expires == datetime(2024, 5, 1, 12, 1, 0, tzinfo=UTC)


def test_content_round_trips_and_names_everything() -> None:
    info = a_lock()
    text = encode_content(info)
    assert text == (
        f"xsync-lock/1 id={LOCK_ID} owner=alice host=ci-3 pid=4242 "
        "started=2024-05-01T12:00:00Z expires=2024-05-01T12:15:00Z"
    )
    assert decode_content(text, 17) == LockInfo(LOCK_ID, "alice", "ci-3", 4242, info.started, info.expires, 17)


def test_content_stays_one_token_per_field_and_within_xnats_255_characters() -> None:
    info = a_lock(owner="Dr Jane=Doe\n", host="h" * 300 + ".example.org", pid=4_294_967_295)
    text = encode_content(info)
    assert len(text) <= 255
    assert info.owner == "Dr_Jane_Doe_"
    decoded = decode_content(text, 3)
    assert (decoded.owner, decoded.host, decoded.pid) == ("Dr_Jane_Doe_", "h" * 48, 4_294_967_295)
    assert a_lock(owner="").owner == "unknown"
    assert a_lock(owner="Zoë").owner == "Zo_"


def test_a_record_that_cannot_be_read_is_still_a_lock_named_by_its_resource() -> None:
    for text in ("", "DICOM", "xsync-lock/1 owner=alice", f"xsync-lock/1 id={LOCK_ID} pid=x started=a expires=b"):
        info = decode_content(text, 9)
        assert (info.id, info.readable, info.resource_id) == ("resource-9", False, 9)
        assert "XNAT resource 9" in describe(info, NOW)


def test_parse_time_wants_a_zone() -> None:
    assert parse_time("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_time("2024-05-01T12:00:00") is None
    assert parse_time("soon") is None


def test_the_lock_file_gives_the_current_expiry_of_the_same_lock_only() -> None:
    info = a_lock()
    later = info.renewed(NOW + timedelta(minutes=10), 900)
    body = encode_file(later, NOW + timedelta(minutes=10))
    document = json.loads(body)
    assert document["renewed"] == "2024-05-01T12:10:00Z" and document["owner"] == "alice"
    assert with_file(info, body).expires == later.expires
    other = new_lock("f" * 32, owner="bob", host="h", pid=1, now=NOW, ttl=5)
    assert with_file(other, body) == other
    assert with_file(info, b"{not json") == info
    assert with_file(info, b'{"id": "' + LOCK_ID.encode() + b'", "expires": "never"}') == info


def test_lock_rows_keeps_lock_resources_oldest_first_by_numeric_id() -> None:
    rows = [
        {"xnat_abstractresource_id": "10", "label": LOCK_LABEL, "content": "b", "file_count": "1"},
        {"xnat_abstractresource_id": "3", "label": "DICOM", "content": "", "file_count": "5"},
        {"xnat_abstractresource_id": "9", "label": LOCK_LABEL, "content": "a", "file_count": ""},
        {"xnat_abstractresource_id": "", "label": LOCK_LABEL},
    ]
    found = lock_rows(rows)
    assert [(r.resource_id, r.content, r.file_count) for r in found] == [(9, "a", 0), (10, "b", 1)]


def test_held_message_names_the_holder_and_both_ways_out() -> None:
    summary, detail = held_message("P", a_lock(), NOW)
    assert summary == (
        "project P is locked by another xsync run: alice on ci-3 (pid 4242), "
        "started 2024-05-01T12:00:00Z, expires 2024-05-01T12:15:00Z"
    )
    assert f"lock id: {LOCK_ID}" in detail
    assert "--lock-timeout SECONDS" in detail
    assert f"xsync force-unlock {LOCK_ID} --project P" in detail
    summary, _ = held_message("P", a_lock(), NOW, waited=30)
    assert "(still held after waiting 30 s)" in summary


def test_held_message_of_an_expired_lock_says_so_and_suggests_force_unlock() -> None:
    summary, detail = held_message("P", a_lock(), NOW + timedelta(hours=1))
    assert "expired 2024-05-01T12:15:00Z" in summary
    assert "The lock expired at 2024-05-01T12:15:00Z" in detail
    assert "never broken automatically" in detail
    assert f"xsync force-unlock {LOCK_ID} --project P" in detail
    assert "--lock-timeout" not in detail


def test_lock_error_is_an_operational_error() -> None:
    error = LockError("held", "detail")
    assert isinstance(error, XsyncError) and error.exit_code == EXIT_ERROR
    assert str(error) == "held\ndetail"
