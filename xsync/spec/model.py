"""The spec as frozen, validated models (pydantic v2). Pure: no YAML, no files, no network.

Field keys, their types and bounds come from the field catalog (`xsync.model.fields`): XNAT's
shortcut names as XMLPathShortcuts spells them (REST-CONTRACT §4.2); custom variables live
under `fields:`. How each is written to XNAT is the catalog's business, not the spec's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from xsync.model.fields import FIELDS, FieldDef, Level
from xsync.spec.values import (
    LABEL_RULE,
    AETitle,
    Bool,
    Date,
    DicomUID,
    FieldName,
    Label,
    Port,
    Text,
    as_text,
    fail,
    field_type,
    kind_of,
)
from xsync.spec.xsitypes import DEFAULT_SESSION_TYPE, SessionType

SPEC_VERSION = 1


class SpecModel(BaseModel):
    """Base of every spec model: frozen, no unknown keys. (Keys left empty are refused by the
    loader, where the YAML says where they are: `load.strip_empty_values`.)"""

    # Schemas are built when a model first validates, not at import: `xsync --help` and every
    # command that never reads a spec skip the cost, and each model is built once.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, defer_build=True)


def _custom_fields(value: Any) -> Any:
    """Values as text; names that XNAT, which lower-cases them, would take for one refused."""
    if not isinstance(value, dict):
        return value
    seen: dict[str, str] = {}
    for name in value:
        folded = str(name).lower()
        if folded in seen:
            message = (
                f'custom variables "{seen[folded]}" and "{name}" are the same to XNAT, which stores names lower-cased'
            )
            raise PydanticCustomError("field_name_clash", message)
        seen[folded] = str(name)
    return {k: as_text(v) if not isinstance(v, dict | list) else v for k, v in value.items()}


CustomFields = Annotated[
    dict[FieldName, Text],
    BeforeValidator(_custom_fields),
    WithJsonSchema(
        {
            "type": "object",
            "description": "XNAT custom variables (names are stored lower-cased)",
            "propertyNames": {"pattern": "^[A-Za-z0-9_-]+$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        }
    ),
]


class _HasCustomFields(SpecModel):
    fields: CustomFields = {}


# ---------------------------------------------------------------- fields, from the catalog


def _field_model(name: str, level: Level, base: type[SpecModel], doc: str) -> type[SpecModel]:
    """A model with one optional key per settable catalog field of `level`, in catalog order,
    each typed and bounded as XNAT validates it; the field's owner types are its description."""
    fields: dict[str, Any] = {
        f.name: (field_type(f) | None, Field(default=None, description=_owners(f)))
        for f in FIELDS[level].values()
        if f.settable
    }
    model: type[SpecModel] = create_model(name, __base__=base, __doc__=doc, __module__=__name__, **fields)
    return model


def _owners(definition: FieldDef) -> str:
    return "field of " + ", ".join(definition.owners())


if TYPE_CHECKING:
    # The models are built from the catalog at import; for the type checker they are their bases.
    SubjectFields = _HasCustomFields
    SessionFields = _HasCustomFields
    ScanFields = SpecModel
else:
    SubjectFields = _field_model("SubjectFields", Level.SUBJECT, _HasCustomFields, "xnat:subjectData fields.")
    SessionFields = _field_model(
        "SessionFields", Level.SESSION, _HasCustomFields,
        "Experiment and image-session fields; the MR and PET ones apply to sessions of those types only.",
    )  # fmt: skip
    # No `fields:` on scans: xnat:imageScanData has no custom-variable element in xnat.xsd.
    ScanFields = _field_model(
        "ScanFields", Level.SCAN, SpecModel,
        "xnat:imageScanData fields; the MR ones apply to MR scans only.",
    )  # fmt: skip


class DicomBinding(SpecModel):
    """Where a session's DICOM is: exactly one of a Study Instance UID, a folder, or a patient."""

    study_uid: DicomUID | None = None
    path: Path | None = None
    # A patient identifier: kept out of repr and never echoed in messages.
    patient_id: Text | None = Field(default=None, repr=False)
    study_date: Date | None = None

    @field_validator("path", mode="before")
    @classmethod
    def _resolve_path(cls, value: Any, info: ValidationInfo) -> Any:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _one_kind(self) -> DicomBinding:
        kinds = [k for k in ("study_uid", "path", "patient_id") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise PydanticCustomError("binding", "give exactly one of study_uid, path or patient_id")
        if self.study_date is not None and self.patient_id is None:
            raise PydanticCustomError("binding", "study_date only narrows a patient_id binding")
        return self

    @property
    def kind(self) -> Literal["study_uid", "path", "patient_id"]:
        if self.study_uid is not None:
            return "study_uid"
        return "path" if self.path is not None else "patient_id"


# ---------------------------------------------------------------- header remaps

_PLACEHOLDERS = ("project", "subject", "session")


def _keyword(value: Any) -> str:
    """A standard DICOM keyword that xsync may edit."""
    from xsync.dicom.dictionary import attribute, refusal

    if not isinstance(value, str):
        raise fail("keyword_type", f"expected a DICOM keyword, got {kind_of(value)}")
    attr = attribute(value)
    if attr is None:
        raise fail("keyword", f'"{value}" is not a DICOM keyword (e.g. PatientName, PatientID)')
    why = refusal(attr)
    if why:
        raise fail("keyword_refused", f"xsync never edits {value}: {why}")
    return value


def _template(value: Any) -> str:
    """A value with `{project}`, `{subject}` or `{session}` placeholders (`{{` for a brace)."""
    import string

    text = as_text(value)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        raise fail("template", f"{e} (write {{{{ or }}}} for a literal brace)") from None
    known = ", ".join(f"{{{p}}}" for p in _PLACEHOLDERS)
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in _PLACEHOLDERS or spec or conversion):
            raise fail("placeholder", f'unknown placeholder "{{{name}}}" (known: {known})')
    return text


DicomKeyword = Annotated[
    str, BeforeValidator(_keyword), WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9]+$"})
]
RemapTemplate = Annotated[str, BeforeValidator(_template), WithJsonSchema({"type": ["string", "number"]})]
KeywordList = Annotated[
    tuple[DicomKeyword, ...],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


class Remap(SpecModel):
    """DICOM header edits made in the bytes xsync sends, never in the local files (in the spirit
    of XNAT's DicomRemap): `set` writes a value (with `{project}`, `{subject}`, `{session}`),
    `blank` empties an attribute, `remove` drops it. A session's remap adds to its subject's,
    which adds to the site's; for one attribute the innermost says what happens."""

    set_: dict[DicomKeyword, RemapTemplate] = Field(default={}, alias="set")
    blank: KeywordList = ()
    remove: KeywordList = ()

    @model_validator(mode="after")
    def _once(self) -> Remap:
        seen: dict[str, str] = {}
        for action, names in (("set", tuple(self.set_)), ("blank", self.blank), ("remove", self.remove)):
            for name in names:
                if name in seen:
                    raise PydanticCustomError("remap_twice", f"{name} is both in {seen[name]} and in {action}")
                seen[name] = action
        return self

    @model_validator(mode="after")
    def _settable(self) -> Remap:
        from xsync.dicom.dictionary import attribute, settable

        for name in self.set_:
            attr = attribute(name)
            if attr is not None and not settable(attr):
                raise PydanticCustomError(
                    "remap_not_text", f"{name} is not a text attribute ({attr.vr}): it can be blanked or removed only"
                )
        return self


# ---------------------------------------------------------------- scans


class Scan(ScanFields):
    absent: Bool = False


ScanID = Label  # XNAT scan IDs from DICOM are SeriesNumbers or `4-MR1`: the label alphabet


class Session(SessionFields):
    xsi_type: SessionType = DEFAULT_SESSION_TYPE
    absent: Bool = False
    dicom: DicomBinding | None = None
    remap: Remap | None = None
    scans: dict[ScanID, Scan] = {}


class Subject(SubjectFields):
    absent: Bool = False
    remap: Remap | None = None
    sessions: dict[Label, Session] = {}


# ---------------------------------------------------------------- project-wide settings


def _resolve(value: Any, info: ValidationInfo) -> Any:
    """Relative paths are relative to the main spec's folder (`base_dir` in the context), in
    included files too: every DICOM path of a site then shares one base."""
    if not isinstance(value, str | Path):
        raise PydanticCustomError("path_type", f"expected a path, got {kind_of(value)}".replace("{", "{{"))
    base = (info.context or {}).get("base_dir")
    path = Path(os.path.expanduser(value))
    return Path(os.path.normpath(base / path)) if base is not None and not path.is_absolute() else path


class DicomConfig(SpecModel):
    roots: Annotated[
        tuple[Path, ...],
        WithJsonSchema(
            {
                "description": "folders of local DICOM, relative to the spec's folder",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            }
        ),
    ] = ()
    cache: Path = Field(default=Path(".xsync/inventory.sqlite"), validate_default=True)

    @field_validator("roots", mode="before")
    @classmethod
    def _resolve_roots(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = [value]
        return [_resolve(v, info) for v in value] if isinstance(value, list) else value

    @field_validator("cache", mode="before")
    @classmethod
    def _resolve_cache(cls, value: Any, info: ValidationInfo) -> Any:
        return _resolve(value, info)


class UploadConfig(SpecModel):
    """How sessions reach XNAT: the REST import service (a DICOM zip) or DICOM C-STORE.

    host/port/ae_title/calling_ae_title are for `cstore` only; when left out, the uploader
    uses the server's host, port 8104 and AE title XNAT (XNAT's receiver defaults).
    `dest` is for `rest`: with C-STORE the project's receiver settings decide.
    """

    method: Literal["rest", "cstore"] = "rest"
    dest: Literal["archive", "prearchive"] = "archive"
    host: Text | None = None
    port: Port | None = None
    ae_title: AETitle | None = None
    calling_ae_title: AETitle | None = None

    @model_validator(mode="after")
    def _cstore_only(self) -> UploadConfig:
        if self.method != "cstore":
            given = [k for k in ("host", "port", "ae_title", "calling_ae_title") if getattr(self, k) is not None]
            if given:
                verb = "is" if len(given) == 1 else "are"
                raise PydanticCustomError("cstore_only", f"{', '.join(given)} {verb} for method: cstore only")
        return self


class SessionDefaults(SessionFields):
    xsi_type: SessionType | None = None


class Defaults(SpecModel):
    subject: SubjectFields = Field(default_factory=SubjectFields)
    session: SessionDefaults = Field(default_factory=SessionDefaults)
    scan: ScanFields = Field(default_factory=ScanFields)


PatternList = Annotated[
    tuple[str, ...],
    BeforeValidator(lambda v: [v] if not isinstance(v, list | tuple | dict) else v),
    WithJsonSchema(
        {
            "description": 'a glob ("T1w_MPR*") or a /regular expression/; or a list of them',
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        }
    ),
]
SeriesNumberPatterns = Annotated[
    tuple[str, ...],
    BeforeValidator(lambda v: [as_text(x) for x in (v if isinstance(v, list) else [v])]),
    WithJsonSchema(
        {
            "description": 'a number, a comparison (">=10", "<100") or a range ("10..20"); or a list of them',
            "anyOf": [
                {"type": ["integer", "string"]},
                {"type": "array", "items": {"type": ["integer", "string"]}},
            ],
        }
    ),
]


class ScanMatch(SpecModel):
    """What a local DICOM series must look like for a rule to apply. Every key given must match.

    Text patterns are globs (`T1w_MPR*`) or regular expressions between slashes (`/^rfMRI_/`,
    searched anywhere in the value). A list means any of its patterns, except for image_type,
    where every listed pattern must match one of the series' ImageType values.
    """

    series_description: PatternList | None = None
    protocol_name: PatternList | None = None
    modality: PatternList | None = None
    series_number: SeriesNumberPatterns | None = None
    image_type: PatternList | None = None


class ScanRule(SpecModel):
    match: ScanMatch
    set: ScanFields
    ignore_case: Bool = False


class Rules(SpecModel):
    scans: tuple[ScanRule, ...] = ()


# ---------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Location:
    """Where a key of the spec was written. Lines and columns are 1-based."""

    file: Path
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


IncludeList = Annotated[
    tuple[str, ...],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    WithJsonSchema(
        {
            "description": "files or globs, relative to this file, holding more subjects",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        }
    ),
]


class IncludedFile(SpecModel):
    """What a file named by `include:` may hold."""

    include: IncludeList = ()
    subjects: dict[Label, Subject] = {}


_MOVE_SIDE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)?")


def _move_side(value: Any) -> str:
    if not isinstance(value, str) or not _MOVE_SIDE.fullmatch(value):
        raise fail(
            "move_label",
            f"{kind_of(value)} is not a subject label or subject/session: {LABEL_RULE}, with one / before a session",
        )
    return value


MoveSide = Annotated[
    str,
    BeforeValidator(_move_side),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)?$"}),
]


class Move(SpecModel):
    """A declared relabel, `{from: old, to: new}` for a subject or `{from: subject/old, to:
    subject/new}` for a session of that subject: planned as one rename (never a delete and an
    import) and a no-op once the server holds the new label."""

    from_: MoveSide = Field(alias="from")
    to: MoveSide

    @model_validator(mode="after")
    def _same_kind(self) -> Move:
        source, target = self.from_.split("/"), self.to.split("/")
        if len(source) != len(target):
            raise PydanticCustomError(
                "move_kind", "from and to must both be subjects (label) or both sessions (subject/label)"
            )
        if len(source) == 2 and source[0] != target[0]:
            raise PydanticCustomError(
                "move_subject",
                f"a session moves within its subject only ({source[0]} and {target[0]} differ); "
                "moving a session to another subject is not supported",
            )
        if self.from_ == self.to:
            raise PydanticCustomError("move_same", "from and to are the same label")
        return self

    @property
    def subject(self) -> str:
        """The session's subject ("" for a subject move)."""
        return self.to.split("/")[0] if "/" in self.to else ""

    @property
    def source(self) -> str:
        """The old label (a session's without its subject)."""
        return self.from_.rsplit("/", 1)[-1]

    @property
    def target(self) -> str:
        return self.to.rsplit("/", 1)[-1]


class Spec(SpecModel):
    """A site's declared XNAT project: the loader's output, defaults already applied.

    Paths are absolute. `subjects` keeps the order of the files (main spec first, then each
    include in order). Scan defaults are the exception to "already applied": they rank below
    scan rules, so `rules.resolve_scan_fields` applies them together with the rules.
    """

    version: Literal[1]
    server: Text | None = None
    project: Label
    dicom: DicomConfig = Field(default_factory=DicomConfig, validate_default=True)
    upload: UploadConfig = Field(default_factory=UploadConfig)
    remap: Remap | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    rules: Rules = Field(default_factory=Rules)
    include: IncludeList = ()
    subjects: dict[Label, Subject] = {}
    moved: tuple[Move, ...] = ()

    _base_dir: Path = PrivateAttr(default=Path("."))
    # Set by the loader; built on first use, since most runs never ask for a position.
    _locations: Callable[[], Mapping[tuple[str, ...], Location]] = PrivateAttr(default=dict)

    @field_validator("server", mode="after")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in ("http", "https") or not rest.strip("/"):
            raise PydanticCustomError("url", "must be an http:// or https:// URL")
        if "@" in rest.split("/", 1)[0]:
            # Never echo the value: it holds a password.
            raise PydanticCustomError(
                "url_credentials", "must not hold credentials: use XNAT_USER/XNAT_PASS or ~/.netrc"
            )
        return value

    def locate(self, path: tuple[str, ...]) -> Location | None:
        """Where the key at `path` was written, e.g. ("subjects", "sub1", "gender"); the nearest
        enclosing key when that one was not written (a value from `defaults:`)."""
        locations = self._locations()
        for end in range(len(path), -1, -1):
            found = locations.get(tuple(str(p) for p in path[:end]))
            if found is not None:
                return found
        return None

    @cached_property
    def digest(self) -> str:
        """sha256 of the resolved content: blind to comments, key order, includes and the
        folder the spec is checked out in (paths are taken relative to the spec's folder)."""
        # Dumped in Python mode so that only real Path values are made relative: a text value that
        # merely starts with "/" (a `/regex/` rule pattern) must stay as written.
        # No `moved:` is left out, so that specs written before it existed keep their digest.
        excluded = {"include"} if self.moved else {"include", "moved"}
        content = _relative_paths(self.model_dump(mode="python", exclude=excluded), self._base_dir)
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        import hashlib  # only plans need the digest: `validate` starts faster without it

        return hashlib.sha256(canonical.encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        sessions = [s for subject in self.subjects.values() for s in subject.sessions.values()]
        return {
            "subjects": len(self.subjects),
            "sessions": len(sessions),
            "scans": sum(len(s.scans) for s in sessions),
        }


def _relative_paths(value: Any, base: Path) -> Any:
    if isinstance(value, dict):
        return {k: _relative_paths(v, base) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_relative_paths(v, base) for v in value]
    if isinstance(value, Path):
        return Path(os.path.relpath(value, base)).as_posix() if value.is_absolute() else value.as_posix()
    return value


def field_values(obj: SubjectFields | SessionFields | ScanFields) -> dict[str, str]:
    """The managed fields of an object as the strings XNAT is sent; custom variables as
    `fields.<name>`. Only fields written in the spec (or its defaults) appear."""
    out: dict[str, str] = {}
    for name in type(obj).model_fields:
        if name in _STRUCTURE_KEYS:
            continue
        value = getattr(obj, name)
        if name == "fields":
            out.update({f"fields.{k}": v for k, v in value.items()})
        elif value is not None:
            out[name] = as_text(value)
    return out


_STRUCTURE_KEYS = frozenset({"absent", "sessions", "scans", "dicom", "xsi_type", "remap"})
