"""Read a whole project in a fixed number of listing requests, plus one per session whose file
counts are needed (never one per scan or per object).

Requests (T = each image-session type present, usually one):
  1. subjects with their fields, joined with their custom variables
  2. every experiment of the project: ID, label, xsiType, subject
  3. per T: sessions with their fields, joined with their custom variables
  4. per T: every scan of those sessions with the fields all image scans have
  5. per T and per probed scan type S: which scans are of type S, with S's own fields (an MR
     scan's coil, fieldStrength...) — only for the types asked for
  6. the project's prearchive rows
  7. per session in `count_sessions`: its scans' resources with their file counts
     (`/data/experiments/{id}/scans/ALL/resources`, XNAT's CatalogResourceList for all scans)
So a project of 1 subject and one of 1,000 subjects cost the same number of listing requests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Literal

from xsync.errors import NotFoundError, RemoteError, RemoteValidationError, ServerError
from xsync.model.remote import RemoteState
from xsync.xnat.client import XnatClient
from xsync.xnat.wire import (
    Row,
    parse_state,
    scan_columns,
    session_columns,
    subject_columns,
    typed_scan_columns,
)

# The scan types a probe can establish (one listing per session type each): MR, and the kinds
# that share MR sessions or stand beside them.
SCAN_TYPE_PROBES = (
    "xnat:mrScanData", "xnat:scScanData", "xnat:srScanData", "xnat:otherDicomScanData", "xnat:ctScanData",
    "xnat:petScanData",
)  # fmt: skip


def read_project(
    client: XnatClient,
    project: str,
    *,
    probe_scan_types: Iterable[str] = (),
    phi: bool = False,
    count_sessions: Collection[str] | Literal["all"] = (),
) -> RemoteState:
    """Everything xsync compares against, for one project. Raises on any failed listing:
    absence is only ever concluded from a successful one. Patient identifiers among the subject
    fields (`dob`) are read only with `phi` (the spec manages them). File counts are read for
    the sessions labelled in `count_sessions`; a server that cannot list them leaves those
    sessions without counts and says so in the state's notes."""
    base = f"/data/projects/{project}"
    subjects = client.listing(f"{base}/subjects", {"columns": ",".join(subject_columns(phi))})
    experiments = client.listing(f"{base}/experiments", {"columns": "ID,label,xsiType,subject_ID,subject_label"})
    session_types = sorted({row.get("xsiType", "") for row in experiments if _is_image_session(row.get("xsiType", ""))})
    session_rows: dict[str, list[dict[str, str]]] = {}
    scan_rows: dict[str, list[dict[str, str]]] = {}
    typed_scans: dict[str, dict[str, list[dict[str, str]]]] = {}
    for t in session_types:
        session_rows[t] = client.listing(f"{base}/experiments", {"xsiType": t, "columns": ",".join(session_columns(t))})
        scan_rows[t] = client.listing(f"{base}/experiments", {"xsiType": t, "columns": ",".join(scan_columns())})
        for scan_type in probe_scan_types:
            typed_scans.setdefault(t, {})[scan_type] = client.listing(
                f"{base}/experiments", {"xsiType": t, "columns": ",".join(typed_scan_columns(scan_type))}
            )
    prearchive = client.listing(f"/data/prearchive/projects/{project}")
    resources, notes = read_resources(
        client,
        [
            row["ID"]
            for row in experiments
            if row.get("ID") and (count_sessions == "all" or row.get("label") in count_sessions)
        ],
        labels={row.get("ID", ""): row.get("label", "") for row in experiments},
    )
    return parse_state(
        server=client.base_url,
        project=project,
        subject_rows=subjects,
        experiment_rows=experiments,
        session_rows=session_rows,
        scan_rows=scan_rows,
        typed_scan_rows=typed_scans,
        prearchive_rows=prearchive,
        resource_rows=resources,
        phi=phi,
        notes=notes,
    )


def read_resources(
    client: XnatClient, session_ids: Iterable[str], *, labels: dict[str, str] | None = None
) -> tuple[dict[str, Sequence[Row]], list[str]]:
    """Each session's scan resources (label, file_count, file_size per scan), one request per
    session. A server that refuses the listing (an answer, not a lost connection) leaves the
    session out and adds a note naming it."""
    rows: dict[str, Sequence[Row]] = {}
    notes: list[str] = []
    for session_id in session_ids:
        try:
            rows[session_id] = client.listing(f"/data/experiments/{session_id}/scans/ALL/resources")
        except (NotFoundError, RemoteValidationError, ServerError) as e:
            name = (labels or {}).get(session_id) or session_id
            notes.append(f"file counts of session {name} could not be read ({_short(e)}): missing files not checked")
    return rows, notes


def _short(error: RemoteError) -> str:
    return f"HTTP {error.status}" if error.status else type(error).__name__


def _is_image_session(xsi_type: str) -> bool:
    return xsi_type.startswith("xnat:") and xsi_type.endswith("SessionData")
