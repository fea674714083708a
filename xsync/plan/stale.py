"""Is a saved plan still the plan? Compared with one made now from the same spec path, local
DICOM and server: the digests must be equal, and when they are not, the reasons are named —
which remote objects moved is found by diffing the per-object digests the plans carry (DeepDiff
compares the two mappings; the keys are our own object names, never guessed identities)."""

from __future__ import annotations

from deepdiff import DeepDiff

from xsync.plan.plan import Plan


def staleness(saved: Plan, fresh: Plan) -> list[str]:
    """Why `saved` no longer holds; empty when it does."""
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
    return reasons


def _moved(before: dict[str, str], after: dict[str, str]) -> list[str]:
    delta = DeepDiff(before, after, view="tree")
    out = []
    for kind, verb in (("dictionary_item_added", "appeared"), ("dictionary_item_removed", "disappeared"),
                       ("values_changed", "changed")):  # fmt: skip
        for item in delta.get(kind, []):
            out.append(f"{item.path(output_format='list')[0]} {verb}")
    return sorted(out)
