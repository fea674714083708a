"""Benchmark: `xsync inventory`'s scan against pydicom, dcmtk's dcmdump and the I/O floor.

    python bench/bench_inventory.py [--files 20000] [--runs 3] [--keep DIR]

Generates a corpus of synthetic MR files with realistic headers (about 70 elements and a
4 KiB private block standing in for a Siemens CSA header, 64x64 pixels: about 13.8 KB a file,
as in DICOM-NOTES.md §2) in a temporary folder, then measures, in one run and on the same
files, files per second for:

- xsync cold: first scan (no header cache) right after dropping the page cache (root only;
  otherwise the script says it could not);
- xsync warm: first scan, no header cache, files in the page cache, nothing learned about
  the files' layouts; all cores, and one core;
- xsync re-scan: with the header cache of a previous scan, nothing changed;
- pydicom: `dcmread(stop_before_pixels=True)` reading 17 fields as text, in a 2-process pool;
- dcmtk: `dcmdump` of the same 17 tags, stopping before pixel data, 2 processes (if installed);
- the floor: open each file and read its first 4 KiB, one process.

Every method includes walking the tree. Warm methods run round robin, --runs rounds, and each
keeps its best run (a burst of other work then costs one run of each, not one method); cold
ones are the median of two. The load average is printed before and after: other work on the
machine lowers every figure, so run it when the machine is quiet. Not a test: nothing is
asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xsync.inventory import scan
from xsync.inventory.header import forget as forget_layouts
from xsync.testing.dicomgen import SeriesSpec, StudySpec, make_dataset, to_bytes

FIELDS = (
    "PatientID", "PatientName", "StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber",
    "Modality", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Manufacturer", "ManufacturerModelName",
    "StationName", "SOPInstanceUID", "SOPClassUID", "InstanceNumber",
)  # fmt: skip
TAGS = (
    "0010,0020", "0010,0010", "0020,000d", "0008,0020", "0008,0030", "0008,1030", "0008,0050", "0008,0060",
    "0020,000e", "0020,0011", "0008,103e", "0008,0070", "0008,1090", "0008,1010", "0008,0018", "0008,0016",
    "0020,0013",
)  # fmt: skip
SERIES_PER_SESSION = 5
SLICES = 100


def generate(root: Path, n_files: int) -> int:
    """Subjects x 2 sessions x 5 series x 100 slices. One dataset is encoded per series; its
    instances differ in SOP instance UID and instance number (fixed-width, patched in place),
    which is all a header scan can tell apart, and keeps generation to a few seconds."""
    written = 0
    sessions = max(1, n_files // (SERIES_PER_SESSION * SLICES))
    for index in range(sessions):
        subject, session = divmod(index, 2)
        study = StudySpec(
            patient_id=f"SUB{subject:03d}",
            patient_name=f"Bench^Subject{subject:03d}",
            study_date=f"2024{session + 1:02d}15",
            seed="bench-inventory",
            series=tuple(SeriesSpec(i + 1, f"series_{i + 1}", instances=SLICES) for i in range(SERIES_PER_SESSION)),
        )
        for si in range(SERIES_PER_SESSION):
            ds = make_dataset(study, si, 1, rows=64, cols=64, realistic=True)
            ds.SOPInstanceUID = study.series_uid(si) + ".100001"
            ds.InstanceNumber = "100001"
            template = to_bytes(ds)
            folder = root / f"sub-{subject:03d}" / f"ses-{session + 1:02d}" / f"{si + 1:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(1, SLICES + 1):
                number = b"%06d" % (100000 + k)
                data = template.replace(b".100001", b"." + number).replace(b"IS\x06\x00100001", b"IS\x06\x00" + number)
                (folder / f"{k:04d}.dcm").write_bytes(data)
                written += 1
    return written


def walk_files(root: Path) -> list[str]:
    out: list[str] = []
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.is_file():
                    out.append(entry.path)
    return out


def can_drop_caches() -> bool:
    return os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _pydicom_batch(paths: list[str]) -> int:
    import warnings

    import pydicom

    warnings.simplefilter("ignore")
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        tuple(str(ds.get(k, "")) for k in FIELDS)
    return len(paths)


def pydicom_pool(root: Path) -> int:
    paths = walk_files(root)
    batches = [paths[i : i + 250] for i in range(0, len(paths), 250)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return sum(pool.imap_unordered(_pydicom_batch, batches))


def dcmdump_pool(root: Path) -> int:
    paths = walk_files(root)
    per_call = str(max(1, len(paths) // 8))  # 2,500 for 20,000 files, as DICOM-NOTES measured it
    args = ["xargs", "-0", "-P2", "-n", per_call, "dcmdump", "-q", "-M", "+sb", "7fe0,0010"]
    for tag in TAGS:
        args += ["+P", tag]
    subprocess.run(args, input="\0".join(paths).encode(), stdout=subprocess.DEVNULL, check=True)
    return len(paths)


def read_4k(root: Path) -> int:
    paths = walk_files(root)
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        os.read(fd, 4096)
        os.close(fd)
    return len(paths)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def measure(fn: Callable[[], int], runs: int, *, cold: bool, prepare: Callable[[], None] | None = None) -> float:
    """Seconds: the median of `runs` runs, each after dropping the page cache when `cold`."""
    times = []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        if cold:
            drop_caches()
        times.append(timed(fn)[0])
    return statistics.median(times)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> tuple[float, float]:
    """(CPU time all processes on the machine used, CPU time this process and its finished
    children used), in seconds. Their difference over an interval is what other work took."""
    with open("/proc/stat") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, *_ = (int(x) for x in fh.readline().split()[1:])
    machine = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    own = sum(
        r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    return machine, own


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder and keep it")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="xsync-bench-inventory-"))
    root = args.keep or workdir / "corpus"
    try:
        if not (root.is_dir() and any(root.iterdir())):
            started = time.perf_counter()
            n = generate(root, args.files)
            print(
                f"generated {n:,} files in {time.perf_counter() - started:.1f} s under {root}",
                file=sys.stderr,
                flush=True,
            )
        n = len(walk_files(root))
        size = sum(os.path.getsize(p) for p in walk_files(root))
        cache = workdir / "inventory.sqlite"

        def no_cache() -> None:
            # A first scan as a new process makes it: no header cache, nothing learned yet about
            # the files' layouts (which worker processes would otherwise inherit from this one).
            cache.unlink(missing_ok=True)
            forget_layouts()

        def xsync(cache_path: Path | None = None, workers: int | None = None) -> Callable[[], int]:
            return lambda: scan([root], cache_path=cache_path, workers=workers).n_files

        load_before = load()
        notes: dict[str, str] = {}
        cold: dict[str, float] = {}
        if can_drop_caches():
            cold["xsync, first scan, cold (page cache dropped)"] = measure(xsync(cache), 2, cold=True, prepare=no_cache)
        else:
            notes["xsync, first scan, cold"] = "not measured: dropping the page cache needs root"

        def rescan() -> int:
            if not cache.exists():
                scan([root], cache_path=cache)
            return xsync(cache)()

        warm: dict[str, tuple[Callable[[], int], Callable[[], None] | None]] = {
            "xsync, first scan, warm": (xsync(cache), no_cache),
            "xsync, first scan, warm, 1 process": (xsync(cache, 1), no_cache),
            "xsync, re-scan with the header cache": (rescan, None),
            "pydicom `stop_before_pixels`, 2 processes": (lambda: pydicom_pool(root), None),
            "dcmtk `dcmdump` (17 tags, stop before pixels), 2 processes": (lambda: dcmdump_pool(root), None),
            "open + read the first 4 KiB, 1 process (floor)": (lambda: read_4k(root), None),
        }
        if not shutil.which("dcmdump"):
            del warm["dcmtk `dcmdump` (17 tags, stop before pixels), 2 processes"]
            notes["dcmtk `dcmdump`"] = "not measured: dcmdump is not installed (apt-get install dcmtk)"
        # Round robin: a burst of other work on the machine then slows one run of each method,
        # and the best of each is compared.
        best: dict[str, float] = {}
        machine_before, own_before = cpu_seconds()
        started = time.perf_counter()
        for _ in range(args.runs):
            for name, (fn, prepare) in warm.items():
                if prepare is not None:
                    prepare()
                seconds = timed(fn)[0]
                best[name] = min(best.get(name, seconds), seconds)
        rows: list[tuple[str, float | None, str]] = [(k, v, "") for k, v in cold.items()]
        rows += [(k, v, "") for k, v in best.items()] + [(k, None, v) for k, v in notes.items()]
        load_after = load()
        machine_after, own_after = cpu_seconds()
        others = (machine_after - machine_before) - (own_after - own_before)
        elapsed = time.perf_counter() - started

        pydicom_rate = n / next(t for name, t, _ in rows if name.startswith("pydicom") and t)
        print(f"{n:,} files, {size / 1e6:.1f} MB ({size / n:,.0f} B/file); {os.cpu_count()} CPUs "
              f"({platform.processor() or platform.machine()}), Python {platform.python_version()}; "
              f"load average before {load_before}, after {load_after}; other processes used "
              f"{max(0.0, others):.1f} CPU-seconds during the {elapsed:.0f} s of warm measurements")  # fmt: skip
        print()
        print("| method | files/s | seconds | × pydicom pool |")
        print("|---|---:|---:|---:|")
        for name, took, note in rows:
            if took is None:
                print(f"| {name} | – | – | {note} |")
            else:
                print(f"| {name} | {n / took:,.0f} | {took:.3f} | {n / took / pydicom_rate:.1f} |")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
