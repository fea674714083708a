"""The plan: an artifact that can be saved, reviewed, rendered and (later) applied or refused.

It records what it was computed from — the spec and inventory digests and a fingerprint of
every remote value it depends on — so that a saved plan can detect that the world moved.
The JSON form (`Plan.model_dump(mode="json", by_alias=True)`) is the `--json` output and the plan file; its
schema is `schemas/plan.schema.json`. No credentials ever enter it; patient identifiers the
spec manages are held for apply and hidden whenever a plan is printed or saved (`mask.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from xsync.plan.ops import (
    CHANGE_KINDS,
    DELETE_KINDS,
    IMPORT_KINDS,
    AddressField,
    CreateSubject,
    Operation,
)

FORMAT_VERSION: Literal[1] = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PendingEntry(_Frozen):
    """A session waiting in the project's prearchive. `session` names the spec's session when the
    entry holds a study the spec binds; otherwise it is empty. The entry's own folder and
    subject labels are left out: XNAT derives them from PatientID/PatientName when an upload
    gave none."""

    timestamp: str
    status: str
    study_uid: str
    session: str = ""


class Summary(_Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    create: int
    import_: int = Field(validation_alias="import", serialization_alias="import")  # a keyword in Python
    import_files: int
    import_bytes: int
    change: int
    delete: int


class Plan(_Frozen):
    format_version: Literal[1] = FORMAT_VERSION
    xsync_version: str
    project: str
    server: str
    spec_digest: str
    inventory_digest: str
    remote_fingerprint: str
    # Per subject, per session and for the prearchive: which remote objects the fingerprint
    # covers, each with a short digest, so a stale plan can name what moved.
    remote_parts: dict[str, str] = {}
    operations: tuple[Operation, ...] = ()
    pending: tuple[PendingEntry, ...] = ()
    unmanaged: tuple[AddressField, ...] = ()
    notes: tuple[str, ...] = ()  # what the plan could not check (e.g. file counts the server did not give)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        ops = self.operations
        imports = [op for op in ops if isinstance(op, IMPORT_KINDS)]
        return Summary(
            create=sum(isinstance(op, CreateSubject) for op in ops),
            import_=len(imports),
            import_files=sum(_import_files(op) for op in imports),
            import_bytes=sum(op.bytes for op in imports),
            change=sum(isinstance(op, CHANGE_KINDS) for op in ops),
            delete=sum(isinstance(op, DELETE_KINDS) for op in ops),
        )

    @property
    def has_changes(self) -> bool:
        return bool(self.operations)


def _import_files(op: Operation) -> int:
    # A re-send sends the whole series: the server reports counts, not which instances it lacks.
    if op.kind == "resend_instances":
        return op.local_instances
    return op.instances  # type: ignore[union-attr]
