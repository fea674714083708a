"""`xsync` command group and the single error handler that maps outcomes to exit codes."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from xsync import __version__
from xsync.cli.startup import skip_plugin_lookup
from xsync.errors import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    XsyncError,
)

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (plan --detailed-exitcode: no changes)
  1  error
  2  changes present (plan --detailed-exitcode)
  3  internal error (a bug; the traceback is written to a log file)
  4  invalid spec or usage
  5  stale saved plan
  130 interrupted
"""


# Every command, loaded when it is named: `xsync --version` and `xsync validate` import neither
# requests nor the emulator. The order is the order `--help` lists them in.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("xsync.cli.validate", "validate"),
    "inventory": ("xsync.cli.inventory", "inventory"),
    "state": ("xsync.cli.state", "state"),
    "plan": ("xsync.cli.plan", "plan"),
    "show": ("xsync.cli.plan", "show"),
    "apply": ("xsync.cli.apply", "apply"),
    "export": ("xsync.cli.export", "export"),
    "force-unlock": ("xsync.cli.lock", "force_unlock_command"),
    "demo": ("xsync.cli.demo", "demo"),
    "emulator": ("xsync.cli.emulator", "emulator"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)  # one added with add_command
        command = getattr(importlib.import_module(target[0]), target[1])
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, with a "did you mean" for a misspelt command, as click gives for options."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, "--version", prog_name="xsync", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Print tracebacks of internal errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Keep an XNAT project in the state declared in a YAML spec kept in git.

    (Not XNAT's server-side XSync plugin.)
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _write_crash_log(exc: BaseException) -> Path:
    import tempfile
    import traceback

    fd, name = tempfile.mkstemp(prefix="xsync-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"xsync {__version__} on Python {sys.version.split()[0]} ({sys.platform})\n")
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never raises, never calls sys.exit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # xsync uses no pydantic plugins; looking them up scans every installed distribution's entry
    # points, a fifth of `xsync validate`'s start-up (startup.py).
    skip_plugin_lookup()
    try:
        rv = cli.main(args=args, prog_name="xsync", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as e:
        # click uses 2 for usage errors; 2 is reserved for "changes present".
        e.show()
        return EXIT_INVALID
    except click.ClickException as e:
        e.show()
        return EXIT_ERROR
    except XsyncError as e:
        from xsync.render.safe import shown, shown_lines

        # Messages quote labels, file names and XNAT's own words: one line each, nothing that
        # drives the terminal.
        click.echo(f"error: {shown(e.summary)}", err=True)
        if e.detail:
            click.echo(shown_lines(e.detail), err=True)
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: keep the terminal clean, keep the evidence in a file
        log = _write_crash_log(e)
        click.echo(f"internal error: {type(e).__name__}; details in {log}", err=True)
        if debug:
            import traceback

            traceback.print_exception(e, file=sys.stderr)
        return EXIT_INTERNAL
    return rv if isinstance(rv, int) else EXIT_OK
