"""A corpus of hostile and broken files through the real `xsync inventory ROOT`, in a child
process with bounded memory (RLIMIT_AS) and time (a timeout that fails only on a hang): each
input ends in one diagnostic line naming it, the documented exit code (1: the inventory has
errors), no traceback, and the same lines on a cached second run as without the cache.

Running as root, the child drops the capabilities that let root read anything (from its
bounding set, so they stay dropped across exec), so that a file with mode 000 is unreadable.
"""

from __future__ import annotations

import ctypes
import gzip
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsync.errors import EXIT_ERROR, EXIT_INVALID
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes

STUDY = StudySpec(patient_id="HOSTILE", seed="hostile", series=(SeriesSpec(1, "t1", 2),))
MEMORY_LIMIT = 256 << 20  # the child's address space (xsync needs under 200 MiB here)
BOMB_SIZE = 384 << 20  # what the bombs expand to: more than the child may take
TIMEOUT = 120  # seconds; a run takes a few: this only catches a hang
AS_ROOT = os.geteuid() == 0
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _gzip_bomb() -> bytes:
    """A gzip file expanding to BOMB_SIZE zero bytes, about 2 MB: one member of 64 MiB of
    zeros, repeated (gzip allows several members, read as one stream)."""
    block = 64 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = compressor.compress(bytes(block)) + compressor.flush()
    return member * (BOMB_SIZE // block)


def _element(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit VR little-endian element (a long-form VR takes a 32-bit length)."""
    n = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC"):
        return head + b"\0\0" + struct.pack("<I", n) + value
    return head + struct.pack("<H", n) + value


def _with_dataset(dataset: bytes) -> bytes:
    """A preamble, DICM and an explicit VR LE meta group, then `dataset`."""
    ts = b"1.2.840.10008.1.2.1\0"
    meta = _element(0x00020010, b"UI", ts)
    return b"\0" * 128 + b"DICM" + _element(0x00020000, b"UL", struct.pack("<I", len(meta))) + meta + dataset


def _hostile(good: bytes) -> dict[str, tuple[bytes, str]]:
    """Name -> (content, words the diagnostic about it must hold)."""
    uid = _element(0x00080018, b"UI", b"1.2.3.4\0")
    item_start = b"\xfe\xff\x00\xe0\xff\xff\xff\xff"  # an item of undefined length
    deep = (_element(0x00091010, b"SQ", b"", 0xFFFFFFFF) + item_start) * 20000
    return {
        "truncated-header.dcm": (good[:400], "truncated"),
        "truncated-pixels.dcm": (good[:-40], "truncated"),
        "empty.dcm": (b"", "not a DICOM file"),
        "dicm-then-garbage.dcm": (b"\0" * 128 + b"DICM" + bytes(range(7, 250)) * 4, "truncated"),
        "length-2gb.dcm": (_with_dataset(uid + _element(0x00091010, b"OB", b"xxxx", 0x80000000)), "truncated"),
        "length-2gb-wanted.dcm": (_with_dataset(_element(0x00080018, b"UT", b"1.2", 0x7FFFFFF0)), "truncated"),
        "odd-short-length.dcm": (_with_dataset(uid + _element(0x00080060, b"CS", b"MR", 0xFFFF)), "truncated"),
        "sequence-never-ends.dcm": (
            _with_dataset(
                uid
                + _element(0x00091010, b"SQ", b"", 0xFFFFFFFF)
                + item_start
                + _element(0x00091011, b"LO", b"ab") * 50
            ),
            "truncated",
        ),  # fmt: skip
        "sequences-20000-deep.dcm": (_with_dataset(uid + deep), "cannot be read as DICOM"),
        "gzip-bomb.dcm.gz": (_gzip_bomb(), "not a DICOM file"),
        "broken.dcm.gz": (gzip.compress(good, mtime=0)[:-30], "gzip"),
        "not-a-zip.zip": (b"PK\x03\x04" + b"\0" * 60, "zip"),
    }


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name as given


@pytest.fixture(scope="module")
def corpus() -> Iterator[tuple[Path, dict[str, str]]]:
    """The tree and, per path under it, the words its diagnostic must hold."""
    base = Path(tempfile.mkdtemp(prefix="xsync-hostile-"))
    root = base / "tree"
    root.mkdir()
    good = to_bytes(make_dataset(STUDY, 0, 1))
    (root / "good.dcm").write_bytes(good)
    expected: dict[str, str] = {}
    for name, (data, words) in _hostile(good).items():
        (root / name).write_bytes(data)
        expected[name] = words
    _zip(root / "climbing.zip", {"../evil.dcm": good, "/etc/absolute.dcm": good, "fine/0001.dcm": good})
    expected["climbing.zip!../evil.dcm"] = "unsafe member name"
    expected["climbing.zip!/etc/absolute.dcm"] = "unsafe member name"
    _zip(root / "bomb-inside.zip", {"bomb.dcm.gz": _gzip_bomb()})
    expected["bomb-inside.zip!bomb.dcm.gz"] = "not a DICOM file"
    os.mkfifo(root / "a-fifo")
    expected["a-fifo"] = "a FIFO, not a file"
    os.symlink("/dev/null", root / "a-device")
    expected["a-device"] = "a character device, not a file"
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    expected["loop-a"] = expected["loop-b"] = "a symbolic link loop"
    os.symlink("nowhere", root / "dangling")
    expected["dangling"] = "a broken symbolic link"
    odd = os.fsencode(root) + b"/caf\xe9-not-utf8"
    os.mkdir(odd)
    with open(odd + b"/bad\xff.dcm", "wb") as fh:
        fh.write(good[:300])
    expected["caf\\udce9-not-utf8/bad\\udcff.dcm"] = "truncated"  # as stderr escapes it
    shutil.copy(root / "good.dcm", os.fsdecode(odd + b"/good.dcm"))  # a DICOM file there too
    locked = root / "locked.dcm"
    locked.write_bytes(good)
    locked.chmod(0)
    expected["locked.dcm"] = "cannot be read: Permission denied"
    yield root, expected
    shutil.rmtree(base)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _limit_memory_and_root() -> None:
    _limit_memory()
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def run_xsync(*args: str, cwd: Path, drop_root: bool = False) -> subprocess.CompletedProcess[str]:
    """`xsync ARGS` in a child with bounded memory (`drop_root`: without root's right to read
    any file, when we are root)."""
    env = {**os.environ, "HOME": str(cwd), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "xsync", *args],
        cwd=cwd, env=env, capture_output=True, text=True, errors="backslashreplace", timeout=TIMEOUT,
        preexec_fn=_limit_memory_and_root if AS_ROOT and drop_root else _limit_memory,
    )  # fmt: skip


def _lines_about(stderr: str, root: Path) -> dict[str, str]:
    """Diagnostic line by the path it names (relative to `root`)."""
    prefix = f"{root}/"
    out = {}
    for line in stderr.splitlines():
        if line.startswith(prefix):
            where, _, _ = line.partition(": ")
            out[where.removeprefix(prefix)] = line
    return out


def test_every_hostile_file_is_one_clear_line_with_and_without_the_cache(corpus: tuple[Path, dict[str, str]]) -> None:
    root, expected = corpus
    work = root.parent
    uncached = run_xsync("inventory", str(root), "--no-cache", cwd=work, drop_root=True)
    first = run_xsync("inventory", str(root), "--cache", str(work / "cache.sqlite"), cwd=work, drop_root=True)
    second = run_xsync("inventory", str(root), "--cache", str(work / "cache.sqlite"), cwd=work, drop_root=True)
    for run in (uncached, first, second):
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
        assert run.returncode == EXIT_ERROR, run.stderr
        assert run.stderr.splitlines()[-1].startswith("error: the DICOM inventory has "), run.stderr
        lines = _lines_about(run.stderr, root)
        missing = {name: words for name, words in expected.items() if words not in lines.get(name, "")}
        assert missing == {}, run.stderr
        assert "1 study, 1 series" in run.stdout  # the good files are still found, the tree printed
    assert (work / "cache.sqlite").is_file()
    assert sorted(first.stderr.splitlines()) == sorted(uncached.stderr.splitlines())
    assert sorted(second.stderr.splitlines()) == sorted(uncached.stderr.splitlines())
    assert second.stdout == first.stdout == uncached.stdout


@pytest.mark.parametrize("kind", ["notes", "spec", "other-database", "folder"])
def test_the_cache_never_overwrites_what_it_did_not_write(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "dicom"
    root.mkdir()
    (root / "0001.dcm").write_bytes(to_bytes(make_dataset(STUDY, 0, 1)))
    target = tmp_path / "target"
    if kind == "notes":
        target.write_text("my notes\n")
    elif kind == "spec":
        target.write_text("project: P\ndicom:\n  roots: [dicom]\n")
    elif kind == "other-database":
        import sqlite3

        with sqlite3.connect(target) as conn:
            conn.execute("CREATE TABLE mine (x TEXT)")
            conn.execute("INSERT INTO mine VALUES ('keep me')")
        conn.close()
    else:
        target.mkdir()
        (target / "inside.txt").write_text("keep me")
    before = _snapshot(target)
    result = subprocess.run(
        [sys.executable, "-m", "xsync", "inventory", str(root), "--cache", str(target)],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    if kind == "folder":  # click's own check comes first
        assert result.returncode == EXIT_INVALID and "is a directory" in result.stderr
    else:
        assert result.returncode == EXIT_INVALID, result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("error: the inventory cache path ") and str(target) in line
        assert "refusing to overwrite it" in line
    assert _snapshot(target) == before


def test_a_folder_at_the_specs_cache_path_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "dicom"
    root.mkdir()
    (root / "0001.dcm").write_bytes(to_bytes(make_dataset(STUDY, 0, 1)))
    (tmp_path / "cache-folder").mkdir()
    (tmp_path / "xsync.yaml").write_text("version: 1\nproject: P\ndicom:\n  roots: [dicom]\n  cache: cache-folder\n")
    result = subprocess.run(
        [sys.executable, "-m", "xsync", "inventory", "--spec", str(tmp_path / "xsync.yaml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert result.returncode == EXIT_INVALID, result.stderr
    [line] = result.stderr.splitlines()
    assert "cache-folder is a folder; refusing to overwrite it" in line
    assert os.listdir(tmp_path / "cache-folder") == []


def _snapshot(path: Path) -> object:
    if path.is_dir():
        return sorted((p.name, p.read_bytes()) for p in path.iterdir())
    return path.read_bytes()


@pytest.mark.parametrize("plan_file", ["/dev/zero", "fifo", "huge"])
def test_show_refuses_what_is_not_a_plan_file_without_reading_it_all(tmp_path: Path, plan_file: str) -> None:
    if plan_file == "fifo":
        os.mkfifo(tmp_path / "fifo")
    elif plan_file == "huge":
        with open(tmp_path / "huge", "wb") as fh:
            fh.truncate(3 << 30)  # sparse: 3 GiB of zeros, nothing on disk
    path = plan_file if plan_file.startswith("/") else str(tmp_path / plan_file)
    result = run_xsync("show", path, cwd=tmp_path)
    assert result.returncode == EXIT_INVALID, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path} is not an xsync plan file: ")
    assert ("larger than 64 MiB" if plan_file == "huge" else "not a regular file") in line
