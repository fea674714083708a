"""The checks on what a server sends, as pure functions: JSON parsing within bounds, the shape of
a listing, the retry budget under --timeout, Retry-After, and labels that must be unique."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import MaxRetryError
from urllib3.response import HTTPResponse

from xsync.errors import ServerError
from xsync.xnat.body import BodyError, listing_rows, parse_json
from xsync.xnat.settings import MAX_RETRY_AFTER, RETRY_BUDGET_TIMEOUTS, RetryPolicy, retry_for_timeout
from xsync.xnat.transport import make_retry
from xsync.xnat.wire import parse_state

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_any_json_is_either_rows_of_strings_or_a_body_error(value: Any) -> None:
    body = {"ResultSet": {"Result": value}}
    try:
        rows = listing_rows(json.loads(json.dumps(body)))
    except BodyError as e:
        assert "\n" not in str(e)
    else:
        assert all(isinstance(cell, str) for row in rows for cell in row.values())


@pytest.mark.parametrize(
    ("cells", "read"),
    [({"a": 7, "b": 2.5, "c": None, "d": True, "e": "x"}, {"a": "7", "b": "2.5", "c": "", "d": "true", "e": "x"})],
)
def test_scalar_cells_are_read_as_xnat_writes_them(cells: dict[str, Any], read: dict[str, str]) -> None:
    assert listing_rows({"ResultSet": {"Result": [cells]}}) == [read]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "no ResultSet.Result"),
        ({"ResultSet": []}, "no ResultSet.Result"),
        ({"ResultSet": {"Result": "rows"}}, "ResultSet.Result is a string, not a list of rows"),
        ({"ResultSet": {"Result": [{"ID": "a"}, []]}}, "row 2 of ResultSet.Result is a list, not an object"),
        ({"ResultSet": {"Result": [{"ID\x1b[31m": {}}]}}, "has an object in 'ID\\x1b[31m'"),
    ],
)
def test_a_listing_of_the_wrong_shape_says_what_is_wrong(body: Any, says: str) -> None:
    with pytest.raises(BodyError) as raised:
        listing_rows(body)
    assert says in str(raised.value)


def test_json_nested_beyond_the_recursion_limit_is_a_body_error() -> None:
    with pytest.raises(BodyError, match="nested too deeply"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


def test_a_listing_stops_parsing_past_its_row_limit() -> None:
    rows = b",".join(b'{"ID":"x"}' for _ in range(11))
    assert len(parse_json(b"[" + rows + b"]", max_objects=11)) == 11
    with pytest.raises(BodyError, match="rows, the most xsync reads"):
        parse_json(b"[" + rows + b"]", max_objects=10)


NOT_JSON = [(b"", "an empty body"), (b"<html><h3>x</h3>", "an HTML page"), (b'{"a": ', "truncated or malformed JSON"),
            (b"\xff", "neither")]  # fmt: skip


@pytest.mark.parametrize(("body", "says"), NOT_JSON)
def test_what_is_not_json_is_named(body: bytes, says: str) -> None:
    with pytest.raises(BodyError, match="not JSON") as raised:
        parse_json(body)
    assert says in str(raised.value)


@pytest.mark.parametrize("timeout", [0.1, 2.0, 10.0, 40.0, 1000.0])
def test_the_retry_budget_under_a_timeout(timeout: float) -> None:
    assert retry_for_timeout(timeout).budget == min(RetryPolicy().budget, RETRY_BUDGET_TIMEOUTS * timeout)


def _answer(retry_after: str) -> HTTPResponse:
    return HTTPResponse(body=b"", status=429, headers={"Retry-After": retry_after}, preload_content=False)


@pytest.mark.parametrize("header", ["soon", "9" * 5000, "-1"])
def test_an_unreadable_retry_after_counts_as_absent(header: str) -> None:
    assert make_retry(RetryPolicy()).get_retry_after(_answer(header)) is None


def test_a_retry_after_beyond_the_cap_is_not_retried() -> None:
    retry = make_retry(RetryPolicy())
    assert retry.increment("GET", "/x", response=_answer(str(int(MAX_RETRY_AFTER)))) is not None
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=_answer(str(int(MAX_RETRY_AFTER) + 1)))


def _state(subjects: list[dict[str, str]], experiments: list[dict[str, str]]) -> object:
    return parse_state(server="s", project="P", subject_rows=subjects, experiment_rows=experiments, session_rows={},
                       scan_rows={}, typed_scan_rows={}, prearchive_rows=[])  # fmt: skip


def test_two_subjects_with_one_label_are_an_error() -> None:
    with pytest.raises(ServerError, match=r"two subjects labelled 'a' \(S1 and S2\)"):
        _state([{"ID": "S1", "label": "a"}, {"ID": "S2", "label": "a"}], [])


def test_two_sessions_of_a_subject_with_one_label_are_an_error_but_rows_of_one_session_are_not() -> None:
    session = {"ID": "E1", "label": "s", "subject_ID": "S1", "xsiType": "xnat:mrSessionData"}
    _state([{"ID": "S1", "label": "a"}], [session, session])  # a join's repeated rows: one session
    with pytest.raises(ServerError, match=r"two sessions labelled 's' \(E1 and E2\)"):
        _state([{"ID": "S1", "label": "a"}], [session, {**session, "ID": "E2"}])
