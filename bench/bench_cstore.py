"""C-STORE throughput: xsync's sender (as apply runs it: the routing comment spliced into every
object) against dcmtk's `storescu` sending the same files to the same dcmtk `storescp`, side by
side in one run, and pynetdicom's own Association for reference. Rounds alternate the senders;
the table gives the median files/s of the rounds.

    python bench/bench_cstore.py [--files 500] [--rows 256] [--rounds 5]

The files and what storescp writes live in /dev/shm where there is one: with a disk behind them
the receiver's writes made single runs of the same sender vary by 2x.

Needs dcmtk (`apt-get install dcmtk`). Both dcmtk tools run with TCP_NODELAY=1, as every sender
here sets it: without it each object waits on delayed ACKs (~40 ms).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from xsync.apply.context import ApplyContext
from xsync.apply.cstore import send_cstore
from xsync.apply.files import instances
from xsync.apply.runner import Runner
from xsync.inventory.scan import scan
from xsync.spec.remap import HeaderChange
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study
from xsync.xnat.storescu import StoreTarget
from xsync.xnat.write import XnatWriter

AE_TITLE = "STORESCP"


@functools.cache
def dcmtk(tool: str) -> str:
    """The dcmtk tool on PATH (pynetdicom installs console scripts of the same names)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(folder) / tool
        if path.is_file() and os.access(path, os.X_OK):
            version = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
            if "dcmtk" in version.lower():
                return str(path)
    sys.exit(f"dcmtk's {tool} is not installed (apt-get install dcmtk)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("storescp did not start")


def run_storescu(folder: Path, port: int, env: dict[str, str]) -> float:
    tool = dcmtk("storescu")  # found before the clock starts: finding it runs every candidate
    started = time.perf_counter()
    subprocess.run([tool, "-aec", AE_TITLE, "+sd", "+r", "127.0.0.1", str(port), str(folder)],
                   check=True, env=env, capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def run_xsync(chosen: list[Any], port: int) -> float:
    nothing = cast(Any, None)
    ctx = ApplyContext(
        project="BENCH", writer=cast(XnatWriter, nothing), read=nothing, runner=Runner(1), inventory=None
    )
    route = HeaderChange("PatientComments", "route", "Project:BENCH Subject:S1 Session:S1_MR1")
    started = time.perf_counter()
    send_cstore(chosen, (route,), StoreTarget("127.0.0.1", port, AE_TITLE, "XSYNC"), ctx, "bench")
    return time.perf_counter() - started


def run_pynetdicom(files: list[Path], port: int) -> float:
    from pynetdicom import AE, _config, evt

    _config.STORE_SEND_CHUNKED_DATASET = True  # send the file's bytes, not a re-encoding

    def nodelay(event: Any) -> None:
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4", ["1.2.840.10008.1.2.1"])
    started = time.perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=AE_TITLE, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
    for f in files:
        status = assoc.send_c_store(f)
        if status.get("Status") != 0:
            assoc.abort()
            raise RuntimeError(f"{f.name} was not stored ({status or 'no answer'})")
    assoc.release()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rows", type=int, default=256, help="image matrix (256: 128 KB a file)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "TCP_NODELAY": "1"}
    memory = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=memory if memory.is_dir() else None) as tmp:
        root = Path(tmp)
        study = StudySpec(seed="bench-cstore", series=(SeriesSpec(1, "EPI", instances=args.files),))
        write_study(study, root / "dicom", rows=args.rows, cols=args.rows)
        files = sorted(p for p in (root / "dicom").rglob("*") if p.is_file())
        size = sum(f.stat().st_size for f in files) / len(files)
        inventory = scan([root / "dicom"])
        s = inventory.studies[0]
        chosen = [i for series in s.series for i in instances(s, series)]
        received, port = root / "received", free_port()
        received.mkdir()
        scp = subprocess.Popen([dcmtk("storescp"), "-aet", AE_TITLE, "+xa", "-od", str(received), str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_for(port)
            times: dict[str, list[float]] = {"dcmtk storescu": [], "xsync": [], "pynetdicom Association": []}
            for r in range(args.rounds):
                order = list(times) if r % 2 == 0 else list(reversed(times))
                for name in order:
                    if name == "dcmtk storescu":
                        times[name].append(run_storescu(root / "dicom", port, env))
                    elif name == "xsync":
                        times[name].append(run_xsync(chosen, port))
                    else:
                        try:
                            times[name].append(run_pynetdicom(files, port))
                        except RuntimeError as e:  # a reference only: say so, and go on
                            print(f"pynetdicom Association, round {r + 1}: {e}", file=sys.stderr)
                    shutil.rmtree(received)
                    received.mkdir()
        finally:
            scp.terminate()
            scp.wait()
    base = args.files / statistics.median(times["dcmtk storescu"])
    print(f"{args.files} files of {size / 1024:.0f} KB to dcmtk storescp, median of {args.rounds} rounds")
    print("| sender | files/s | of storescu |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        if not ts:
            print(f"| {name} | failed | |")
            continue
        rate = args.files / statistics.median(ts)
        print(f"| {name} | {rate:,.0f} | {rate / base:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
