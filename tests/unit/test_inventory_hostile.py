"""The reader and the cache against hostile input, in process: the limits on gzip-ed objects,
names that are not valid UTF-8, zip member names that climb out, and what the cache accepts
to overwrite."""

from __future__ import annotations

import gzip
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest

from xsync.inventory import read, scan
from xsync.inventory.cache import APPLICATION_ID, CacheRefused, InventoryCache
from xsync.inventory.read import CORRUPT, OK, read_file
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes

STUDY = StudySpec(patient_id="HOSTILE", seed="hostile-unit", series=(SeriesSpec(1, "t1", 2),))


def _good() -> bytes:
    return to_bytes(make_dataset(STUDY, 0, 1))


def test_a_gzip_stream_past_the_limit_is_reported_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.dcm.gz"
    path.write_bytes(gzip.compress(_good() + bytes(3 << 20)))
    monkeypatch.setattr(read, "GZIP_MAX_OBJECT", 2 << 20)
    [entry] = read_file(str(path), path.stat().st_size)
    assert (entry.kind, entry.gzipped) == (CORRUPT, True)
    assert entry.message.startswith("the gzip stream expands to more than ")


def test_a_gzip_header_past_the_kept_part_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = make_dataset(STUDY, 0, 1)
    ds.add_new(0x00091010, "LO", "private")
    ds.add_new(0x00091011, "OB", bytes(20000))  # before SeriesInstanceUID (0020,000E)
    path = tmp_path / "long-header.dcm.gz"
    path.write_bytes(gzip.compress(to_bytes(ds)))
    [whole] = read_file(str(path), path.stat().st_size)
    assert whole.kind == OK  # with the usual limit
    monkeypatch.setattr(read, "GZIP_HEAD", 16384)
    [entry] = read_file(str(path), path.stat().st_size)
    assert entry.kind == CORRUPT
    assert entry.message == "the header goes on past the first 0 MiB of the gzip-ed object"


def test_the_gzip_object_size_is_counted_while_streaming(tmp_path: Path) -> None:
    data = _good() + bytes(5 << 20)  # pixel data shorter than what follows: still one object
    path = tmp_path / "padded.dcm.gz"
    path.write_bytes(gzip.compress(data))
    [entry] = read_file(str(path), path.stat().st_size)
    assert (entry.kind, entry.size, entry.gzipped) == (OK, len(data), True)


@pytest.mark.parametrize("name", ["../up.dcm", "a/../../up.dcm", "/etc/abs.dcm", "C:/win.dcm", "..\\win.dcm"])
def test_zip_members_that_climb_out_are_reported(tmp_path: Path, name: str) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), _good())
        zf.writestr("ok.dcm", _good())
    entries = {e.member: e for e in read_file(str(path), path.stat().st_size)}
    assert entries["ok.dcm"].kind == OK
    assert entries[name].kind == CORRUPT and "unsafe member name" in entries[name].message


def test_names_not_valid_utf8_are_scanned_alike_with_and_without_the_cache(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path / "root")
    os.makedirs(root + b"/d\xe9r")
    with open(root + b"/d\xe9r/a\xff.dcm", "wb") as fh:
        fh.write(_good())
    with open(root + b"/plain.dcm", "wb") as fh:
        fh.write(to_bytes(make_dataset(STUDY, 0, 2)))
    with open(root + b"/bad\xfe.dcm", "wb") as fh:
        fh.write(_good()[:300])
    cache = tmp_path / "c.sqlite"
    notices: list[str] = []
    uncached = scan([os.fsdecode(root)], workers=1)
    first = scan([os.fsdecode(root)], cache_path=cache, workers=1, notify=notices.append)
    second = scan([os.fsdecode(root)], cache_path=cache, workers=1, notify=notices.append)
    assert first == second == uncached and notices == []
    assert uncached.n_files == 2 and len(uncached.errors) == 1
    assert uncached.errors[0].file.endswith("/bad\udcfe.dcm")


def _scan_with(cache: Path) -> list[str]:
    notices: list[str] = []
    root = cache.parent / "dicom"
    root.mkdir(exist_ok=True)
    (root / "0001.dcm").write_bytes(_good())
    scan([root], cache_path=cache, workers=1, notify=notices.append)
    return notices


def test_an_empty_file_or_a_missing_one_becomes_the_cache(tmp_path: Path) -> None:
    (tmp_path / "empty.sqlite").touch()
    for name in ("empty.sqlite", "new.sqlite"):
        assert _scan_with(tmp_path / name) == []
        with sqlite3.connect(tmp_path / name) as conn:
            assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        conn.close()


def test_a_cache_of_an_earlier_xsync_without_the_application_id_is_reused(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with sqlite3.connect(cache) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('format', 'xsync-inventory-cache/5 0123')")
    conn.close()
    assert _scan_with(cache) == []  # an older format: replaced silently


@pytest.mark.parametrize(
    "content",
    [b"notes\n", b"SQLite format 3\x00" + bytes(200), b"project: P\n"],
    ids=["text", "damaged sqlite of unknown origin", "a spec"],
)
def test_anything_else_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    cache = tmp_path / "target"
    cache.write_bytes(content)
    with pytest.raises(CacheRefused, match=r"^the inventory cache path .*target is not an xsync inventory cache"):
        InventoryCache(cache, lambda m: None)
    assert cache.read_bytes() == content


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "app.db"
    with sqlite3.connect(cache) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('format', 'someone else')")
    conn.close()
    before = cache.read_bytes()
    with pytest.raises(CacheRefused):
        _scan_with(cache)
    assert cache.read_bytes() == before
