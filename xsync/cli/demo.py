"""`xsync demo [DIR]`: the whole cycle on this machine, with nothing to install or reach.

Starts the built-in XNAT emulator in-process on a free port (state kept in DIR/.xnat), writes a
small site into DIR (two subjects, three sessions of generated MR, PET and CT DICOM, scan rules),
then runs `xsync plan`, `xsync apply --auto-approve` and `xsync plan` again — which finds nothing
left to do — and prints the commands to try next against the same state.
"""

from __future__ import annotations

from pathlib import Path

import click

from xsync.errors import EXIT_ERROR, EXIT_OK, UsageError

PROJECT = "DEMO"
PORT = 8080  # what the printed commands use once `xsync emulator serve` runs on its own


@click.command()
@click.argument("directory", required=False, default="xsync-demo", type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path) -> int:
    """Try xsync on this machine: an emulated XNAT, a small site, plan, apply, plan."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} exists and is not empty: give another folder (xsync demo DIR)")
    from xsync.cli.main import main
    from xsync.emulator import Emulator, EmulatorConfig
    from xsync.testing.sites import SiteShape, write_site

    spec = write_site(directory, PROJECT, SiteShape(subjects=2, sessions_per_subject=(2, 1)),
                      server=f"http://127.0.0.1:{PORT}")  # fmt: skip
    click.echo(f"wrote a small site to {directory}: {spec.name}, and its DICOM under dicom/", err=True)
    config = EmulatorConfig(projects=(PROJECT,), data_dir=directory / ".xnat", users={"admin": "admin"})
    with Emulator(config) as emu:
        click.echo(f"started an XNAT emulator at {emu.url} (user admin, password admin)\n", err=True)
        common = ["--spec", str(spec), "--server", emu.url, "--user", "admin", "--password", "admin"]
        steps = [
            ("1. what would change", ["plan", *common]),
            ("2. make it so", ["apply", *common, "--auto-approve"]),
            ("3. plan again: nothing left to do", ["plan", *common, "--detailed-exitcode"]),
        ]
        for title, args in steps:
            click.secho(f"== {title}: xsync {' '.join(_shown(args, emu.url))}", bold=True, err=True)
            code = main(args)
            if code != EXIT_OK:
                click.echo(f"error: that step exited with {code}", err=True)
                return EXIT_ERROR
            click.echo("", err=True)
    click.echo(_next_steps(directory), err=True)
    return EXIT_OK


def _shown(args: list[str], url: str) -> list[str]:
    """The command as a user would type it: credentials from the environment, not the line."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--user", "--password", "--server"):
            skip = True
            continue
        out.append(a)
    return out


def _next_steps(directory: Path) -> str:
    return f"""Done: the emulated XNAT now holds the site, and its state is kept in {directory}/.xnat.
Try next, in another terminal:

  cd {directory}
  xsync emulator serve --data-dir .xnat --project {PROJECT} --port {PORT}   # the same server again

and in this one:

  cd {directory}
  export XNAT_USER=admin XNAT_PASS=admin     # the spec names the server
  xsync state --files                         # what XNAT holds
  xsync plan                                  # no changes
  # edit xsync.yaml (a field, a scan rule), then:
  xsync plan -o plan.json && xsync apply plan.json
"""
