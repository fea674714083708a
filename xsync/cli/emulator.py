"""`xsync emulator ...`: the built-in XNAT emulator."""

from __future__ import annotations

import errno
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from xsync.errors import UsageError, XsyncError

# knobs.FAULT_KINDS and drops.QUIRKS, spelled out so that the command line does not import the
# emulator before it serves (a test keeps them equal).
FAULT_KINDS = ("503", "429", "drop", "drop_after")
DEFAULT_FAULT_KINDS = ("503", "drop")
QUIRKS = ("put-by-id-ignored",)


@click.group()
def emulator() -> None:
    """Run the built-in XNAT 1.8 emulator (for tests, CI dry runs and a first try)."""


def _users(values: tuple[str, ...]) -> dict[str, str]:
    users: dict[str, str] = {}
    for value in values:
        name, sep, password = value.partition(":")
        if not sep or not name:
            raise UsageError(f"--user expects NAME:PASSWORD, got {name or '(empty)'}")
        users[name] = password
    return users or {"admin": "admin"}


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="HTTP port (0 picks a free one).")
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="NAME:PASSWORD",
    help="A user who may log in (repeatable; default admin:admin).",
)
@click.option(
    "--admin",
    "admins",
    multiple=True,
    metavar="NAME",
    help="Make only these users administrators (default: every --user is one).",
)
@click.option("--project", "projects", multiple=True, metavar="ID", help="Create this project at start-up.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep state and files here between runs (default: in memory).",
)
@click.option("--dicom-port", type=int, help="Run the DICOM C-STORE receiver (AE title XNAT) on this port.")
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Delay added to every request.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of requests that fail, in equal parts of each --fault-kind.",
)
@click.option(
    "--fault-kind",
    "fault_kinds",
    multiple=True,
    type=click.Choice(FAULT_KINDS),
    help="A kind of fault --fault-rate mixes (repeatable; default: 503 and drop). drop_after handles "
    "the request, then drops the connection without an answer.",
)
@click.option("--seed", type=int, help="Seed for the fault dice (the same seed replays the same faults).")
@click.option(
    "--quiet-seconds",
    type=float,
    default=300.0,
    show_default=True,
    help="Prearchive sessions turn READY after this long without new files.",
)
@click.option("--context-path", default="", metavar="PATH", help="Serve under a context path, e.g. /xnat.")
@click.option("--strict", is_flag=True, help="Refuse what XNAT 1.8 refuses where the emulator is otherwise lenient.")
@click.option(
    "--quirk",
    "quirks",
    multiple=True,
    type=click.Choice(QUIRKS),
    help="Play another server's reported behaviour (repeatable): put-by-id-ignored is XNAT 1.9's, a "
    "PUT to /data/experiments/ID saves no fields.",
)
def serve(
    host: str,
    port: int,
    users: tuple[str, ...],
    admins: tuple[str, ...],
    projects: tuple[str, ...],
    data_dir: Path | None,
    dicom_port: int | None,
    latency_ms: float,
    fault_rate: float,
    fault_kinds: tuple[str, ...],
    seed: int | None,
    quiet_seconds: float,
    context_path: str,
    strict: bool,
    quirks: tuple[str, ...],
) -> int:
    """Serve an XNAT 1.8 emulator until SIGTERM or Ctrl-C.

    The URLs it listens on are printed to stderr. Point xsync (or curl) at the HTTP one, e.g.
    `curl -u admin:admin http://127.0.0.1:8080/data/projects`.
    """
    from xsync.emulator import Emulator, EmulatorConfig
    from xsync.emulator.server import ListenError

    user_map = _users(users)
    unknown = [a for a in admins if a not in user_map]
    if unknown:
        raise UsageError(f"--admin names users that were not given with --user: {', '.join(unknown)}")
    if context_path and not context_path.startswith("/"):
        context_path = "/" + context_path
    config = EmulatorConfig(
        host=host,
        port=port,
        users=user_map,
        admins=frozenset(admins or user_map),
        projects=tuple(projects),
        data_dir=data_dir,
        dicom_port=dicom_port,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_kinds=fault_kinds or DEFAULT_FAULT_KINDS,
        seed=seed,
        quiet_seconds=quiet_seconds,
        context_path=context_path.rstrip("/"),
        strict=strict,
        quirks=quirks,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            emu = Emulator(config)
        except ValueError as e:  # an unreadable --data-dir state
            raise XsyncError(str(e)) from e
        try:
            emu.start()
        except ListenError as e:
            emu.stop()
            hint = " (another program uses it: stop it, or give another port; 0 picks a free one)"
            raise XsyncError(e.message + (hint if e.errno == errno.EADDRINUSE else "")) from None
        try:
            click.echo(f"XNAT emulator: {emu.url} (REST under /data and /REST)", err=True)
            if emu.dicom_port is not None:
                click.echo(f"DICOM C-STORE: {config.dicom_ae_title}@{host}:{emu.dicom_port}", err=True)
            if data_dir is not None:
                click.echo(f"State kept in {data_dir}", err=True)
            click.echo("Stop with Ctrl-C or SIGTERM.", err=True)
            while not stop.wait(0.5):
                pass
        finally:
            emu.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    click.echo("XNAT emulator stopped.", err=True)
    return 0
