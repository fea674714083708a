"""Field writes at scale: `xsync apply` of 5,000 scan-field PUTs with `--parallelism 8` against
`--parallelism 1`, side by side in one run, each against a fresh emulated project holding the same
sessions, with the same injected latency per request (a server across a network).

The project: 50 subjects x 10 sessions x 10 scans; the spec gives every scan a new `type` and
`quality`, so the plan is 5,000 `update scan` operations, each one PUT, then read back. Both runs
go through the whole command (plan, lock, PUTs, verification reads).

    python bench/bench_apply_parallel.py [--latency-ms 20] [--subjects 50]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from xsync.cli.main import main as xsync
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed

PROJECT = "PUTS"


def seed(emu: Emulator, subjects: int) -> None:
    for i in range(subjects):
        label = f"sub{i:03d}"
        emu.seed.add_subject(PROJECT, label)
        for j in range(10):
            emu.seed.add_session(
                PROJECT, label, f"{label}_s{j}",
                scans=[ScanSeed(str(k), fields={"type": "old", "quality": "questionable"}) for k in range(1, 11)],
            )  # fmt: skip


def write_spec(folder: Path, subjects: int) -> Path:
    spec = {
        "version": 1,
        "project": PROJECT,
        "subjects": {
            f"sub{i:03d}": {
                "sessions": {
                    f"sub{i:03d}_s{j}": {
                        "scans": {str(k): {"type": f"T{k}", "quality": "usable"} for k in range(1, 11)}
                    }
                    for j in range(10)
                }
            }
            for i in range(subjects)
        },
    }
    path = folder / "xsync.yaml"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def run(spec: Path, subjects: int, latency_ms: float, parallelism: int) -> tuple[float, int, str]:
    with Emulator(EmulatorConfig(projects=(PROJECT,))) as emu:
        seed(emu, subjects)
        emu.set_latency(latency_ms)
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = xsync(["apply", "--spec", str(spec), "--server", emu.url, "--auto-approve",
                          "--parallelism", str(parallelism)])  # fmt: skip
        elapsed = time.perf_counter() - started
        assert code == 0, out.getvalue()[-2000:]
        requests = len(emu.requests)
        emu.set_latency(0)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert xsync(["plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode"]) == 0
    summary = next(line for line in out.getvalue().splitlines() if line.startswith("Apply complete."))
    return elapsed, requests, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    args = ap.parse_args()
    os.environ.update({"XNAT_USER": "admin", "XNAT_PASS": "admin"})
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_spec(Path(tmp), args.subjects)
        rows = [(p, *run(spec, args.subjects, args.latency_ms, p)) for p in (1, 8)]
    (_, serial, _, summary), (_, parallel, _, _) = rows
    print(f"{args.subjects * 100:,} scan-field PUTs, {args.latency_ms:g} ms latency per request; {summary}")
    print()
    print("| `--parallelism` | requests | wall time (s) |")
    print("|---:|---:|---:|")
    for p, elapsed, requests, _ in rows:
        print(f"| {p} | {requests:,} | {elapsed:.1f} |")
    print(f"| speed-up (1 / 8) | | {serial / parallel:.1f}x |")


if __name__ == "__main__":
    main()
