"""Start-up: how long `xsync --version`, `xsync --help` and `xsync validate` of the CCF_TEST
example take, as ratios against a bare `python -c pass` timed side by side in the same run
(rounds interleaved, best of each: start-up noise only ever adds time). As installed: bytecode
is written once (a warm-up round) and used after, whatever PYTHONDONTWRITEBYTECODE says here.

    python bench/bench_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
XSYNC = str(Path(sys.executable).with_name("xsync"))
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "xsync --version": [XSYNC, "--version"],
    "xsync --help": [XSYNC, "--help"],
    "xsync validate (CCF_TEST)": [XSYNC, "validate", "--spec", str(REPO / "examples" / "ccf_test" / "xsync.yaml")],
}
TARGETS = {"xsync --version": 4.0, "xsync validate (CCF_TEST)": 8.0}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def once(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, args
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    best = {name: float("inf") for name in CASES}
    for command in CASES.values():  # warm-up: writes the bytecode an installed package has
        once(command)
    for _ in range(args.rounds):
        for name, command in CASES.items():
            best[name] = min(best[name], once(command))
    base = best["python -c pass"]
    print(f"best of {args.rounds} interleaved rounds, Python {sys.version.split()[0]}")
    print()
    print("| command | time (ms) | × `python -c pass` | target |")
    print("|---|---:|---:|---:|")
    for name, seconds in best.items():
        target = f"≤ {TARGETS[name]:g}×" if name in TARGETS else ""
        print(f"| `{name}` | {seconds * 1000:.0f} | {seconds / base:.1f}× | {target} |")


if __name__ == "__main__":
    main()
