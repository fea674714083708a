"""Emulator settings: who may log in, what exists at start-up, and the knobs tests and
benchmarks turn (latency, faults, quiet period, quirks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    users: dict[str, str] = field(default_factory=lambda: {"admin": "admin"})  # name -> password
    admins: frozenset[str] = frozenset({"admin"})
    projects: tuple[str, ...] = ()  # created at start-up
    data_dir: Path | None = None  # None: state in memory, files in a temporary directory
    dicom_port: int | None = None  # None: no C-STORE receiver; 0: a free port
    dicom_ae_title: str = "XNAT"
    latency_ms: float = 0.0  # added to every request
    fault_rate: float = 0.0  # share of requests that fail, in equal parts of each of fault_kinds
    fault_kinds: tuple[str, ...] = ("503", "drop")  # of knobs.FAULT_KINDS
    seed: int | None = None  # for the fault dice
    quiet_seconds: float = 300.0  # prearchive RECEIVING -> READY after this long without files
    site_id: str = "XNAT"
    context_path: str = ""  # e.g. "/xnat" to serve under https://host/xnat/data/...
    tls_cert: Path | None = None  # PEM certificate (and key below): serve HTTPS instead of HTTP
    tls_key: Path | None = None
    # XNAT 1.8 as read from its source where the emulator is otherwise lenient (docs/emulator.md,
    # "Strict mode"): listing columns XNAT's XFT cannot resolve and import bodies XNAT refuses.
    strict: bool = False
    # Presets that play another server's reported behaviour (drops.QUIRKS), e.g.
    # "put-by-id-ignored" for XNAT 1.9's session PUTs.
    quirks: tuple[str, ...] = ()
