"""The few XAPI calls (Spring MVC, under `/xapi`, not `/data`) clients make before anything else
(REST-CONTRACT.md §8.5): xnatpy reads the server version from the build information. XNAT 1.8
has no `/data/version` any more; the router's 404 answers it, which is what xnatpy expects.

The emulator says it is XNAT 1.8.10, the version whose import behaviour it follows
(DICOM-IMPORT.md: DICOM-zip as the default importer, its `dest` handling).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from xsync.emulator.http import Ctx, RouteTable, json_response

routes = RouteTable()

XNAT_VERSION = "1.8.10"


@routes.route("/xapi/siteConfig/buildInfo", site_root=True)
def build_info(ctx: Ctx) -> Response:
    """XNAT's build properties; `version` is the field clients read, the others say what this is."""
    return json_response({"version": XNAT_VERSION, "buildNumber": "xsync-emulator", "commit": "", "sha": ""})
