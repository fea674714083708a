"""Resources and files over real HTTP (REST-CONTRACT.md §2.7, §2.8, §4.4)."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.integration.emulator_http import h3, rows, session
from xsync.emulator import Emulator


@pytest.fixture
def scan_url(emulator: Emulator) -> str:
    emulator.seed.add_session("P", "s", "e", scans=[{"id": "1", "fields": {"type": "T1w"}}])
    return f"{emulator.url}/data/projects/P/subjects/s/experiments/e/scans/1"


def test_resource_put_listing_and_conflict(emulator: Emulator, scan_url: str) -> None:
    s = session(emulator)
    r = s.put(f"{scan_url}/resources/NIFTI", params={"format": "NIFTI", "content": "T1_RAW"})
    assert (r.status_code, r.text) == (200, "")
    r = s.put(f"{scan_url}/resources/NIFTI")
    assert (r.status_code, h3(r)) == (409, "Specified resource already exists.")
    body = s.get(f"{scan_url}/resources").json()["ResultSet"]
    assert (body["title"], body["totalRecords"]) == ("Resources", "1")
    (row,) = body["Result"]
    assert {k: row[k] for k in ("label", "element_name", "category", "cat_id", "cat_desc", "format", "content")} == {
        "label": "NIFTI",
        "element_name": "xnat:resourceCatalog",
        "category": "scans",
        "cat_id": "1",
        "cat_desc": "T1w",
        "format": "NIFTI",
        "content": "T1_RAW",
    }
    assert (row["file_count"], row["file_size"]) == ("0", "0")


def test_raw_upload_download_listing_and_duplicates(emulator: Emulator, scan_url: str) -> None:
    s = session(emulator)
    url = f"{scan_url}/resources/DICOM/files/a.dcm"
    r = s.put(url, params={"inbody": "true"}, data=b"first")  # curl --data-binary: a url-encoded "form"
    assert (r.status_code, r.text) == (200, "")
    assert s.get(url).content == b"first"
    r = s.put(url, params={"inbody": "true"}, data=b"second")
    assert r.status_code == 200 and r.json() == {"duplicates": ["a.dcm"]}
    assert r.headers["Content-Type"].startswith("text/html")
    assert s.get(url).content == b"first"
    assert s.put(url, params={"inbody": "true", "overwrite": "true"}, data=b"second!").status_code == 200
    assert s.get(url).content == b"second!"
    body = s.get(f"{scan_url}/resources/DICOM/files").json()["ResultSet"]
    assert body["Columns"] == [{"key": "URI", "serverRoot": ""}] and body["title"] == "Files"
    assert "totalRecords" not in body
    (f,) = body["Result"]
    rid = f["cat_ID"]
    assert (f["Name"], f["Size"], f["collection"]) == ("a.dcm", "7", "DICOM")
    assert f["URI"] == f"/data/experiments/XNAT_E00001/scans/1/resources/{rid}/files/a.dcm"
    assert s.get(emulator.url + f["URI"]).content == b"second!"  # by numeric resource id
    (resource,) = rows(s.get(f"{scan_url}/resources"))
    assert (resource["file_count"], resource["file_size"]) == ("1", "7")


def test_content_type_upload_and_multipart(emulator: Emulator, scan_url: str) -> None:
    s = session(emulator)
    r = s.put(
        f"{scan_url}/resources/RAW/files/b.bin", data=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 200
    r = s.post(f"{scan_url}/resources/RAW/files", files={"file": ("c.txt", b"hello")})
    assert r.status_code == 200
    names = {f["Name"] for f in rows(s.get(f"{scan_url}/resources/RAW/files"))}
    assert names == {"b.bin", "c.txt"}
    r = s.put(f"{scan_url}/resources/RAW/files/d.txt", params={"inbody": "true"}, files={"file": ("d.txt", b"x")})
    assert r.status_code == 406


def test_upload_without_content_is_400(emulator: Emulator, scan_url: str) -> None:
    r = session(emulator).put(f"{scan_url}/resources/R/files/x.dcm", params={"inbody": "true"})
    assert r.status_code == 400
    assert rows(session(emulator).get(f"{scan_url}/resources")) == []


def test_extract_zip_and_zip_download(emulator: Emulator, scan_url: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x/1.dcm", b"one")
        zf.writestr("2.dcm", b"two")
    s = session(emulator)
    r = s.put(
        f"{scan_url}/resources/Z/files/up.zip",
        params={"extract": "true"},
        data=buf.getvalue(),
        headers={"Content-Type": "application/zip"},
    )
    assert r.status_code == 200
    assert {f["Name"] for f in rows(s.get(f"{scan_url}/resources/Z/files"))} == {"x/1.dcm", "2.dcm"}
    assert s.get(f"{scan_url}/resources/Z/files/x/1.dcm").content == b"one"
    z = zipfile.ZipFile(io.BytesIO(s.get(f"{scan_url}/resources/Z/files", params={"format": "zip"}).content))
    assert sorted(z.namelist()) == ["Z/2.dcm", "Z/x/1.dcm"]


def test_delete_file_and_resource(emulator: Emulator, scan_url: str) -> None:
    s = session(emulator)
    s.put(f"{scan_url}/resources/R/files/a.dcm", params={"inbody": "true"}, data=b"a")
    path = emulator.store.experiment("P", "e").scans["1"].resources["R"].files["a.dcm"].path  # type: ignore[union-attr]
    assert path.is_file()
    assert s.delete(f"{scan_url}/resources/R/files/a.dcm").status_code == 200
    assert not path.exists()
    r = s.delete(f"{scan_url}/resources/R/files/a.dcm")
    assert (r.status_code, h3(r)) == (404, "No matched files")
    assert s.delete(f"{scan_url}/resources/R").status_code == 200
    assert s.delete(f"{scan_url}/resources/R").status_code == 404
    assert s.get(f"{scan_url}/resources/R/files/a.dcm").status_code == 404


@pytest.mark.parametrize(
    "level",
    [
        "/data/projects/P",
        "/data/projects/P/subjects/s",
        "/data/subjects/XNAT_S00001",
        "/data/projects/P/subjects/s/experiments/e",
        "/data/projects/P/experiments/e",
        "/data/experiments/XNAT_E00001",
        "/data/experiments/XNAT_E00001/scans/1",
    ],
)
def test_every_level_has_resources(emulator: Emulator, scan_url: str, level: str) -> None:
    s = session(emulator)
    url = f"{emulator.url}{level}/resources/EXTRA/files/notes.txt"
    assert s.put(url, params={"inbody": "true"}, data=b"n").status_code == 200
    assert s.get(url).content == b"n"
    assert [f["Name"] for f in rows(s.get(f"{emulator.url}{level}/files"))] == ["notes.txt"]


def test_path_traversal_is_refused(emulator: Emulator, scan_url: str) -> None:
    s = session(emulator)
    r = s.put(f"{scan_url}/resources/R/files/a/%2E%2E/%2E%2E/evil", params={"inbody": "true"}, data=b"x")
    assert r.status_code in (400, 404)
    assert not any(p.name == "evil" for p in emulator.store.root.rglob("evil"))


def test_several_scans_at_once_as_xnat_template_selects_them(emulator: Emulator) -> None:
    """`scans/ALL` (or `*`), a comma list, or a scan type name every scan a listing reads."""
    emulator.seed.add_session(
        "P", "s", "e",
        scans=[{"id": "1", "fields": {"type": "T1w"}, "files": 2}, {"id": "2", "fields": {"type": "rest"}, "files": 3},
               {"id": "3", "fields": {"type": "rest"}}],
    )  # fmt: skip
    s = session(emulator)
    base = f"{emulator.url}/data/experiments/XNAT_E00001/scans"

    def counts(which: str) -> dict[str, str]:
        return {r["cat_id"]: r["file_count"] for r in rows(s.get(f"{base}/{which}/resources"))}

    assert counts("ALL") == counts("*") == {"1": "2", "2": "3"}  # scan 3 has no resource
    assert counts("1,2") == {"1": "2", "2": "3"}
    assert counts("rest") == {"2": "3"}  # a type selects its scans
    files = rows(s.get(f"{base}/ALL/files"))
    assert sorted(f["URI"].split("/")[5] for f in files) == ["1", "1", "2", "2", "2"]
    assert s.get(f"{base}/9/resources").status_code == 404  # one scan that is not there
    assert s.put(f"{base}/ALL/resources/X").status_code == 404  # a write names exactly one scan


def test_delete_by_numeric_id_removes_only_that_resource_when_two_share_a_label(emulator: Emulator) -> None:
    """Racing PUTs can leave two resources of one label in XNAT (its check and insert are separate
    steps); a DELETE by xnat_abstractresource_id removes that one. The emulator's PUT is atomic, so
    the second resource is placed in the store directly."""
    from xsync.emulator.store import Resource

    s = session(emulator)
    base = f"{emulator.url}/data/projects/P/resources"
    assert s.put(f"{base}/LOCK", params={"content": "first"}).status_code == 200
    with emulator.store.lock:
        second = Resource(id=emulator.store.next_resource_pk(), label="LOCK", content="second")
        emulator.store.projects["P"].resources[str(second.id)] = second
    listed = rows(s.get(base))
    assert sorted((r["label"], r["content"]) for r in listed) == [("LOCK", "first"), ("LOCK", "second")]
    assert s.delete(f"{base}/{second.id}").status_code == 200
    assert [(r["label"], r["content"]) for r in rows(s.get(base))] == [("LOCK", "first")]
    first_id = next(r["xnat_abstractresource_id"] for r in listed if r["content"] == "first")
    assert s.delete(f"{base}/{first_id}").status_code == 200
    assert rows(s.get(base)) == []
