"""Plan operations: a closed, tagged union of frozen records. Each renderer and (later) each
executor handles every kind exhaustively. Addresses serialise as `project/subject/session/scan:ID`.

`reason` is for people reading the plan; nothing may decide what to do from it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from xsync.model.address import Address


def _parse_address(value: Any) -> Any:
    return Address.parse(value) if isinstance(value, str) else value


AddressField = Annotated[
    Address,
    BeforeValidator(_parse_address),
    PlainSerializer(str, return_type=str),
    Field(json_schema_extra={"type": "string", "description": "project/subject[/session[/scan:ID]]"}),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldChange(_Frozen):
    """One managed field: `before` is what the server holds (or will hold right after an
    import, predicted from the DICOM headers); None means unset."""

    name: str  # shortcut name, or the custom variable's name when `custom`
    before: str | None
    after: str | None
    custom: bool = False
    source: str = "spec"  # where `after` comes from: spec, defaults, rule N


class SeriesImport(_Frozen):
    uid: str
    scan_id: str  # predicted with XNAT's rules
    xsi_type: str
    description: str
    instances: int
    bytes: int


class _Op(_Frozen):
    address: AddressField
    reason: str = ""


class HeaderRemap(_Frozen):
    """A DICOM attribute changed in the bytes sent (never in the local files); no value, since
    values may identify a patient. `route` is the routing comment C-STORE needs."""

    attribute: str
    action: Literal["set", "blank", "remove", "route"]


class _Send(_Op):
    via: Literal["rest", "cstore"] = "rest"
    headers: tuple[HeaderRemap, ...] = ()


class RenameSubject(_Op):
    """XNAT's label change of a subject the spec declares moved; `address` names the new label."""

    kind: Literal["rename_subject"] = "rename_subject"
    subject_id: str
    from_label: str  # as the server spells it


class RenameSession(_Op):
    """XNAT's label change of a session the spec declares moved; `address` names the new label
    (under the subject's new label when the subject is renamed too)."""

    kind: Literal["rename_session"] = "rename_session"
    session_id: str
    from_label: str


class CreateSubject(_Op):
    kind: Literal["create_subject"] = "create_subject"
    fields: tuple[FieldChange, ...] = ()


class UpdateSubject(_Op):
    kind: Literal["update_subject"] = "update_subject"
    subject_id: str
    changes: tuple[FieldChange, ...]


class ImportSession(_Send):
    """Send a whole study to the import service under explicit project/subject/session labels."""

    kind: Literal["import_session"] = "import_session"
    study_uid: str
    xsi_type: str
    series: tuple[SeriesImport, ...]
    instances: int
    bytes: int
    prearchive: str = ""  # the timestamp of a prearchive entry already holding this study, if any


class AppendSeries(_Send):
    """Series of the bound study that the existing session lacks."""

    kind: Literal["append_series"] = "append_series"
    session_id: str
    study_uid: str
    series: tuple[SeriesImport, ...]
    instances: int
    bytes: int


class ResendInstances(_Send):
    """A scan has fewer DICOM files on the server than the local series has instances."""

    kind: Literal["resend_instances"] = "resend_instances"
    session_id: str
    study_uid: str
    series_uid: str
    local_instances: int
    remote_files: int
    bytes: int


class UpdateSession(_Op):
    kind: Literal["update_session"] = "update_session"
    session_id: str  # "" when the session only exists after this plan's import
    xsi_type: str
    changes: tuple[FieldChange, ...]
    after_import: bool = False  # the session arrives with an import of this plan


class UpdateScan(_Op):
    kind: Literal["update_scan"] = "update_scan"
    session_id: str  # "" when the session only exists after this plan's import
    xsi_type: str
    changes: tuple[FieldChange, ...]
    after_import: bool = False  # the scan arrives with an import or append of this plan


class DeleteSubject(_Op):
    kind: Literal["delete_subject"] = "delete_subject"
    subject_id: str
    sessions: int  # sessions deleted with it


class DeleteSession(_Op):
    kind: Literal["delete_session"] = "delete_session"
    session_id: str
    scans: int


class DeleteScan(_Op):
    kind: Literal["delete_scan"] = "delete_scan"
    session_id: str
    files: int


Operation = Annotated[
    RenameSubject
    | RenameSession
    | CreateSubject
    | UpdateSubject
    | ImportSession
    | AppendSeries
    | ResendInstances
    | UpdateSession
    | UpdateScan
    | DeleteSubject
    | DeleteSession
    | DeleteScan,
    Field(discriminator="kind"),
]

IMPORT_KINDS = (ImportSession, AppendSeries, ResendInstances)
RENAME_KINDS = (RenameSubject, RenameSession)
# A rename is a change in place: the plan's summary counts it among the changes.
CHANGE_KINDS = (RenameSubject, RenameSession, UpdateSubject, UpdateSession, UpdateScan)
DELETE_KINDS = (DeleteSubject, DeleteSession, DeleteScan)
