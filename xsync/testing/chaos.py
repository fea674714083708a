"""A chaos run: a site's sessions applied by the real `xsync apply` command while the emulator
adds latency, fails requests (503, 429, dropped connections, and connections dropped after the
request was handled, the case that duplicates a blindly retried upload), reads uploads slowly,
and is restarted in the middle (its state on disk, as XNAT's is). Apply is run again after a
failed run, as CI would, until it succeeds; then the server is inspected directly:

- duplicates: a SOP instance held twice by a session, or a scan holding more files than the
  local series has instances;
- instances missing: local instances the server does not hold;
- fields wrong: managed fields the next plan would still change.

Used by `bench/bench_chaos.py` (50 sessions) and a shorter test in the suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xsync.emulator import Emulator, EmulatorConfig
from xsync.inventory.scan import scan
from xsync.testing.sites import SiteShape, write_site

PROJECT = "CHAOS"
FAULTS = ("503", "429", "drop", "drop_after")


@dataclass(frozen=True)
class ChaosResult:
    sessions: int
    operations: int  # planned by the first run
    runs: int  # apply runs until one succeeded
    requests: int
    faults: int  # requests the emulator failed on purpose
    restarts: int
    retries: int  # "retrying" notices the runs printed
    duplicates: int
    missing: int
    fields_wrong: int
    seconds: float

    def table(self) -> str:
        head = ("sessions", "operations", "apply runs", "requests", "injected faults", "restarts", "retries",
                "duplicates found", "instances missing", "fields wrong")  # fmt: skip
        row = (self.sessions, self.operations, self.runs, self.requests, self.faults, self.restarts, self.retries,
               self.duplicates, self.missing, self.fields_wrong)  # fmt: skip
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---:|" * len(head),
                          "| " + " | ".join(f"{v:,}" for v in row) + " |"])  # fmt: skip


class _Server:
    """The emulator on a fixed port and data folder, restartable; keeps the fault count of every
    incarnation."""

    def __init__(self, data_dir: Path, fault_rate: float, seed: int, upload_rate: float) -> None:
        self.data_dir = data_dir
        self.fault_rate, self.seed, self.upload_rate = fault_rate, seed, upload_rate
        self.port = 0
        self.faults = self.requests = self.restarts = 0
        self.emu = self._start()

    def _start(self) -> Emulator:
        config = EmulatorConfig(projects=(PROJECT,), data_dir=self.data_dir, port=self.port, strict=True,
                                latency_ms=5.0, quiet_seconds=3600.0)  # fmt: skip
        emu = Emulator(config).start()
        self.port = emu.port
        emu.set_faults(self.fault_rate, self.seed + self.restarts, FAULTS)
        emu.knobs.upload_rate = self.upload_rate
        return emu

    def _count(self) -> None:
        log = self.emu.requests
        self.requests += len(log)
        self.faults += sum(1 for r in log if r.fault)

    def restart_at(self, requests: int, process: subprocess.Popen[str]) -> None:
        """Restart once the server has seen `requests` requests, unless the run ends first."""
        while process.poll() is None:
            if len(self.emu.requests) >= requests:
                self.restart()
                return
            time.sleep(0.01)

    def restart(self) -> None:
        self._count()
        self.emu.stop()
        self.restarts += 1
        self.emu = self._start()

    def calm(self) -> Emulator:
        """No more faults (for the inspection that follows)."""
        self._count()
        self.emu.clear_log()
        self.emu.set_faults(0.0)
        self.emu.knobs.upload_rate = None
        return self.emu

    def stop(self) -> None:
        self.emu.stop()


def run_chaos(root: Path, *, subjects: int, fault_rate: float = 0.05, seed: int = 7, restart_after: int = 40,
              upload_rate: float = 2_000_000.0, max_runs: int = 8) -> ChaosResult:  # fmt: skip
    """`subjects` x 2 sessions (MR, PET, CT in turn), applied under chaos; the result counts what
    went wrong. The server restarts once it has answered `restart_after` requests of the first
    run (mid-run: the plan's read takes a handful, each session's import and writes dozens)."""
    started = time.monotonic()
    spec = write_site(root / "site", PROJECT, SiteShape(subjects=subjects, sessions_per_subject=2))
    server = _Server(root / "server", fault_rate, seed, upload_rate)
    env = {**os.environ, "XNAT_USER": "admin", "XNAT_PASS": "admin", "XNAT_HOST": f"http://127.0.0.1:{server.port}"}
    env.pop("XNAT_SERVER", None)
    runs = retries = operations = 0
    try:
        for run in range(max_runs):
            cmd = [sys.executable, "-m", "xsync", "apply", "--spec", str(spec), "--auto-approve", "--json",
                   "--parallelism", "6", "--timeout", "20", "--archive-timeout", "120"]  # fmt: skip
            process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            watcher = None
            if run == 0 and restart_after > 0:
                watcher = threading.Thread(target=server.restart_at, args=(restart_after, process), daemon=True)
                watcher.start()
            out, err = process.communicate(timeout=600)
            if watcher is not None:
                watcher.join()
            runs += 1
            retries += len(re.findall(r"retrying \(\d+/\d+\)", err))
            if run == 0:
                operations = sum(1 for line in out.splitlines() if line.startswith("{") and '"index"' in line)
            if process.returncode == 0:
                break
        emu = server.calm()
        duplicates, missing = _instances(emu, spec)
        fields_wrong = _fields_wrong(spec, env)
        return ChaosResult(sessions=subjects * 2, operations=operations, runs=runs, requests=server.requests,
                           faults=server.faults, restarts=server.restarts, retries=retries, duplicates=duplicates,
                           missing=missing, fields_wrong=fields_wrong, seconds=time.monotonic() - started)  # fmt: skip
    finally:
        server.stop()


def _instances(emu: Emulator, spec: Path) -> tuple[int, int]:
    """(duplicates, missing) of the local DICOM on the server, read from its store."""
    inventory = scan([spec.parent / "dicom"])
    duplicates = missing = 0
    with emu.store.lock:
        by_study = {_uid(e.fields): e for e in emu.store.experiments.values() if e.project == PROJECT}
        for study in inventory.studies:
            session = by_study.get(study.uid)
            held: Counter[str] = Counter()
            if session is not None:
                for sc in session.scans.values():
                    for r in sc.resources.values():
                        held.update(f.sop_instance_uid or f.name for f in r.files.values())
            duplicates += sum(n - 1 for n in held.values() if n > 1)
            wanted = {f.sop_instance_uid for s in study.series for f in s.files}
            missing += len(wanted - set(held))
    return duplicates, missing


def _fields_wrong(spec: Path, env: dict[str, str]) -> int:
    """Field changes a fresh plan still makes (0 when every field holds the spec's value)."""
    done = subprocess.run([sys.executable, "-m", "xsync", "plan", "--spec", str(spec), "--json"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the final plan failed: {done.stderr.strip()}")
    plan = json.loads(done.stdout)
    return sum(len(op.get("changes", op.get("fields", []))) for op in plan["operations"])


def _uid(fields: dict[str, str]) -> str:
    """A session's StudyInstanceUID in the emulator's store (kept by its path)."""
    return next((v for k, v in fields.items() if k.rsplit("/", 1)[-1].lower() == "uid"), "")
