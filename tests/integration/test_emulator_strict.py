"""Strict mode (`EmulatorConfig.strict`, `serve --strict`): listing columns as XNAT 1.8's XFT
resolves them (xft_paths.py), with each listing resource's answer to a column it cannot
resolve; the default mode stays lenient."""

from __future__ import annotations

import pytest
import requests

from tests.integration.emulator_http import h3, rows, session
from xsync.emulator import Emulator
from xsync.emulator.listings import INTERNAL_ERROR

P = "/data/projects/P"
STRICT = [{"projects": ("P",), "strict": True}]


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    emulator.seed.add_subject("P", "sub1", custom={"site": "A"})
    emulator.seed.add_session(
        "P", "sub1", "mr1", scans=[{"id": "1", "fields": {"type": "T1w"}, "files": 2}, {"id": "2"}]
    )
    return emulator


def _get(emu: Emulator, path: str, **params: str) -> requests.Response:
    return session(emu).get(emu.url + path, params=params)


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
@pytest.mark.parametrize("field", ["format", "content", "URI", "description"])
def test_resource_fields_of_xnat_resource_fail_the_project_experiment_listing(seeded: Emulator, field: str) -> None:
    # `file` is typed xnat:abstractResource; these belong to xnat:resource. ProjSubExptList
    # catches the failed query and represents no table: 200 with an empty body.
    for fmt in ("json", "csv"):
        r = _get(
            seeded,
            P + "/experiments",
            xsiType="xnat:mrSessionData",
            columns=f"ID,label,xnat:imagescandata/file/label,xnat:imagescandata/file/{field}",
            format=fmt,
        )
        assert (r.status_code, r.content) == (200, b"")
        assert r.headers["Content-Type"].startswith("application/json" if fmt == "json" else "text/csv")
    r = _get(seeded, P + "/subjects/sub1/experiments", columns=f"ID,xnat:imagescandata/file/{field}")
    assert (r.status_code, r.content) == (200, b"")


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_abstract_resource_fields_resolve(seeded: Emulator) -> None:
    (e,) = seeded.store.experiments.values()
    cols = "ID,xnat:imagescandata/id,xnat:imagescandata/file/label,xnat:imagescandata/file/file_count,"
    cols += "xnat:imagescandata/file/file_size,xnat:imagescandata/file/note,xnat:imagescandata/file/tags/tag/name"
    got = rows(_get(seeded, P + "/experiments", xsiType="xnat:mrSessionData", columns=cols))
    assert sorted(
        (r["xnat:imagescandata/id"], r["xnat:imagescandata/file/label"], r["xnat:imagescandata/file/file_count"])
        for r in got
    ) == [("1", "DICOM", "2"), ("2", "", "")]
    assert {r["xnat:imagescandata/file/note"] for r in got} == {""}  # resolved; nothing stored
    assert {r["xnat:imagescandata/file/tags/tag/name"] for r in got} == {""}
    # With the xsi:type predicate XFT looks `format` up in xnat:resourceCatalog.
    typed = "ID,xnat:imagescandata/id,xnat:imagescandata/file[@xsi:type=xnat:resourceCatalog]/format"
    got = rows(_get(seeded, P + "/experiments", xsiType="xnat:mrSessionData", columns=typed))
    assert sorted(r["xnat:imagescandata/file[@xsi:type=xnat:resourcecatalog]/format"] for r in got) == ["", "DICOM"]
    assert e.id in {r["ID"] for r in got}


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
@pytest.mark.parametrize(
    "path",
    [P + "/subjects", "/data/subjects", "/data/experiments", P + "/experiments/mr1/scans"],
)
def test_other_listings_answer_500(seeded: Emulator, path: str) -> None:
    column = "xnat:subjectData/no_such_field" if "subjects" in path else "xnat:imagescandata/file/format"
    r = _get(seeded, path, columns=f"ID,{column}")
    assert (r.status_code, h3(r)) == (500, INTERNAL_ERROR)


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_unknown_data_type_is_left_out_and_shortcuts_are_not_checked(seeded: Emulator) -> None:
    # QueryOrganizerResource.populateQuery catches ElementNotFoundException and drops the column.
    (row,) = rows(_get(seeded, P + "/subjects", columns="ID,label,xnat:nosuchData/x,nosuchshortcut"))
    assert set(row) == {"ID", "label", "URI"}
    # Subject demographics only resolve through the xsi:type predicate the shortcuts carry.
    r = _get(seeded, P + "/subjects", columns="ID,xnat:subjectData/demographics/gender")
    assert r.status_code == 500
    (row,) = rows(_get(seeded, P + "/subjects", columns="ID,gender,xnat:subjectData/meta/insert_user/login"))
    assert (row["gender"], row["insert_user"]) == ("", "admin")


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_unresolvable_filters_are_ignored(seeded: Emulator) -> None:
    got = rows(_get(seeded, P + "/experiments", **{"columns": "ID,label", "xnat:imagescandata/file/format": "NONE"}))
    assert [r["label"] for r in got] == ["mr1"]
    assert rows(_get(seeded, P + "/experiments", **{"columns": "ID,label", "xnat:imagescandata/type": "NONE"})) == []


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_scan_listing_without_id_fails_once_there_are_scans(seeded: Emulator) -> None:
    # formatHeaders builds each row's URI from the ID column.
    r = _get(seeded, P + "/experiments/mr1/scans", columns="type")
    assert (r.status_code, h3(r)) == (500, INTERNAL_ERROR)
    seeded.seed.add_session("P", "sub1", "empty")
    got = rows(_get(seeded, P + "/experiments/empty/scans", columns="type"))
    assert got == []
    assert [r["type"] for r in rows(_get(seeded, P + "/experiments/mr1/scans", columns="ID,type"))] == ["T1w", ""]


def test_lenient_default_keeps_reading_every_column(seeded: Emulator) -> None:
    got = rows(
        _get(
            seeded,
            P + "/experiments",
            xsiType="xnat:mrSessionData",
            columns="ID,xnat:imagescandata/id,xnat:imagescandata/file/format",
        )
    )
    assert sorted(r["xnat:imagescandata/file/format"] for r in got) == ["", "DICOM"]
    scans = rows(_get(seeded, P + "/experiments/mr1/scans", columns="type"))
    assert [(r["xnat_imagescandata_id"], r["type"]) for r in scans] == [("1", "T1w"), ("2", "")]
    assert _get(seeded, P + "/subjects", columns="ID,xnat:nosuchData/x").status_code == 400


@pytest.mark.parametrize("emulator", STRICT, indirect=True)
def test_xsitype_as_xnats_root_element_name_reads_it(seeded: Emulator) -> None:
    # An unknown type fails the query organizer; a list of types is not read at all.
    r = _get(seeded, P + "/experiments", xsiType="xnat:noSuchData")
    assert (r.status_code, r.content) == (200, b"")
    r = _get(seeded, "/data/experiments", xsiType="xnat:noSuchData")
    assert (r.status_code, h3(r)) == (500, INTERNAL_ERROR)
    got = rows(_get(seeded, P + "/experiments", xsiType="xnat:mrSessionData,xnat:ctSessionData", columns="ID,label"))
    assert [r["label"] for r in got] == ["mr1"]
    assert _get(seeded, P + "/experiments", xsiType="a,b").status_code == 200
