"""The plan pipeline's I/O steps, shared by `plan` and (later) `apply`: scan the spec's DICOM
roots, read the project from XNAT, and hand both to the pure core."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from xsync.inventory.scan import ScanProgress, scan
from xsync.model.fields import FIELDS, Level, phi_names
from xsync.model.inventory import Inventory
from xsync.model.remote import RemoteState
from xsync.plan.build import build_plan
from xsync.plan.plan import Plan
from xsync.plan.resolve import resolve
from xsync.spec.model import Spec, field_values
from xsync.xnat.client import XnatClient
from xsync.xnat.read import SCAN_TYPE_PROBES, read_project

EMPTY_INVENTORY_DIGEST = "sha256:none"


def scan_spec_dicom(
    spec: Spec,
    *,
    use_cache: bool = True,
    progress: ScanProgress | None = None,
    notify: Callable[[str], None] | None = None,
) -> Inventory | None:
    """The inventory of `dicom.roots`, or None when the spec names no roots."""
    if not spec.dicom.roots:
        return None
    cache = spec.dicom.cache if use_cache else None  # the cache makes its folder (and its .gitignore)
    return scan(spec.dicom.roots, cache_path=cache, progress=progress, notify=notify)


def scan_types_to_probe(spec: Spec) -> tuple[str, ...]:
    """Type-specific scan fields (an MR scan's coil) are read from their type's own listing, and
    the other scans' types are established too: probe only when the spec manages one of them (in
    a scan, a rule or the scan defaults)."""
    managed: set[str] = set(field_values(spec.defaults.scan))
    managed.update(name for rule in spec.rules.scans for name in field_values(rule.set))
    managed.update(
        name
        for subject in spec.subjects.values()
        for session in subject.sessions.values()
        for scan in session.scans.values()
        for name in field_values(scan)
    )
    # A type-specific field PUT on a scan of another type (coil on a secondary capture) is
    # silently ignored by XNAT (XNAT-7176) and would never converge, so when such fields are
    # managed every scan's type must be known.
    scan_fields = FIELDS[Level.SCAN]
    return SCAN_TYPE_PROBES if any(n in scan_fields and not scan_fields[n].generic for n in managed) else ()


def manages_phi(spec: Spec) -> bool:
    """Patient identifiers among subject fields (`dob`) are read only when the spec manages them."""
    names = phi_names(Level.SUBJECT)
    return any(name in names for subject in spec.subjects.values() for name in field_values(subject))


def sessions_to_count(spec: Spec) -> frozenset[str]:
    """The sessions whose file counts the plan needs: those bound to local DICOM (missing files
    are sent again) and those with scans to delete (the plan says how many files go). A session
    declared moved is counted under its old label too, which the server may still hold."""
    counted = frozenset(
        label
        for subject in spec.subjects.values()
        if not subject.absent
        for label, session in subject.sessions.items()
        if not session.absent and (session.dicom is not None or any(s.absent for s in session.scans.values()))
    )
    return counted | {move.source for move in spec.moved if move.subject and move.target in counted}


def read_remote(client: XnatClient, spec: Spec) -> RemoteState:
    return read_project(
        client,
        spec.project,
        probe_scan_types=scan_types_to_probe(spec),
        phi=manages_phi(spec),
        count_sessions=sessions_to_count(spec),
    )


def read_remote_fields(client: XnatClient, spec: Spec) -> RemoteState:
    """The project as `read_remote` reads it, without file counts: what apply verifies its field
    writes and deletions against."""
    return read_project(client, spec.project, probe_scan_types=scan_types_to_probe(spec), phi=manages_phi(spec))


def compute_plan(
    spec: Spec,
    inventory: Inventory | None,
    remote: RemoteState,
    *,
    show_unmanaged: bool = False,
) -> Plan:
    bindings = [
        se.dicom.path
        for subject in spec.subjects.values()
        for se in subject.sessions.values()
        if se.dicom is not None and se.dicom.path is not None
    ]
    real_paths = {p: Path(os.path.realpath(p)) for p in bindings}
    desired = resolve(spec, inventory, real_paths=real_paths, shown_from=Path.cwd())
    return build_plan(
        desired,
        remote,
        spec_digest="sha256:" + spec.digest,
        inventory_digest=("sha256:" + inventory.digest) if inventory is not None else EMPTY_INVENTORY_DIGEST,
        show_unmanaged=show_unmanaged,
    )
