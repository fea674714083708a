"""The XAPI calls (Spring MVC, under `/xapi`, not `/data`) clients make before anything else
(REST-CONTRACT.md §8.5): the build information (xnatpy reads the version from it, pyxnat after
`/data/version`, which XNAT 1.8 no longer has: the router's 404 answers it) and the user calls
(`/xapi/users`, `/profiles`, `/current`, `/username`, `/{name}`).

XAPI errors are not Restlet's status pages: XapiRestControllerAdvice answers `text/plain` with
`<what failed>: <the exception's message>`, or an empty body for a 403 (`XapiError`).

The emulator says it is XNAT 1.8.10, the version whose import behaviour it follows
(DICOM-IMPORT.md: DICOM-zip as the default importer, its `dest` handling).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, json_response

routes = RouteTable()

XNAT_VERSION = "1.8.10"
NOT_FOUND = "Unable to find requested file or resource"
REQUEST_ERROR = "There was an error in the request "

# XnatAppInfo's primary properties, as `buildInfo` lists them.
BUILD_INFO = {
    "version": XNAT_VERSION,
    "buildNumber": "xsync-emulator",
    "buildDate": "",
    "commit": "",
    "sha": "",
    "shaFull": "",
    "isDirty": "false",
}


class XapiError(XnatHTTPError):
    """An XAPI error: the message as plain text (none: an empty body)."""

    def response(self) -> Response:
        r = Response(self.message, status=self.status, mimetype="text/plain")
        for k, v in self.headers.items():
            r.headers[k] = v
        return r


@routes.route("/xapi/siteConfig/buildInfo", site_root=True)
def build_info(ctx: Ctx) -> Response:
    """XNAT's build properties; `version` is the field clients read."""
    return json_response(BUILD_INFO)


@routes.route("/xapi/siteConfig/buildInfo/<prop>", site_root=True)
def build_property(ctx: Ctx, prop: str) -> Response:
    """One property as bare text (Spring writes a returned String as it is, though the mapping
    produces JSON); an unknown one is an empty 200."""
    return Response(BUILD_INFO.get(prop, ""), mimetype="application/json")


@routes.route("/xapi/users", site_root=True)
def list_users(ctx: Ctx) -> Response:
    """Every login. UserResourceXapiAuthorization lets any user list them unless the site
    restricts user lists to administrators (`restrictUserListAccessToAdmins`, false by default)."""
    return json_response(sorted(ctx.config.users))


@routes.route("/xapi/users/profiles", site_root=True)
@routes.route("/xapi/users/current", site_root=True)
def list_profiles(ctx: Ctx) -> Response:
    """Every user's profile (`current`: the enabled or recently active ones, here every user)."""
    return json_response([user_profile(ctx, name) for name in sorted(ctx.config.users)])


@routes.route("/xapi/users/username", site_root=True)
def current_username(ctx: Ctx) -> Response:
    return Response(ctx.user, mimetype="text/plain")


@routes.route("/xapi/users/<name>", site_root=True)
def get_user(ctx: Ctx, name: str) -> Response:
    """UsersApi.getUser, restricted to the user themself and administrators (403, empty body,
    for anyone else). The emulator knows users by name only: the profile's names and email are
    empty. An unknown user fails to initialise: 500."""
    if name != ctx.user and not ctx.is_admin:
        raise XapiError(403, "")
    if name not in ctx.config.users:
        raise XapiError(500, f"{REQUEST_ERROR}: An error occurred initializing the user {name}")
    return json_response(user_profile(ctx, name))


def user_profile(ctx: Ctx, name: str) -> dict[str, object]:
    """The User model as Jackson writes it for an existing account (`secured`: no password)."""
    return {
        "id": sorted(ctx.config.users).index(name) + 1,
        "username": name,
        "firstName": "",
        "lastName": "",
        "email": "",
        "secured": True,
        "enabled": True,
        "verified": True,
    }
