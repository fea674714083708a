"""`xsync emulator ...`: the built-in XNAT emulator."""

from __future__ import annotations

import click


@click.group()
def emulator() -> None:
    """Run the built-in XNAT 1.8 emulator (for tests, CI dry runs and a first try)."""
