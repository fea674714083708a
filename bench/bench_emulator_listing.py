"""How fast the emulator answers the listings the xsync client reads a whole project with.

Not a test. Seeds a project in-process (1,000 subjects x 2 MR sessions x 10 scans, each scan
with a 3-file DICOM resource = 20,000 scan rows), then times, over real HTTP with requests
(JSON parsing included), each of the client's read requests. The baseline, run side by side in
the same server: downloading a file holding exactly the bytes of the same listing, so the ratio
is what building the rows costs on top of moving and parsing them.

    python bench/bench_emulator_listing.py [--subjects 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import requests

from xsync.emulator import Emulator, EmulatorConfig
from xsync.xnat.read import SUBJECT_READ_FIELDS, session_columns
from xsync.xnat.wire import SCAN_COLUMNS, custom_columns

MR = "xnat:mrSessionData"


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with Emulator(EmulatorConfig(projects=("BENCH",))) as emu:
        start = time.perf_counter()
        for i in range(args.subjects):
            label = f"S{i:05d}"
            emu.seed.add_subject("BENCH", label, fields={"gender": "female", "age": "30"}, custom={"cohort": "A"})
            for kind in ("3T", "7T"):
                scans = [
                    {
                        "id": str(n),
                        "fields": {"type": f"T{n}", "series_description": f"S{n}", "quality": "usable"},
                        "files": 3,
                    }
                    for n in range(1, 11)
                ]
                emu.seed.add_session("BENCH", label, f"{label}_{kind}", fields={"scanner": "PRISMA"}, scans=scans)
        seeded = time.perf_counter() - start
        http = requests.Session()
        http.auth = ("admin", "admin")
        base = emu.url + "/data/projects/BENCH"
        requests_ = {
            "subjects + custom fields": (
                "/subjects",
                {"columns": ",".join(["ID", "label", *SUBJECT_READ_FIELDS, *custom_columns("xnat:subjectData")])},
            ),
            "experiments": ("/experiments", {"columns": "ID,label,xsiType,subject_ID,subject_label"}),
            "MR sessions + custom fields": ("/experiments", {"xsiType": MR, "columns": ",".join(session_columns(MR))}),
            "MR scans + resources": (
                "/experiments",
                {"xsiType": MR, "columns": ",".join(["ID", "label", *SCAN_COLUMNS])},
            ),
            "MR scan type probe": ("/experiments", {"xsiType": MR, "columns": "ID,xnat:mrScanData/ID"}),
        }
        n = args.subjects
        print(f"seeded {n} subjects, {2 * n} sessions, {20 * n} scans in {seeded:.2f} s")
        print("| request | rows | bytes | listing (s) | same bytes as a file (s) | ratio |")
        print("|---|---|---|---|---|---|")
        for name, (path, params) in requests_.items():
            r = http.get(base + path, params={"format": "json", **params})
            body = r.content
            n = len(json.loads(body)["ResultSet"]["Result"])
            blob = f"{base}/resources/BENCH/files/{abs(hash(name))}.json"
            http.put(blob, params={"inbody": "true", "overwrite": "true"}, data=body).raise_for_status()
            listing = _median(
                lambda p=path, q=params: http.get(base + p, params={"format": "json", **q}).json(), args.repeat
            )
            baseline = _median(lambda b=blob: json.loads(http.get(b).content), args.repeat)
            print(f"| {name} | {n} | {len(body):,} | {listing:.3f} | {baseline:.3f} | {listing / baseline:.2f} |")


if __name__ == "__main__":
    main()
