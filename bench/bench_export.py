"""`xsync export` of a large project: time and requests, against the project read alone, for
growing projects on the same emulated server with the same latency. The request count must not
grow with the project (the read is a constant number of listings); the time beyond the read is
building and writing the YAML.

    python bench/bench_export.py [--subjects 10,100,1000] [--latency-ms 20]

Each project: N subjects x 2 sessions x 10 scans, subjects with gender, age and a custom
variable, sessions with a scanner and a StudyInstanceUID, scans with a type and description.
`xsync export` runs as the command a site runs (its own process, `-o FILE`); the read alone is
`read_project` in this process, timed around the same server.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed
from xsync.xnat.client import XnatClient
from xsync.xnat.read import read_project
from xsync.xnat.settings import ConnectionSettings, Credentials

TYPES = ["T1w", "T2w", "rfMRI", "tfMRI", "dMRI", "SpinEcho", "FieldMap", "BIAS", "Localizer", "AAHScout"]


def seed(emu: Emulator, project: str, n_subjects: int) -> None:
    for i in range(n_subjects):
        label = f"sub{i:05d}"
        emu.seed.add_subject(project, label, fields={"gender": "female", "age": str(20 + i % 40)},
                             custom={"site": "A"})  # fmt: skip
        for j in range(2):
            emu.seed.add_session(
                project, label, f"{label}_v{j + 1}",
                fields={"scanner": "SIEMENS", "date": "2024-01-31", "UID": f"1.2.{i}.{j}"},
                scans=[ScanSeed(str(k), fields={"type": TYPES[k - 1], "series_description": f"{TYPES[k - 1]}_AP",
                                                "UID": f"1.2.{i}.{j}.{k}"}) for k in range(1, 11)],
            )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", default="10,100,1000")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    sizes = [int(n) for n in args.subjects.split(",")]
    projects = tuple(f"P{n}" for n in sizes)
    rows = []
    with Emulator(EmulatorConfig(projects=projects)) as emu, tempfile.TemporaryDirectory() as tmp:
        for project, n in zip(projects, sizes, strict=True):
            seed(emu, project, n)
        emu.set_latency(args.latency_ms)
        env = {**os.environ, "XNAT_USER": "admin", "XNAT_PASS": "admin"}
        for project, n in zip(projects, sizes, strict=True):
            settings = ConnectionSettings(emu.url, Credentials("admin", "admin"))
            started = time.perf_counter()
            with XnatClient(settings) as client:
                read_project(client, project)
                read_requests = client.request_count
            read_seconds = time.perf_counter() - started
            out = Path(tmp) / f"{project}.yaml"
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "xsync", "export", "--project", project, "--server", emu.url,
                                   "-o", str(out)], env=env, capture_output=True, text=True, check=True)  # fmt: skip
            export_seconds = time.perf_counter() - started
            m = re.search(r"\((\d+) requests", done.stderr)
            assert m, done.stderr
            lines = out.read_text().count("\n")
            rows.append((n, int(m.group(1)), read_requests, export_seconds, read_seconds, lines))
    print(f"{args.latency_ms:g} ms latency per request; subjects x 2 sessions x 10 scans")
    print("| subjects | scans | export: requests | read alone: requests | export: s | read alone: s | YAML lines |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, export_requests, read_requests, export_s, read_s, lines in rows:
        print(
            f"| {n:,} | {n * 20:,} | {export_requests} | {read_requests} | {export_s:.2f} | {read_s:.2f} | {lines:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
