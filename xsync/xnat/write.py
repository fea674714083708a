"""Writes to XNAT, beside the bulk read: field PUTs (with the URL forms XNAT offers for each
object), creating subjects, deleting, the import service, the archive service, and the reads that
verify them. Which parameter sets which field is the field catalog's knowledge; this module only
sends what it is given and says what the server answered.

PUTs are idempotent and retried by the transport; POSTs (imports, archiving) never are: the
caller reads the server again and decides what is still missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from xsync.model.fields import FIELDS, Level, custom_parameter
from xsync.xnat.client import XnatClient

_SCAN_IN_URI = re.compile(r"/scans/([^/]+)/resources/[^/]+/files/(.+)$")


@dataclass(frozen=True)
class UrlForm:
    """One URL XNAT serves an object under; `name` is how errors refer to it."""

    name: str
    path: str


def _q(segment: str) -> str:
    return quote(segment, safe="")


def subject_urls(project: str, label: str, subject_id: str = "") -> list[UrlForm]:
    forms = [UrlForm("project-scoped", f"/data/projects/{_q(project)}/subjects/{_q(label)}")]
    if subject_id:
        forms.append(UrlForm("by accession ID", f"/data/subjects/{_q(subject_id)}"))
    return forms


def session_urls(project: str, subject: str, label: str, session_id: str = "") -> list[UrlForm]:
    """The project-scoped form first: on XNAT 1.9 a PUT to /data/experiments/{id} is reported to
    answer 200 and save nothing, and session custom variables to stick only this way."""
    forms = [UrlForm("project-scoped", f"/data/projects/{_q(project)}/subjects/{_q(subject)}/experiments/{_q(label)}")]
    if session_id:
        forms.append(UrlForm("by accession ID", f"/data/experiments/{_q(session_id)}"))
    return forms


def scan_urls(project: str, subject: str, session: str, scan_id: str, session_id: str = "") -> list[UrlForm]:
    return [UrlForm(form.name, f"{form.path}/scans/{_q(scan_id)}") for form in session_urls(project, subject, session,
                                                                                           session_id)]  # fmt: skip


def field_parameters(
    level: Level, xsi_type: str, fields: Mapping[str, str], custom: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """The query parameters that set `fields` (catalog names) and `custom` variables on an item
    of `xsi_type`, the type first (XNAT parses the others with it)."""
    params = [("xsiType", xsi_type)]
    params += [(FIELDS[level][name].put_parameter(xsi_type), value) for name, value in fields.items()]
    params += [(custom_parameter(xsi_type, name), value) for name, value in (custom or {}).items()]
    return params


class XnatWriter:
    """The write half of the client: every call raises the client's typed errors."""

    def __init__(self, client: XnatClient) -> None:
        self.client = client

    def put(self, path: str, params: Sequence[tuple[str, str]]) -> str:
        """PUT an item with query parameters; the body XNAT answers (an accession ID or "")."""
        response = self.client.request("PUT", path, params=[*params, ("event_reason", "xsync apply")])
        return response.text.strip()

    def delete(self, path: str) -> None:
        self.client.request(
            "DELETE", path, params=[("removeFiles", "true"), ("event_reason", "xsync apply")], ok=(200, 204)
        )

    def import_archive(self, body: Any, params: Sequence[tuple[str, str]]) -> list[str]:
        """POST a zip to the import service; the URIs it answers (one per session touched)."""
        response = self.client.request(
            "POST",
            "/data/services/import",
            params=params,
            data=body,
            headers={"Content-Type": "application/zip"},
        )
        return _uri_list(response.text)

    def archive(self, source: str, params: Sequence[tuple[str, str]]) -> list[str]:
        """Archive a prearchive session (`/prearchive/projects/P/TS/FOLDER`)."""
        response = self.client.request(
            "POST", "/data/services/archive", params=[("src", source), *params], ok=(200, 301, 303)
        )
        location = response.headers.get("Location", "")
        return _uri_list(response.text) or ([location] if location else [])

    def session_rows(self, project: str, label: str) -> list[dict[str, str]]:
        """The project's experiment labelled `label` joined with its scans: one row per scan
        (ID, xsiType, subject label, StudyInstanceUID; scan ID and SeriesInstanceUID)."""
        rows = self.client.listing(
            f"/data/projects/{_q(project)}/experiments",
            {
                "label": label,
                "columns": "ID,label,xsiType,subject_ID,subject_label,UID,xnat:imagescandata/id,xnat:imagescandata/uid",
            },
        )
        return [r for r in rows if r.get("label") == label]

    def scan_files(self, session_id: str) -> dict[str, dict[str, list[str]]]:
        """{scan ID: {resource label: [file names]}} of a session, from its catalogs."""
        rows = self.client.listing(f"/data/experiments/{_q(session_id)}/scans/ALL/files")
        out: dict[str, dict[str, list[str]]] = {}
        for row in rows:
            m = _SCAN_IN_URI.search(row.get("URI", ""))
            if m:
                out.setdefault(m.group(1), {}).setdefault(row.get("collection", ""), []).append(m.group(2))
        return out

    def build(self, source: str) -> None:
        """Build a prearchive session now (`action=build`) rather than at XNAT's idle timer:
        for sessions received over DICOM, once every object was answered."""
        self.client.request("POST", f"/data{source}", params=[("action", "build")])

    def prearchive_rows(self, project: str) -> list[dict[str, str]]:
        return self.client.listing(f"/data/prearchive/projects/{_q(project)}")


def _uri_list(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(("/data/", "/xapi/", "/REST/"))]
