"""The listing engine on an in-memory store (pure: no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsync.emulator import filters, query
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.seed import Seeder
from xsync.emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path)
    seed = Seeder(st)
    seed.add_session(
        "P", "s1", "mr", scans=[{"id": "1", "fields": {"type": "A"}}, {"id": "2", "xsi_type": "xnat:ctScanData"}]
    )
    seed.add_session("P", "s1", "pet", xsi_type="xnat:petSessionData", custom={"k1": "v1", "k2": "v2"})
    return st


def run(store: Store, columns: str, xsi_type: str | None = None, **filters: str) -> list[dict[str, str]]:
    q = query.Query(query.PROJECT_EXPERIMENTS, filters, columns, xsi_type)
    return q.rows(store.experiments_of("P"), store)


def test_root_switch_from_a_specific_column(store: Store) -> None:
    assert [r["label"] for r in run(store, "label,xnat:petSessionData/studyType")] == ["pet"]
    assert [r["label"] for r in run(store, "label,xnat:imageSessionData/scanner")] == ["mr", "pet"]


def test_sibling_type_column_with_explicit_xsitype_is_empty_not_restricting(store: Store) -> None:
    (row,) = run(store, "label,fieldStrength", "xnat:petSessionData")
    assert (row["label"], row["fieldStrength"]) == ("pet", "")


def test_left_join_cross_product_and_inner_specific_scan_join(store: Store) -> None:
    rows = run(store, "label,xnat:experimentData/fields/field/name,xnat:imagescandata/id")
    assert sorted(
        (r["label"], r["xnat:experimentdata/fields/field/name"], r["xnat:imagescandata/id"]) for r in rows
    ) == [
        ("mr", "", "1"),
        ("mr", "", "2"),
        ("pet", "k1", ""),
        ("pet", "k2", ""),
    ]
    assert [r["xnat:ctscandata/id"] for r in run(store, "xnat:ctScanData/ID")] == ["2"]


def test_filter_matchers() -> None:
    like = filters.value_matcher("string", "ab_*")
    assert like("abc") and like("abxyz") and not like("ab") and not like("xabc")
    assert filters.value_matcher("integer", "3-5")("4") and not filters.value_matcher("integer", "3-5")("6")
    assert filters.value_matcher("date", "01/01/2020-12/31/2020")("2020-06-01")
    assert not filters.value_matcher("date", "2020-06-01")("2020-06-01")
    assert filters.value_matcher("string", "A")("A") and not filters.value_matcher("string", "A")("a")


def test_invalid_columns_raise_400(store: Store) -> None:
    with pytest.raises(XnatHTTPError) as e:
        run(store, "xnat:mrSessionData/nope")
    assert e.value.status == 400
