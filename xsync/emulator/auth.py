"""Who is calling: HTTP Basic (user/password, `provider/user`, or an alias token's alias/secret),
the JSESSIONID cookie, and the routes that manage them (REST-CONTRACT.md §1.2, §1.3):
`/JSESSION`, `/auth`, `/services/auth`, `/services/tokens/...`.

Sessions and alias tokens live in memory only (a restarted XNAT forgets sessions too; tokens
surviving a restart is not emulated).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from xsync.emulator.config import EmulatorConfig
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty, json_response, text, tomcat_page

SESSION_COOKIE = "JSESSIONID"
_BROWSER_AGENTS = ("MSIE", "Mozilla", "AppleWebKit", "Opera")
_DATA_PATHS = ("/data", "/REST", "/xapi", "/fs")
LOGIN_PAGE = "/app/template/Login.vm"
TOKEN_LIFETIME_MS = 48 * 3600 * 1000  # the wiki's default

routes = RouteTable()


@dataclass
class AliasToken:
    id: int
    alias: str
    secret: str
    user: str
    created_ms: int
    single_use: bool = False
    valid_ips: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "alias": self.alias,
            "secret": self.secret,
            "xdatUserId": self.user,
            "singleUse": self.single_use,
            "estimatedExpirationTime": self.created_ms + TOKEN_LIFETIME_MS,
            "validIPAddresses": self.valid_ips,
            "enabled": True,
            "created": self.created_ms,
            "timestamp": self.created_ms,
            "disabled": 0,
        }


@dataclass
class Session:
    user: str
    csrf: str


@dataclass(frozen=True)
class Login:
    """The outcome of authenticating one request."""

    user: str = ""  # "" when no credentials were sent
    session_id: str = ""  # the valid JSESSIONID the request carried, if any
    denial: Response | None = None  # the answer Spring's filters would send instead


def is_browser(request: Request) -> bool:
    agent = request.headers.get("User-Agent", "")
    return any(a in agent for a in _BROWSER_AGENTS)


def _is_data_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in _DATA_PATHS)


class Authenticator:
    """Users from the config, sessions and alias tokens. Thread-safe."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._tokens: dict[str, AliasToken] = {}
        self._token_ids = 0

    # -- credentials -----------------------------------------------------------------------
    def check_password(self, name: str, password: str) -> str | None:
        """The user a name/password pair logs in as: a configured user or an alias token."""
        if "/" in name:  # provider/username
            name = name.split("/", 1)[1]
        if name and self.config.users.get(name) == password:
            return name
        with self._lock:
            token = self._tokens.get(name)
            if token is not None and secrets.compare_digest(token.secret, password) and not self._expired(token):
                return token.user
        return None

    def authenticate(self, request: Request) -> Login:
        header = request.headers.get("Authorization", "")
        sid = request.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            session = self._sessions.get(sid)
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            name, _, password = decoded.partition(":")
            user = self.check_password(name, password)
            if user is None:
                body = tomcat_page(401, "Unauthorized", "Login attempt failed. Please try again.")
                return Login(denial=Response(body, status=401, mimetype="text/html"))
            return Login(user, sid if session is not None and session.user == user else "")
        if session is not None:
            return Login(session.user, sid)
        return Login()

    def unauthenticated(self, request: Request, path: str, session_id: str = "") -> Response:
        """Spring's entry point (XnatAuthenticationEntryPoint): on a data path (`/data`, `/REST`,
        `/xapi`, `/fs`, SiteConfigPreferences.dataPaths) a client that is not a browser gets 401
        with a challenge; anything else, `GET /` included, is LoginUrlAuthenticationEntryPoint's
        302 to the login form SecurityConfig names, `/app/template/Login.vm`, as an absolute URL
        under the context path. Spring saves the request in a new HTTP session first, so Tomcat
        adds the session to the Location (`;jsessionid=...`) and sets its cookie, unless the
        request came with a session cookie [inferred: Tomcat's default session tracking,
        which XNAT does not restrict]."""
        if _is_data_path(path) and not is_browser(request):
            r = Response(tomcat_page(401, "Unauthorized", "Unauthorized"), status=401, mimetype="text/html")
            r.headers["WWW-Authenticate"] = f'Basic realm="{self.config.site_id}"'
            return r
        location = request.host_url.rstrip("/") + self.config.context_path + LOGIN_PAGE
        r = Response("", status=302)
        if not session_id:
            session_id = self.new_session("")
            location += f";jsessionid={session_id}"
            session_cookie(r, session_id)
        r.headers["Location"] = location
        return r

    # -- sessions --------------------------------------------------------------------------
    def new_session(self, user: str) -> str:
        sid = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[sid] = Session(user, secrets.token_hex(16))
        return sid

    def expire_sessions(self) -> None:
        """Forget every HTTP session, as Tomcat does when they time out or the server restarts:
        their cookies then get the 401 of an anonymous request."""
        with self._lock:
            self._sessions.clear()

    def drop_session(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def csrf_token(self, sid: str) -> str:
        with self._lock:
            session = self._sessions.get(sid)
        return session.csrf if session else ""

    # -- alias tokens ----------------------------------------------------------------------
    def issue_token(self, user: str) -> AliasToken:
        with self._lock:
            self._token_ids += 1
            token = AliasToken(
                self._token_ids, str(uuid.uuid4()), secrets.token_urlsafe(48), user, int(time.time() * 1000)
            )
            self._tokens[token.alias] = token
            return token

    def validate_token(self, alias: str, secret: str) -> str | None:
        with self._lock:
            token = self._tokens.get(alias)
            if token is None or self._expired(token) or not secrets.compare_digest(token.secret, secret):
                return None
            return token.user

    def invalidate_token(self, alias: str, user: str, admin: bool) -> bool:
        with self._lock:
            token = self._tokens.get(alias)
            if token is None or (token.user != user and not admin):
                return False
            del self._tokens[alias]
            return True

    def tokens_of(self, user: str) -> list[AliasToken]:
        with self._lock:
            return [t for t in self._tokens.values() if t.user == user]

    @staticmethod
    def _expired(token: AliasToken) -> bool:
        return time.time() * 1000 > token.created_ms + TOKEN_LIFETIME_MS


def session_cookie(response: Response, sid: str) -> None:
    response.set_cookie(SESSION_COOKIE, sid, path="/", httponly=True)


def _auth(ctx: Ctx) -> Authenticator:
    assert isinstance(ctx.services, Authenticator)
    return ctx.services


# -- routes ----------------------------------------------------------------------------------
@routes.route(LOGIN_PAGE, ("GET",), public=True, site_root=True)
def login_page(ctx: Ctx) -> Response:
    """The page the login redirect leads to (an open URL in XNAT); only a stand-in form."""
    body = (
        "<!DOCTYPE html><html><head><title>XNAT</title></head><body>"
        '<form method="post" action="login"><input name="username"/><input name="password" type="password"/>'
        "<button>Login</button></form></body></html>"
    )
    return Response(body, mimetype="text/html")


@routes.route("/JSESSION", ("GET", "POST"))
def get_session(ctx: Ctx) -> Response:
    body = ctx.session_id
    if ctx.flag("CSRF"):
        body += f"; XNAT_CSRF={_auth(ctx).csrf_token(ctx.session_id)}"
    return text(body)


@routes.route("/JSESSION", ("DELETE",))
def delete_session(ctx: Ctx) -> Response:
    _auth(ctx).drop_session(ctx.session_id)
    r = empty()
    r.delete_cookie(SESSION_COOKIE, path="/")
    return r


@routes.route("/auth", ("GET",))
def who_am_i(ctx: Ctx) -> Response:
    body = f"User '{ctx.user}' is logged in"
    if ctx.flag("CSRF"):
        body += f"; XNAT_CSRF={_auth(ctx).csrf_token(ctx.session_id)}"
    return text(body)


@routes.route("/services/auth", ("PUT", "POST"), public=True)
def form_login(ctx: Ctx) -> Response:
    """xnatpy's login: a form body `username=...&password=...`; answers the new session id."""
    user = _auth(ctx).check_password(ctx.param("username") or "", ctx.param("password") or "")
    if user is None:
        raise XnatHTTPError(401, "Authentication failed.")
    sid = _auth(ctx).new_session(user)
    r = text(sid)
    session_cookie(r, sid)
    return r


def _require_login(ctx: Ctx) -> None:
    if not ctx.user:
        raise XnatHTTPError(403, "Guest users cannot request alias tokens.")


@routes.route("/services/tokens/issue", ("GET",))
def issue_token(ctx: Ctx) -> Response:
    _require_login(ctx)
    return json_response(_auth(ctx).issue_token(ctx.user).as_json())


@routes.route("/services/tokens/issue/user/<username>", ("GET",))
def issue_token_for(ctx: Ctx, username: str) -> Response:
    if not ctx.is_admin:
        raise XnatHTTPError(403, "Only administrators can issue tokens for other users.")
    if username not in ctx.config.users:
        raise XnatHTTPError(404, f"Unable to find user {username}.")
    return json_response(_auth(ctx).issue_token(username).as_json())


@routes.route("/services/tokens/validate/<alias>/<secret>", ("GET",))
def validate_token(ctx: Ctx, alias: str, secret: str) -> Response:
    user = _auth(ctx).validate_token(alias, secret)
    # An invalid token gives an object without `valid` (XNAT's UI tests exactly that).
    return json_response({"valid": user} if user else {})


@routes.route("/services/tokens/invalidate/<alias>", ("GET",))
def invalidate_token(ctx: Ctx, alias: str) -> Response:
    if not _auth(ctx).invalidate_token(alias, ctx.user, ctx.is_admin):
        raise XnatHTTPError(404, f"No alias token {alias} for this user.")
    return json_response({"result": "OK"})


@routes.route("/services/tokens/show", ("GET",))
def show_tokens(ctx: Ctx) -> Response:
    return json_response([t.as_json() for t in _auth(ctx).tokens_of(ctx.user)])
