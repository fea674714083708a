"""Upload throughput and memory: xsync's streamed DICOM-zip import against a plain
`requests.post` of a prebuilt zip of the same files, side by side in one run, to the same
emulated XNAT (its own process, state on disk).

Throughput: each round sends the study once each way, in alternating order, to new session
labels (dest=/prearchive, so both pay the same server work); the table gives the median of the
rounds. Memory: `xsync apply` of the study in a child process, and the baseline in another
(read the prebuilt zip, post it), each child's peak RSS from the kernel (ru_maxrss).

    python bench/bench_apply_upload.py [--megabytes 200] [--rounds 3] [--memory-megabytes 1024]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests

from xsync.apply.files import instances, zip_entries
from xsync.apply.zipstream import ZipStream
from xsync.inventory.scan import scan
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study
from xsync.xnat.client import XnatClient
from xsync.xnat.settings import ConnectionSettings, Credentials
from xsync.xnat.write import XnatWriter

PROJECT = "UPLOAD"
FILE_BYTES = 512 * 512 * 2  # a 512x512 16-bit slice: about half a megabyte a file


def write(folder: Path, megabytes: int) -> Path:
    files = max(1, megabytes * 1_000_000 // FILE_BYTES)
    per_series = 200
    series = tuple(SeriesSpec(i + 1, f"EPI_{i + 1}", instances=min(per_series, files - i * per_series))
                   for i in range((files + per_series - 1) // per_series))  # fmt: skip
    study = StudySpec(seed=f"bench-{megabytes}", series=series)
    write_study(study, folder / "dicom" / "study", rows=512, cols=512)
    return folder / "dicom"


def serve(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "xsync", "emulator", "serve", "--port", "0", "--project", PROJECT,
         "--data-dir", str(data_dir), "--quiet-seconds", "100000"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    m = re.search(r"(http://\S+)", server.stderr.readline())
    assert m
    return server, m.group(1)


def params(label: str) -> list[tuple[str, str]]:
    return [("import-handler", "DICOM-zip"), ("PROJECT_ID", PROJECT), ("SUBJECT_ID", "s"), ("EXPT_LABEL", label),
            ("rename", "true"), ("dest", f"/prearchive/projects/{PROJECT}")]  # fmt: skip


def throughput(dicom: Path, url: str, rounds: int, tmp: Path) -> None:
    [study] = scan([dicom], cache_path=None).studies
    chosen = [i for s in study.series for i in instances(study, s)]
    prebuilt = tmp / "prebuilt.zip"
    with zipfile.ZipFile(prebuilt, "w", zipfile.ZIP_STORED) as zf:
        for i in chosen:
            zf.write(i.file.path, f"{i.series.uid}/{i.file.sop_instance_uid}.dcm")
    size = prebuilt.stat().st_size
    times: dict[str, list[float]] = {"xsync": [], "requests": []}
    with XnatClient(ConnectionSettings(url, Credentials("admin", "admin"))) as client:
        writer = XnatWriter(client)
        for r in range(rounds):
            order = ("xsync", "requests") if r % 2 == 0 else ("requests", "xsync")
            for who in order:
                label = f"{who}{r}"
                started = time.perf_counter()
                if who == "xsync":
                    writer.import_archive(ZipStream(zip_entries(chosen)), params(label))
                else:
                    with prebuilt.open("rb") as body:
                        response = requests.post(f"{url}/data/services/import", params=params(label), data=body,
                                                 headers={"Content-Type": "application/zip"}, auth=("admin", "admin"),
                                                 timeout=3600)  # fmt: skip
                    response.raise_for_status()
                times[who].append(time.perf_counter() - started)
    mb = size / 1e6
    xs, rq = statistics.median(times["xsync"]), statistics.median(times["requests"])
    print(f"{len(chosen)} files, {mb:.0f} MB; median of {rounds} alternating rounds")
    print()
    print("| upload | wall time (s) | MB/s |")
    print("|---|---:|---:|")
    print(f"| xsync, zipped while sent | {xs:.2f} | {mb / xs:.1f} |")
    print(f"| `requests.post` of a prebuilt zip | {rq:.2f} | {mb / rq:.1f} |")
    print(f"| xsync / requests | | {rq / xs * 100:.0f}% |")


_BASELINE = """
import sys, requests
body = open(sys.argv[2], "rb").read()  # what a client that builds the zip first holds
r = requests.post(sys.argv[1] + "/data/services/import", data=body, auth=("admin", "admin"), timeout=3600,
                  headers={"Content-Type": "application/zip"},
                  params={"import-handler": "DICOM-zip", "PROJECT_ID": "UPLOAD", "SUBJECT_ID": "b",
                          "EXPT_LABEL": "baseline", "dest": "/prearchive/projects/UPLOAD"})
r.raise_for_status()
"""


def child_peak_rss(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process, from its own rusage (os.wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    elapsed = time.perf_counter() - started
    assert child.returncode == 0, errors[-2000:]
    return usage.ru_maxrss / 1024, elapsed  # ru_maxrss is in KiB on Linux


def memory(megabytes: int, tmp: Path) -> None:
    site = tmp / "memory"
    dicom = write(site, megabytes)
    spec = site / "xsync.yaml"
    spec.write_text(f"""version: 1
project: {PROJECT}
dicom: {{roots: [dicom/]}}
subjects:
  m:
    sessions:
      big: {{dicom: {{path: dicom/study}}}}
""")
    prebuilt = tmp / "memory.zip"
    [study] = scan([dicom], cache_path=None).studies
    with zipfile.ZipFile(prebuilt, "w", zipfile.ZIP_STORED) as zf:
        for s in study.series:
            for i in instances(study, s):
                zf.write(i.file.path, f"{s.uid}/{i.file.sop_instance_uid}.dcm")
    server, url = serve(tmp / "memory-xnat")
    env = {**os.environ, "XNAT_USER": "admin", "XNAT_PASS": "admin"}
    try:
        base_rss, base_s = child_peak_rss([sys.executable, "-c", _BASELINE, url, str(prebuilt)], env)
        xsync_rss, xsync_s = child_peak_rss(
            [sys.executable, "-m", "xsync", "apply", "--spec", str(spec), "--server", url, "--auto-approve",
             "--no-cache"], env)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)
    size = prebuilt.stat().st_size / 1e6
    print(f"a {size:,.0f} MB study ({study.n_instances} files), uploaded to the emulator in its own process")
    print()
    print("| client | peak RSS (MB) | wall time (s) |")
    print("|---|---:|---:|")
    print(f"| `xsync apply` (zip streamed, every file read back) | {xsync_rss:,.0f} | {xsync_s:.1f} |")
    print(f"| `requests.post` of the zip read into memory | {base_rss:,.0f} | {base_s:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--megabytes", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory-megabytes", type=int, default=1024)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dicom = write(tmp / "throughput", args.megabytes)
        server, url = serve(tmp / "xnat")
        try:
            throughput(dicom, url, args.rounds, tmp)
        finally:
            server.terminate()
            server.wait(timeout=60)
        if args.memory_megabytes:
            print()
            memory(args.memory_megabytes, tmp)


if __name__ == "__main__":
    main()
