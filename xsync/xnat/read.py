"""Read a whole project in a fixed number of listing requests, never one per object.

Requests (T = each image-session type present, usually one):
  1. subjects with their demographics, joined with their custom variables
  2. every experiment of the project: ID, label, xsiType, subject
  3. per T: sessions with their fields, joined with their custom variables
  4. per T: every scan of those sessions, joined with each scan's resources (file counts)
  5. per T and per probed scan type S: which scans are of type S, with S's own fields (an MR
     scan's coil, fieldStrength...) — only for the types asked for
  6. the project's prearchive rows
So a project of 1 subject and one of 1,000 subjects cost the same number of requests.
"""

from __future__ import annotations

from collections.abc import Iterable

from xsync.model.fields import FIELDS, Level, has_field
from xsync.model.remote import RemoteState
from xsync.xnat.client import XnatClient
from xsync.xnat.wire import (
    SCAN_COLUMNS,
    custom_columns,
    parse_state,
    session_column,
    typed_scan_columns,
)

# The scan types a probe can establish (one listing per session type each): MR, and the kinds
# that share MR sessions or stand beside them.
SCAN_TYPE_PROBES = (
    "xnat:mrScanData", "xnat:scScanData", "xnat:srScanData", "xnat:otherDicomScanData", "xnat:ctScanData",
    "xnat:petScanData",
)  # fmt: skip

# Read everything xsync can manage except patient identifiers (dob is PHI).
SUBJECT_READ_FIELDS = tuple(f.name for f in FIELDS[Level.SUBJECT].values() if not f.phi)


def session_columns(xsi_type: str) -> list[str]:
    fields = [f for f in FIELDS[Level.SESSION].values() if not f.phi and has_field(xsi_type, f)]
    return ["ID", "label", "subject_ID", *(session_column(f) for f in fields), *custom_columns(xsi_type)]


def read_project(
    client: XnatClient, project: str, *, probe_scan_types: Iterable[str] = (), phi_fields: Iterable[str] = ()
) -> RemoteState:
    """Everything xsync compares against, for one project. Raises on any failed listing:
    absence is only ever concluded from a successful one. Patient identifiers among the subject
    fields (`dob`) are read only when named in `phi_fields` (the spec manages them)."""
    base = f"/data/projects/{project}"
    phi = tuple(f for f in phi_fields if f in FIELDS[Level.SUBJECT] and FIELDS[Level.SUBJECT][f].phi)
    subjects = client.listing(
        f"{base}/subjects",
        {"columns": ",".join(["ID", "label", *SUBJECT_READ_FIELDS, *phi, *custom_columns("xnat:subjectData")])},
    )
    experiments = client.listing(f"{base}/experiments", {"columns": "ID,label,xsiType,subject_ID,subject_label"})
    session_types = sorted({row.get("xsiType", "") for row in experiments if _is_image_session(row.get("xsiType", ""))})
    session_rows: dict[str, list[dict[str, str]]] = {}
    scan_rows: dict[str, list[dict[str, str]]] = {}
    typed_scans: dict[str, dict[str, list[dict[str, str]]]] = {}
    for t in session_types:
        session_rows[t] = client.listing(f"{base}/experiments", {"xsiType": t, "columns": ",".join(session_columns(t))})
        scan_rows[t] = client.listing(
            f"{base}/experiments", {"xsiType": t, "columns": ",".join(["ID", "label", *SCAN_COLUMNS])}
        )
        for scan_type in probe_scan_types:
            typed_scans.setdefault(t, {})[scan_type] = client.listing(
                f"{base}/experiments", {"xsiType": t, "columns": ",".join(["ID", *typed_scan_columns(scan_type)])}
            )
    prearchive = client.listing(f"/data/prearchive/projects/{project}")
    return parse_state(
        server=client.base_url,
        project=project,
        subject_rows=subjects,
        experiment_rows=experiments,
        session_rows=session_rows,
        scan_rows=scan_rows,
        typed_scan_rows=typed_scans,
        prearchive_rows=prearchive,
        phi_fields=phi,
    )


def _is_image_session(xsi_type: str) -> bool:
    return xsi_type.startswith("xnat:") and xsi_type.endswith("SessionData")
