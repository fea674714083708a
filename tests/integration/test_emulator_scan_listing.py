"""The scan listing `GET .../experiments/E/scans` as XNAT's ScanList: `columns=` with scan
shortcuts and xpaths, type narrowing, the always-selected primary key, filters ignored."""

from __future__ import annotations

import pytest

from tests.integration.emulator_http import rows, session
from xsync.emulator import Emulator

P = "/data/projects/P"


@pytest.fixture
def scans(emulator: Emulator) -> Emulator:
    emulator.seed.add_session(
        "P",
        "sub1",
        "mr1",
        scans=[
            {"id": "1", "fields": {"type": "T1w", "frames": "176", "quality": "usable", "note": "ok"}, "files": 3},
            {"id": "2", "fields": {"type": "T2w", "frames": "40", "quality": "questionable", "coil": "HEAD"}},
            {"id": "3", "xsi_type": "xnat:ctScanData", "fields": {"type": "CT", "frames": "2"}},
        ],
    )
    return emulator


def get(emu: Emulator, **params: str) -> list[dict[str, str]]:
    return rows(session(emu).get(emu.url + P + "/experiments/mr1/scans", params=params))


def test_columns_are_honoured_with_the_key_always_there(scans: Emulator) -> None:
    got = get(scans, columns="ID,frames,quality,note")
    assert [set(r) for r in got] == [{"xnat_imagescandata_id", "ID", "frames", "quality", "note", "URI"}] * 3
    assert [(r["ID"], r["frames"], r["quality"], r["note"]) for r in got] == [
        ("1", "176", "usable", "ok"),
        ("2", "40", "questionable", ""),
        ("3", "2", "", ""),
    ]
    (e,) = scans.store.experiments.values()
    assert got[0]["URI"] == f"/data/experiments/{e.id}/scans/1"
    assert got[0]["xnat_imagescandata_id"] == str(e.scans["1"].pk)


def test_any_scan_shortcut_or_xpath(scans: Emulator) -> None:
    got = get(scans, columns="ID,series_description,scanTime,xsiType,insert_user,xnat:imageScanData/type")
    assert [(r["ID"], r["xsiType"], r["type"], r["insert_user"]) for r in got] == [
        ("1", "xnat:mrScanData", "T1w", "admin"),
        ("2", "xnat:mrScanData", "T2w", "admin"),
        ("3", "xnat:ctScanData", "CT", "admin"),
    ]
    assert {r["scanTime"] for r in got} == {""}


def test_resource_columns_give_one_row_per_resource(scans: Emulator) -> None:
    got = get(scans, columns="ID,xnat:imagescandata/file/label,xnat:imagescandata/file/file_count")
    assert [(r["ID"], r["xnat:imagescandata/file/label"], r["xnat:imagescandata/file/file_count"]) for r in got] == [
        ("1", "DICOM", "3"),
        ("2", "", ""),
        ("3", "", ""),
    ]


def test_a_more_specific_type_narrows_the_rows(scans: Emulator) -> None:
    # `coil` is xnat:mrScanData/coil: the root becomes xnat:mrScanData, whose key comes back
    # under `<root>/xnat_imagescandata_id`.
    got = get(scans, columns="ID,coil")
    assert [(r["ID"], r["coil"]) for r in got] == [("1", ""), ("2", "HEAD")]
    assert set(got[0]) == {"ID", "coil", "xnat:mrscandata/xnat_imagescandata_id", "URI"}
    assert [r["ID"] for r in get(scans, xsiType="xnat:ctScanData", columns="ID,type")] == ["3"]


def test_default_columns_and_ignored_filters(scans: Emulator) -> None:
    got = get(scans, type="T2w", quality="usable")
    assert [r["ID"] for r in got] == ["1", "2", "3"]
    assert set(got[0]) == {
        "xnat_imagescandata_id",
        "ID",
        "type",
        "quality",
        "xsiType",
        "note",
        "series_description",
    } | {"URI"}
    assert [r["ID"] for r in get(scans, columns="DEFAULT")] == ["1", "2", "3"]


def test_unknown_column_is_400_by_default(scans: Emulator) -> None:
    r = session(scans).get(scans.url + P + "/experiments/mr1/scans", params={"columns": "ID,xnat:mrScanData/nothing"})
    assert r.status_code == 400
