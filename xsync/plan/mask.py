"""Patient identifiers in a plan, hidden for every reader: the plan itself keeps the values
apply needs; what is printed or saved passes through `masked` unless the user asked for PHI
(`--show-phi`). Which fields are patient identifiers is the field catalog's knowledge."""

from __future__ import annotations

from xsync.model.fields import Level, phi_names
from xsync.plan.ops import CreateSubject, FieldChange, Operation, UpdateSubject
from xsync.plan.plan import Plan

HIDDEN = "(hidden; --show-phi)"
_PHI = phi_names(Level.SUBJECT)


def _hide(change: FieldChange) -> FieldChange:
    if change.custom or change.name not in _PHI:
        return change
    return change.model_copy(
        update={"before": None if change.before is None else HIDDEN, "after": None if change.after is None else HIDDEN}
    )


def masked_operation(op: Operation) -> Operation:
    if isinstance(op, CreateSubject):
        return op.model_copy(update={"fields": tuple(_hide(c) for c in op.fields)})
    if isinstance(op, UpdateSubject):
        return op.model_copy(update={"changes": tuple(_hide(c) for c in op.changes)})
    return op


def masked(plan: Plan) -> Plan:
    """The plan with every patient identifier's value replaced by a marker."""
    return plan.model_copy(update={"operations": tuple(masked_operation(op) for op in plan.operations)})
