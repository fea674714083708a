"""The header cache on real files and a real SQLite database: re-scans read only what changed,
and a damaged cache is rebuilt, never trusted."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from xsync.inventory import scan
from xsync.inventory.cache import InventoryCache
from xsync.inventory.examine import Slice, verify
from xsync.inventory.walk import list_tree, resolve_roots
from xsync.model.inventory import Inventory
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes, write_broken, write_study


class CountingProgress:
    """Counts the files scan() had to read (it reports only those)."""

    def __init__(self) -> None:
        self.read = 0

    def start(self, total: int) -> None:
        self.read += total

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass


STUDY = StudySpec(patient_id="CACHE", seed="cache", series=(SeriesSpec(1, "t1", 3), SeriesSpec(2, "t2", 2)))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "dicom"
    write_study(STUDY, root / "s1")
    write_study(StudySpec(patient_id="OTHER", seed="cache"), root / "s2", gzipped=True)
    (root / "notes.txt").write_text("not DICOM")
    return root


def scan_counting(root: Path, cache: Path, notices: list[str] | None = None) -> tuple[Inventory, int]:
    progress = CountingProgress()
    inv = scan([root], cache_path=cache, progress=progress, notify=(notices if notices is not None else []).append)
    return inv, progress.read


def test_rescan_reads_nothing_and_gives_the_same_inventory(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / ".xsync" / "inventory.sqlite"
    first, read = scan_counting(tree, cache)
    assert read == 12 and cache.is_file()
    again, read = scan_counting(tree, cache)
    assert read == 0
    assert again == first and again.digest == first.digest
    assert [d.message for d in again.diagnostics] == [d.message for d in first.diagnostics]  # also from the cache


def test_changed_added_and_removed_files(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    scan_counting(tree, cache)
    edited = make_dataset(STUDY, 0, 1)
    edited.SeriesDescription = "t1 edited"
    target = tree / "s1" / "1" / "0001.dcm"
    target.write_bytes(to_bytes(edited))
    os.utime(target, ns=(1, 1))  # a new mtime even on a coarse clock
    (tree / "s1" / "2" / "0002.dcm").unlink()
    write_study(StudySpec(patient_id="NEW", seed="cache-new"), tree / "s3")
    inv, read = scan_counting(tree, cache)
    assert read == 1 + 6  # the edited file and the new study
    study = next(s for s in inv.studies if s.uid == STUDY.uid)
    assert [s.n_files for s in study.series] == [3, 1]
    assert study.series[0].description == ""  # the edited file now disagrees with the others
    assert len(inv.studies) == 3
    inv_again, read = scan_counting(tree, cache)
    assert read == 0 and inv_again == inv


def test_removed_directory_is_forgotten(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    scan_counting(tree, cache)
    for f in (tree / "s1" / "2").iterdir():
        f.unlink()
    (tree / "s1" / "2").rmdir()
    inv, read = scan_counting(tree, cache)
    assert read == 0 and [s.n_files for s in inv.study(STUDY.uid).series] == [3]  # type: ignore[union-attr]
    with sqlite3.connect(cache) as conn:
        dirs = [row[0] for row in conn.execute("SELECT DISTINCT dir FROM parts")]
    assert str(tree / "s1" / "2") not in dirs and str(tree / "s1" / "1") in dirs


# Each damage in SQL, on the parts of the tree (plain and gzip-ed files in columns, notes.txt in a row).
DAMAGES = {
    "unknown outcome": "UPDATE parts SET rows = replace(rows, 'not-dicom', 'okay') WHERE rows != ''",
    "short row": "UPDATE parts SET rows = rows || char(31) || 'more' WHERE rows != ''",
    "header index past the table": "UPDATE parts SET positions = replace(positions, '0', '7') WHERE n_usual > 0",
    "negative header index": "UPDATE parts SET positions = replace(positions, '0', '-1') WHERE n_usual > 0",
    "not a number": "UPDATE parts SET sizes = sizes || 'x' WHERE n_usual > 0",
    "short column": "UPDATE parts SET sops = substr(sops, instr(sops, char(28)) + 1) WHERE n_usual > 1",
    "header of the wrong length": "UPDATE parts SET shared = shared || char(29) || 'x' WHERE shared != ''",
    "more in columns than files": "UPDATE parts SET n_usual = n + 1",
    "short keys (read by the workers)": "UPDATE parts SET keys = substr(keys, instr(keys, char(28)) + 1) WHERE n > 1",
}


@pytest.mark.parametrize("damage", ["garbage", "cut", *DAMAGES])
def test_a_damaged_cache_is_rebuilt(tree: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "c.sqlite"
    clean, _ = scan_counting(tree, cache)
    if damage == "garbage":  # past the header, which says the file is xsync's
        data = cache.read_bytes()
        cache.write_bytes(data[:100] + b"this is not a database" * 100)
    elif damage == "cut":
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) // 3])
    else:
        with sqlite3.connect(cache) as conn:
            assert conn.execute(DAMAGES[damage]).rowcount > 0
    notices: list[str] = []
    inv, read = scan_counting(tree, cache, notices)
    assert inv == clean
    assert read == 12  # nothing taken from the damaged cache
    assert len(notices) == 1 and "rebuilding it" in notices[0] and str(cache) in notices[0]
    again, read = scan_counting(tree, cache)
    assert read == 0 and again == clean


def test_a_cache_of_another_format_is_silently_replaced(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    clean, _ = scan_counting(tree, cache)
    with sqlite3.connect(cache) as conn:
        conn.execute("UPDATE meta SET value = 'xsync-inventory-cache/0' WHERE key = 'format'")
    notices: list[str] = []
    inv, read = scan_counting(tree, cache, notices)
    assert (inv, read, notices) == (clean, 12, [])


def test_values_holding_separator_characters_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "odd"
    study = StudySpec(patient_id="ODD\x1fID", seed="odd", series=(SeriesSpec(1, "a\x1cb\x1dc\x1ed", 2),))
    write_study(study, root)
    (root / "odd\x1fname.dcm").write_bytes(to_bytes(make_dataset(study, 0, 3)))
    cache = tmp_path / "c.sqlite"
    first, _ = scan_counting(root, cache)
    assert first.studies[0].series[0].description == "a\x1cb\x1dc\x1ed"
    again, read = scan_counting(root, cache)
    assert again == first
    assert read == 1  # a name holding a separator is not cached; the others are


def test_broken_files_are_cached_as_outcomes(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    write_broken(root)
    cache = tmp_path / "c.sqlite"
    first, read = scan_counting(root, cache)
    again, read_again = scan_counting(root, cache)
    assert read == 15 and read_again == 0
    assert again.diagnostics == first.diagnostics and len(first.errors) >= 7


def test_a_root_that_is_one_file(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    one = tree / "s1" / "1" / "0001.dcm"
    inv, read = scan_counting(one, cache)
    assert read == 1 and inv.n_files == 1 and inv.studies[0].common_path == str(one)
    _, read = scan_counting(one, cache)
    assert read == 0


def test_verify_names_the_changed_files(tree: Path, tmp_path: Path) -> None:
    cache_path = tmp_path / "c.sqlite"
    scan_counting(tree, cache_path)
    os.utime(tree / "s1" / "1" / "0002.dcm", ns=(1, 1))
    (tree / "s2" / "1" / "new.dcm").write_bytes(b"new")
    (tree / "s1" / "2" / "0001.dcm").unlink()
    roots = resolve_roots([tree])
    listing, _ = list_tree(roots)
    cache = InventoryCache(cache_path, print)
    held = {str(Path(d).relative_to(tree)): n for d, n in cache.directories(roots).items()}
    assert held == {".": 1, "s1/1": 3, "s1/2": 2, "s2/1": 3, "s2/2": 3}  # as stored, before the changes
    cache.close()
    verified = verify((str(cache_path), [Slice(i, d.path, d.root, d.names, d.links) for i, d in enumerate(listing)]))
    names = [str(Path(d.path).relative_to(tree)) for d in listing]
    assert names == [".", "s1/1", "s1/2", "s2/1", "s2/2"]
    assert [v.changed for v in verified] == [[], ["0002.dcm"], [], ["new.dcm"], []]
    assert [v.unchanged for v in verified] == [1, 2, 1, 3, 3]  # a file gone is no longer listed
    assert {v.corrupt for v in verified} == {""}


def test_the_cache_is_private_and_ignored_by_git(tmp_path: Path) -> None:
    from xsync.inventory import scan
    from xsync.testing.dicomgen import StudySpec, write_study

    write_study(StudySpec(), tmp_path / "dicom")
    cache = tmp_path / ".xsync" / "inventory.sqlite"
    scan([tmp_path / "dicom"], cache_path=cache, workers=1)
    assert cache.stat().st_mode & 0o777 == 0o600  # it holds patient names and IDs
    assert (tmp_path / ".xsync" / ".gitignore").read_text().splitlines()[-1] == "*"
