"""Desired + remote -> Plan, refusing to paper over conflicts."""

from __future__ import annotations

from xsync import __version__
from xsync.errors import PlanError
from xsync.model.desired import DesiredState
from xsync.model.remote import RemoteState
from xsync.plan.diff import diff
from xsync.plan.fingerprint import fingerprint, remote_dependencies
from xsync.plan.plan import PendingEntry, Plan


def build_plan(
    desired: DesiredState,
    remote: RemoteState,
    *,
    spec_digest: str,
    inventory_digest: str,
    version: str = __version__,
) -> Plan:
    result = diff(desired, remote)
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
        inventory_digest=inventory_digest,
        remote_fingerprint=fingerprint(remote_dependencies(desired, remote)),
        operations=result.operations,
        pending=tuple(PendingEntry(**vars(p)) for p in result.pending),
        unmanaged=result.unmanaged,
    )
