"""Is a saved plan still the plan? Compared with one made now from the same spec path, local
DICOM and server: the digests must be equal, and when they are not, the reasons are named —
which remote objects moved is found by diffing the per-object digests the plans carry (DeepDiff
compares the two mappings; the keys are our own object names, never guessed identities)."""

from __future__ import annotations

from xsync.plan.mask import masked
from xsync.plan.plan import Plan


def staleness(saved: Plan, fresh: Plan) -> list[str]:
    """Why `saved` no longer holds; empty when it does. What is applied is what was reviewed:
    besides the digests, the saved operations must be those made now, one for one."""
    reasons = []
    if saved.project != fresh.project or saved.server != fresh.server:
        reasons.append(f"the plan is for {saved.project} at {saved.server}, not {fresh.project} at {fresh.server}")
    if saved.spec_digest != fresh.spec_digest:
        reasons.append("the spec changed")
    if saved.inventory_digest != fresh.inventory_digest:
        reasons.append("the local DICOM changed (files, or header values the plan relies on)")
    if saved.remote_fingerprint != fresh.remote_fingerprint:
        moved = _moved(saved.remote_parts, fresh.remote_parts)
        reasons.append("on the server: " + ("; ".join(moved) if moved else "values the plan relies on changed"))
    if not reasons:
        reasons += operation_differences(saved, fresh)
    return reasons


def _moved(before: dict[str, str], after: dict[str, str]) -> list[str]:
    from deepdiff import DeepDiff  # numpy and pandas come with it: only when a plan is stale

    delta = DeepDiff(before, after, view="tree")
    out = []
    for kind, verb in (("dictionary_item_added", "appeared"), ("dictionary_item_removed", "disappeared"),
                       ("values_changed", "changed")):  # fmt: skip
        for item in delta.get(kind, []):
            out.append(f"{item.path(output_format='list')[0]} {verb}")
    return sorted(out)


def operation_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Where the saved plan's operations differ from those made now (compared as they are saved:
    patient identifiers hidden); empty when they are the same, in the same order."""
    now = masked(fresh).operations
    out = []
    for i in range(max(len(saved.operations), len(now))):
        a = saved.operations[i] if i < len(saved.operations) else None
        b = now[i] if i < len(now) else None
        if a == b:
            continue
        if a is None:
            assert b is not None
            out.append(f"operation {i + 1} ({b.kind} {b.address}) is missing from the saved plan")
        elif b is None:
            out.append(f"operation {i + 1} ({a.kind} {a.address}) of the saved plan is not in the plan made now")
        elif (a.kind, a.address) != (b.kind, b.address):
            out.append(f"operation {i + 1} is {a.kind} {a.address} in the saved plan, {b.kind} {b.address} now")
        else:
            out.append(f"operation {i + 1} ({a.kind} {a.address}) differs from the plan made now")
    return out
