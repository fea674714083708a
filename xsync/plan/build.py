"""Desired + remote -> Plan, refusing to paper over conflicts."""

from __future__ import annotations

from xsync import __version__
from xsync.errors import PlanError
from xsync.model.desired import DesiredState
from xsync.model.remote import RemoteState
from xsync.plan.diff import diff
from xsync.plan.fingerprint import (
    fingerprint,
    local_dependencies,
    part_digests,
    remote_dependencies,
    remote_fingerprint,
    short_parts,
)
from xsync.plan.plan import PendingEntry, Plan


def build_plan(
    desired: DesiredState,
    remote: RemoteState,
    *,
    spec_digest: str,
    inventory_digest: str,
    version: str = __version__,
    show_unmanaged: bool = False,
) -> Plan:
    """`inventory_digest` is the inventory's file digest; the plan records a digest of that and
    of every header value the plan predicted. Unmanaged server objects are kept only when asked
    (their labels may come from patient names). The plan holds patient identifiers the spec
    manages (apply needs them); renderers hide them (`plan.mask`)."""
    result = diff(desired, remote)
    parts = part_digests(remote_dependencies(desired, remote))
    if result.conflicts:
        n = len(result.conflicts)
        raise PlanError(
            f"the plan has {n} conflict{'s' if n != 1 else ''} with the server",
            "\n".join(f"  {c}" for c in result.conflicts),
        )
    return Plan(
        xsync_version=version,
        project=desired.project,
        server=remote.server,
        spec_digest=spec_digest,
        inventory_digest=fingerprint(local_dependencies(desired, inventory_digest)),
        remote_fingerprint=remote_fingerprint(parts),
        remote_parts=short_parts(parts),
        operations=result.operations,
        pending=tuple(PendingEntry(**vars(p)) for p in result.pending),
        unmanaged=result.unmanaged if show_unmanaged else (),
        notes=remote.notes,
    )
