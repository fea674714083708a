"""How fast the emulator takes DICOM in: the import service and the C-STORE receiver.

Not a test. One synthetic MR study (default 4 series x 50 instances, 64x64 pixels, ~9 KB per
file) is sent, over real sockets, in the ways a client sends it; each row is timed against a
baseline run side by side against the same server:

- DICOM-zip import, receive only (no dest) and the whole pipeline (archive dest: build and
  archive in the same request), against a plain upload of the same zip bytes as a file resource
  (what moving and storing the bytes costs);
- C-STORE of every instance over one association with TCP_NODELAY on both ends, against the
  same with Nagle's algorithm left on at the sender (pynetdicom's default);
- DICOM-zip import of a bigger study (`--persist-files`, default 1,600) into an emulator that
  keeps its state in `--data-dir`, against the same import into one that keeps it in memory
  (what persistence costs while files arrive; a fresh emulator per run, the import request
  timed, the final save at a clean stop reported beside it).

    python bench/bench_emulator_ingest.py [--series 4] [--instances 50] [--repeat 3] [--persist-files 1600]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt

from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.cstore import nodelay_handler
from xsync.testing.dicomgen import MR_IMAGE, SeriesSpec, StudySpec, make_dataset, to_bytes


def _median(fn: Callable[[int], object], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _study(series: int, instances: int, seed: str) -> StudySpec:
    specs = tuple(SeriesSpec(n, f"S{n}", instances=instances) for n in range(1, series + 1))
    return StudySpec(seed=seed, study_description="BENCH").with_series(*specs)


def _encoded(study: StudySpec) -> list[bytes]:
    return [
        to_bytes(make_dataset(study, si, n, rows=64, cols=64))
        for si, s in enumerate(study.series)
        for n in range(1, s.instances + 1)
    ]


def _zip(files: list[bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i, data in enumerate(files):
            zf.writestr(f"{i:05d}.dcm", data)
    return buf.getvalue()


def _send(emu: Emulator, datasets: list[Dataset], nodelay: bool) -> None:
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(MR_IMAGE, ExplicitVRLittleEndian)
    handlers = [(evt.EVT_CONN_OPEN, nodelay_handler)] if nodelay else []
    assert emu.dicom_port is not None
    assoc = ae.associate("127.0.0.1", emu.dicom_port, ae_title="XNAT", evt_handlers=handlers)
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            assert status and status.Status == 0x0000
        assoc.release()
    finally:
        if assoc.is_established:
            assoc.abort()


def _persisted_import(files: int, repeat: int) -> tuple[float, float, float]:
    """(median import seconds with --data-dir, median in memory, median final save at stop)."""
    per_series = 200
    series = max(1, files // per_series)
    zips = [_zip(_encoded(_study(series, files // series, f"persist{i}"))) for i in range(repeat)]
    timings: dict[str, list[float]] = {"disk": [], "memory": [], "stop": []}
    with tempfile.TemporaryDirectory(prefix="xsync-bench-") as tmp:
        for i in range(repeat):
            for kind in ("disk", "memory"):
                data_dir = Path(tmp) / f"run{i}" if kind == "disk" else None
                emu = Emulator(EmulatorConfig(projects=("BENCH",), quiet_seconds=3600, data_dir=data_dir)).start()
                try:
                    http = requests.Session()
                    http.auth = ("admin", "admin")
                    start = time.perf_counter()
                    r = http.post(
                        emu.url + "/data/services/import", data=zips[i], headers={"Content-Type": "application/zip"}
                    )
                    timings[kind].append(time.perf_counter() - start)
                    assert r.status_code == 200, r.text
                finally:
                    start = time.perf_counter()
                    emu.stop()
                    if kind == "disk":
                        timings["stop"].append(time.perf_counter() - start)
    return statistics.median(timings["disk"]), statistics.median(timings["memory"]), statistics.median(timings["stop"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=4)
    ap.add_argument("--instances", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--persist-files", type=int, default=1600, help="study size for the --data-dir row (0: skip)")
    args = ap.parse_args()
    n_files = args.series * args.instances
    config = EmulatorConfig(projects=("BENCH",), quiet_seconds=3600, dicom_port=0)
    with Emulator(config) as emu:
        http = requests.Session()
        http.auth = ("admin", "admin")
        url = emu.url + "/data/services/import"
        # A new study (seed) per run, so every run imports into an empty session.
        zips = [_zip(_encoded(_study(args.series, args.instances, f"zip{i}"))) for i in range(2 * args.repeat)]
        size = len(zips[0])

        def plain(i: int) -> None:
            target = f"{emu.url}/data/projects/BENCH/resources/raw/files/upload{i}.zip"
            r = http.put(target, data=zips[0], params={"inbody": "true"}, headers={"Content-Type": "application/zip"})
            assert r.status_code in (200, 201), r.text

        def receive(i: int) -> None:
            r = http.post(url, data=zips[i], headers={"Content-Type": "application/zip"})
            assert r.status_code == 200, r.text

        def pipeline(i: int) -> None:
            dest = f"/archive/projects/BENCH/subjects/s/experiments/e{i}"
            zip_data = zips[args.repeat + i]
            r = http.post(url, data=zip_data, params={"dest": dest}, headers={"Content-Type": "application/zip"})
            assert r.status_code == 200, r.text

        baseline = _median(plain, args.repeat)
        rows = [
            ("DICOM-zip, receive only (prearchive)", _median(receive, args.repeat), baseline),
            ("DICOM-zip, archive dest (build + archive)", _median(pipeline, args.repeat), baseline),
        ]

        def datasets(tag: str) -> list[Dataset]:
            files = _encoded(_study(args.series, args.instances, tag))
            return [dcmread(io.BytesIO(b)) for b in files]

        sends = {f"{kind}{i}": datasets(f"{kind}{i}") for kind in ("fast", "nagle") for i in range(args.repeat)}
        fast = _median(lambda i: _send(emu, sends[f"fast{i}"], True), args.repeat)
        nagle = _median(lambda i: _send(emu, sends[f"nagle{i}"], False), args.repeat)
        rows.append(("C-STORE, TCP_NODELAY both ends", fast, nagle))

    print(f"{n_files} files, zip {size:,} bytes, median of {args.repeat}")
    print("| path | files | seconds | files/s | baseline (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for name, seconds, base in rows:
        print(f"| {name} | {n_files} | {seconds:.3f} | {n_files / seconds:,.0f} | {base:.3f} | {seconds / base:.2f} |")
    if args.persist_files:
        n = args.persist_files
        disk, memory, stop = _persisted_import(n, args.repeat)
        name = "DICOM-zip, receive only, --data-dir"
        print(f"| {name} | {n} | {disk:.3f} | {n / disk:,.0f} | {memory:.3f} | {disk / memory:.2f} |")
        print(f"clean stop of that emulator, final save included: {stop:.3f} s")
    print("baselines: the zip as one file resource (import rows); the same C-STOREs with Nagle on at the sender;")
    print("the same import with the state in memory (--data-dir row)")


if __name__ == "__main__":
    main()
