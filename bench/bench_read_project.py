"""Reading a whole project: xsync's bulk read against an object-by-object walk, side by side in
one run, on the same emulated project with the same injected latency.

The project: 1,000 subjects x 2 sessions x 10 scans (20,000 scans, each with a DICOM resource).
The walk is what per-object clients do (xnatpy touches `fulldata` per object): list the
subjects, GET each subject (demographics, custom variables), list each subject's experiments,
GET each session (its fields, scans and their resources come as children). Both use one
keep-alive HTTP session and read the same information.

    python bench/bench_read_project.py [--subjects 1000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import time

import requests

from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed
from xsync.xnat.client import XnatClient
from xsync.xnat.read import read_project
from xsync.xnat.settings import ConnectionSettings, Credentials

TYPES = ["T1w", "T2w", "rfMRI", "tfMRI", "dMRI", "SpinEcho", "FieldMap", "BIAS", "Localizer", "AAHScout"]


def seed(emu: Emulator, n_subjects: int) -> None:
    for i in range(n_subjects):
        label = f"sub{i:05d}"
        emu.seed.add_subject("BENCH", label, fields={"gender": "female", "age": str(20 + i % 40)}, custom={"site": "A"})
        for j in range(2):
            emu.seed.add_session(
                "BENCH",
                label,
                f"{label}_v{j + 1}",
                fields={"scanner": "SIEMENS", "date": "2024-01-31", "UID": f"1.2.{i}.{j}"},
                scans=[
                    ScanSeed(str(k), fields={"type": TYPES[k - 1], "UID": f"1.2.{i}.{j}.{k}"}, files=176)
                    for k in range(1, 11)
                ],
            )


def walk(base: str) -> tuple[int, int, int]:
    """Object by object. Returns (sessions, scans, requests)."""
    http = requests.Session()
    http.auth = ("admin", "admin")
    n = 0

    def get(path: str) -> dict:  # type: ignore[type-arg]
        nonlocal n
        n += 1
        r = http.get(base + path, params={"format": "json"}, timeout=60)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    sessions = scans = 0
    for subject in get("/data/projects/BENCH/subjects")["ResultSet"]["Result"]:
        get(f"/data/projects/BENCH/subjects/{subject['label']}")
        for e in get(f"/data/projects/BENCH/subjects/{subject['label']}/experiments")["ResultSet"]["Result"]:
            item = get(f"/data/experiments/{e['ID']}")["items"][0]
            sessions += 1
            scans += sum(len(c["items"]) for c in item["children"] if c["field"] == "scans/scan")
    get("/data/prearchive/projects/BENCH")
    return sessions, scans, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    args = ap.parse_args()
    with Emulator(EmulatorConfig()) as emu:
        t0 = time.perf_counter()
        seed(emu, args.subjects)
        print(f"seeded {args.subjects} subjects x 2 sessions x 10 scans in {time.perf_counter() - t0:.1f} s")
        emu.set_latency(args.latency_ms)

        emu.clear_log()
        t0 = time.perf_counter()
        with XnatClient(ConnectionSettings(emu.url, Credentials("admin", "admin"))) as client:
            state = read_project(client, "BENCH")
        t_bulk, n_bulk = time.perf_counter() - t0, len(emu.requests)
        counts = state.counts()

        emu.clear_log()
        t0 = time.perf_counter()
        sessions, scans, _ = walk(emu.url)
        t_walk, n_walk = time.perf_counter() - t0, len(emu.requests)

    assert (sessions, scans) == (counts["sessions"], counts["scans"]), "both reads must see the same project"
    print(f"{counts['subjects']:,} subjects, {counts['sessions']:,} sessions, {counts['scans']:,} scans; "
          f"{args.latency_ms:g} ms latency per request")  # fmt: skip
    print()
    print("| read | requests | wall time (s) |")
    print("|---|---:|---:|")
    print(f"| xsync `read_project` (bulk listings) | {n_bulk:,} | {t_bulk:.2f} |")
    print(f"| object-by-object walk | {n_walk:,} | {t_walk:.2f} |")
    print(f"| ratio (walk / xsync) | {n_walk / n_bulk:,.0f}x | {t_walk / t_bulk:,.0f}x |")


if __name__ == "__main__":
    main()
