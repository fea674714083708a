"""The chaos run (xsync.testing.chaos): a site's sessions applied by `xsync apply` while the
emulator adds latency, fails 5% of requests (503, 429, dropped connections, and connections
dropped after the request was handled), reads uploads at 2 MB/s and restarts in the middle;
apply runs again after a failure, as CI would. Prints the table docs/guarantees.md shows: the
last three columns must be 0.

    python bench/bench_chaos.py [--subjects 25] [--fault-rate 0.05] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from xsync.testing.chaos import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=25, help="subjects, two sessions each (default: 50 sessions)")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_chaos(Path(tmp), subjects=args.subjects, fault_rate=args.fault_rate, seed=args.seed)
    print(f"fault rate {args.fault_rate:.0%} (503, 429, drop, drop after handling), 5 ms latency, uploads at 2 MB/s, "
          f"one restart; {result.seconds:.0f} s")  # fmt: skip
    print(result.table())
    bad = result.duplicates + result.missing + result.fields_wrong
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
