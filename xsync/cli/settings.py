"""Where the server and credentials come from — the only reader of the environment and
~/.netrc — and the client every command builds from them. Precedence, highest first:

  server:       --server, XNAT_HOST, `server:` in the spec
  credentials:  --user/--password, XNAT_USER/XNAT_PASS, the netrc entry for the server's host
                (NETRC or ~/.netrc); an alias token is used the same way (alias as user,
                token secret as password)
  TLS:          verification on; --ca-bundle PATH for a private CA; --insecure to skip
"""

from __future__ import annotations

import math
import netrc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xsync.errors import UsageError
from xsync.xnat.settings import ConnectionSettings, Credentials, normalize_server_url, retry_for_timeout

if TYPE_CHECKING:
    from xsync.xnat.client import XnatClient


@dataclass(frozen=True)
class ConnectionOptions:
    server: str | None
    user: str | None
    password: str | None
    ca_bundle: str | None
    insecure: bool
    timeout: float | None


def connection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --server, --user, --password, --ca-bundle, --insecure, --timeout and passes them as
    one `connection: ConnectionOptions` argument."""

    @click.option("--server", metavar="URL", help="XNAT base URL, e.g. https://xnat.example.org[/xnat].")
    @click.option("--user", metavar="NAME", help="XNAT user (or alias token).")
    @click.option("--password", metavar="SECRET", help="Password or token secret (prefer XNAT_PASS or ~/.netrc).")
    @click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA bundle to verify TLS with.")
    @click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
    @click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=86400), metavar="SECONDS",
                  callback=_finite, help="Seconds to wait to connect, for each answer and for its whole "
                  "body (default 10 to connect, 300 for an answer); retrying stops after 3 times this.")  # fmt: skip
    @wraps(fn)
    def wrapper(*args: Any, server: str | None, user: str | None, password: str | None,
                ca_bundle: str | None, insecure: bool, timeout: float | None, **kwargs: Any) -> Any:  # fmt: skip
        kwargs["connection"] = ConnectionOptions(server, user, password, ca_bundle, insecure, timeout)
        return fn(*args, **kwargs)

    return wrapper


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds", ctx=ctx, param=param)
    return value


def warn_if_insecure(settings: ConnectionSettings) -> None:
    if settings.verify is False:
        click.echo(f"warning: TLS certificates of {settings.host} are not verified (--insecure)", err=True)


def announce_retry(number: int, allowed: int, why: str, wait: float) -> None:
    """Every retry is said before its wait, so nothing waits in silence."""
    click.echo(f"retrying ({number}/{allowed}) after {why}, in {wait:.1f} s", err=True)


def client_for(settings: ConnectionSettings) -> XnatClient:
    """The client every command uses (log in with `with`): --insecure warned about once,
    every retry announced on stderr."""
    from xsync.xnat.client import XnatClient

    warn_if_insecure(settings)
    return XnatClient(settings, on_retry=announce_retry)


def resolve_connection(
    options: ConnectionOptions,
    *,
    spec_server: str | None,
    environ: Mapping[str, str],
    home: Path | None = None,
) -> ConnectionSettings:
    server = options.server or environ.get("XNAT_HOST") or spec_server
    if not server:
        raise UsageError("no XNAT server given: use --server, XNAT_HOST or `server:` in the spec")
    source = "--server" if options.server else "XNAT_HOST" if environ.get("XNAT_HOST") else "`server:` in the spec"
    try:
        base_url = normalize_server_url(server)
    except UsageError as e:
        raise UsageError(f"{e.summary} (from {source})") from None
    if options.insecure and options.ca_bundle:
        raise UsageError("--insecure and --ca-bundle contradict each other")
    verify: bool | str = False if options.insecure else (options.ca_bundle or True)
    credentials = _credentials(options, base_url, environ, home)
    extra: dict[str, Any] = {}
    if options.timeout is not None:  # connecting, each wait for bytes, a whole body, and the retries
        extra["connect_timeout"] = extra["read_timeout"] = options.timeout
        extra["retry"] = retry_for_timeout(options.timeout)
    return ConnectionSettings(server=base_url, credentials=credentials, verify=verify, **extra)


def _credentials(
    options: ConnectionOptions, base_url: str, environ: Mapping[str, str], home: Path | None
) -> Credentials | None:
    if options.user:
        if options.password is None:
            raise UsageError("--user needs --password (or use XNAT_USER/XNAT_PASS or ~/.netrc)")
        return Credentials(options.user, options.password, "option")
    if options.password is not None:
        # A password given on the command line is never dropped in favour of another: it goes
        # with XNAT_USER, or it needs --user.
        if not environ.get("XNAT_USER"):
            raise UsageError("--password needs --user (or XNAT_USER)")
        return Credentials(environ["XNAT_USER"], options.password, "option")
    if environ.get("XNAT_USER"):
        if "XNAT_PASS" not in environ:
            raise UsageError("XNAT_USER is set but XNAT_PASS is not")
        return Credentials(environ["XNAT_USER"], environ["XNAT_PASS"], "environment")
    return _from_netrc(base_url, environ, home)


def _from_netrc(base_url: str, environ: Mapping[str, str], home: Path | None) -> Credentials | None:
    from urllib.parse import urlsplit

    if environ.get("NETRC"):
        path = Path(environ["NETRC"])
    else:
        home = home or Path(environ.get("HOME") or Path.home())
        path = home / ".netrc"
    if not path.is_file():
        return None
    try:
        entries = netrc.netrc(str(path))
    except (netrc.NetrcParseError, OSError) as e:
        # The parse error may quote the offending line (a password): name the file only.
        raise UsageError(f"cannot read {path}: {type(e).__name__} at line {getattr(e, 'lineno', '?')}") from None
    parts = urlsplit(base_url)
    for machine in (f"{parts.hostname}:{parts.port}" if parts.port else None, parts.hostname):
        if machine:
            found = entries.authenticators(machine)
            if found and found[0]:
                return Credentials(found[0], found[2] or "", "netrc")
    return None
