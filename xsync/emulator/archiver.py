"""Archiving a built prearchive session (XNAT's PrearcSessionArchiver, DICOM-IMPORT.md §5.5, §7):
resolve project, label and subject, check the existing experiment for conflicts, then create or
merge the experiment, its scans and their resources, move the files to
`<root>/archive/<project>/arc001/<label>/SCANS/<scan>/<DICOM|secondary>/` and drop the
prearchive row. A scan's files of primary imaging SOP classes form its `DICOM` resource (content
`RAW`), the others its `secondary` resource (content `secondary`), each with its catalog
(`scan_<id>_catalog.xml`, `scan_<id>_secondary_catalog.xml`), as dicom-xnat's CatalogBuilder
writes them.

All checks run before anything changes, so a refused archive leaves the archive untouched; the
row turns CONFLICT (409) or ERROR (anything else) -- except for invalid xpath overrides, a
mistake of the request that does not mark the row (it may have been built, READY, as every
archive attempt builds first). `validate` runs the same checks and
changes nothing (`/services/validate-archive`). Choices where XNAT's behaviour is unclear:
- a subject is created only once every check has passed (XNAT creates it before the checks);
- on a merge, fields already on the experiment or scan keep their values (they may have been
  edited since); fields they lack are filled from the new data;
- scan-ID correction follows `PrearcSessionArchiver.correctScanID` as intended: a new series
  whose number is taken by another series becomes `<number>-<MR|CT|PT..><n>`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from xsync.emulator import params
from xsync.emulator.builder import BuildError, BuiltFile, BuiltScan, BuiltSession
from xsync.emulator.fields import archive_scan_type
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.labels import label_chars
from xsync.emulator.params import Changes
from xsync.emulator.prearchive import (
    AUTO_ARCHIVE,
    AUTO_ARCHIVE_OVERWRITE,
    CONFLICT,
    ERROR,
    UNASSIGNED,
    current_build,
    delete,
    ensure_built,
)
from xsync.emulator.store import Experiment, FileEntry, PrearchiveSession, Resource, Scan, Store, Subject

PRE_EXISTS = "Session already exists, retry with overwrite enabled"
SUBJECT_MOD = "Invalid modification of session subject via archive process."
UID_MOD = "Invalid modification of session UID via archive process."
MODALITY_MOD = "Invalid modification of session modality via archive process.  Data may require a manual merge."
DUPLICATE_FILE = "Duplicate DICOM file uploaded."
DEFAULT_QUALITY = "usable"
ARCHIVE_FOLDER = "arc001"
PRIMARY_RESOURCE, SECONDARY_RESOURCE = "DICOM", "secondary"
_CONTENT = {PRIMARY_RESOURCE: "RAW", SECONDARY_RESOURCE: "secondary"}


@dataclass(frozen=True)
class ArchiveOptions:
    allow_merge: bool = False  # an existing experiment may take the data
    override: bool = False  # XNAT's overrideExceptions: UID and scan checks, duplicates
    overwrite_files: bool = False  # an instance already archived is replaced
    project: str | None = None  # `project` parameter: archive into another project
    subject: str | None = None  # `subject` / `SUBJECT_ID`
    label: str | None = None  # `session` / `label` / `EXPT_LABEL`
    # `/services/archive`'s other `type/path` parameters, raw: xpath overrides on the session,
    # validated as a PUT validates them once the session's type is known.
    overrides: tuple[tuple[str, str], ...] = ()


class InvalidOverride(XnatHTTPError):
    """An override the validator refuses: the request is refused, the row is not marked."""


def overwrite_flags(value: str | None) -> tuple[bool, bool]:
    """(allow_merge, override) from an `overwrite` parameter (Importer.parseOverrideValue).

    Choice: `none` counts as absent (no merge); the contract lists it beside append/delete."""
    v = (value or "").strip().lower()
    if v in ("", "none", "false"):
        return False, False
    if v in ("delete", "override"):
        return True, True
    return True, False


def auto_archive_options(row: PrearchiveSession) -> ArchiveOptions | None:
    """The options the idle rebuilder archives with, or None when the row stays. Codes 4 and 5
    merge into an existing session; 5 also replaces instances already archived."""
    if row.project == UNASSIGNED or row.autoarchive not in (AUTO_ARCHIVE, AUTO_ARCHIVE_OVERWRITE):
        return None
    return ArchiveOptions(allow_merge=True, overwrite_files=row.autoarchive == AUTO_ARCHIVE_OVERWRITE)


def archive(store: Store, row: PrearchiveSession, options: ArchiveOptions) -> str:
    """Archive `row`; returns `/data/archive/projects/P/subjects/S/experiments/E`."""
    with store.lock:
        try:
            built = ensure_built(store, row)
            plan = _checked_plan(store, row, built, options)
            return _commit(store, row, built, plan)
        except InvalidOverride:
            raise
        except XnatHTTPError as e:
            row.status = CONFLICT if e.status == 409 else ERROR
            store.changed()
            raise
        except BuildError as e:
            raise XnatHTTPError(400, f"Unable to build the prearchive session: {e}") from e
        except OSError as e:
            row.status = ERROR
            store.changed()
            raise XnatHTTPError(500, f"archiving failed: {e.strerror}") from e


def validate(store: Store, row: PrearchiveSession, options: ArchiveOptions) -> None:
    """Every check `archive` makes, changing nothing: no build is kept, no status set. Raises
    the error the archive would answer."""
    with store.lock:
        try:
            built = current_build(store, row)
        except BuildError as e:
            raise XnatHTTPError(400, f"Unable to build the prearchive session: {e}") from e
        _checked_plan(store, row, built, options)


@dataclass(frozen=True)
class _Plan:
    project: str
    label: str
    subject_label: str
    subject: Subject | None  # None: create it
    existing: Experiment | None
    scan_ids: dict[str, str]  # built scan ID -> archive scan ID
    overrides: Changes


def _checked_plan(store: Store, row: PrearchiveSession, built: BuiltSession, options: ArchiveOptions) -> _Plan:
    """Where the data would go, once every check has passed (PrearcSessionArchiver's order)."""
    plan = _plan(store, row, built, options)
    if not options.override:
        _check_unique_instances(built)
    if plan.existing is not None:
        _check_conflicts(plan, built, options)
        _check_duplicate_files(plan, built, options)
    return plan


def _override_changes(built: BuiltSession, options: ArchiveOptions) -> Changes:
    """The overrides as field changes of the session's type; keys of other types are ignored,
    as on a PUT (XNAT-7176)."""
    try:
        return params.collect(built.xsi_type, {}, options.overrides)
    except XnatHTTPError as e:
        raise InvalidOverride(e.status, e.message) from None


def _plan(store: Store, row: PrearchiveSession, built: BuiltSession, options: ArchiveOptions) -> _Plan:
    overrides = _override_changes(built, options)  # the request's own mistakes come first
    ref = options.project or row.project
    project = store.project(ref) if ref != UNASSIGNED else None
    if project is None:
        raise XnatHTTPError(400, "unable to identify destination project")
    label = label_chars(options.label or row.name or row.folder)
    raw_subject = options.subject or row.subject or built.fields.get("dcmPatientName", "")
    if not raw_subject:
        raise XnatHTTPError(400, "Unable to identify subject.")
    subject_label = label_chars(raw_subject)
    subject = _matching_subject(store, project.id, subject_label)
    existing = store.experiment(project.id, label)
    scan_ids = _scan_ids(existing, built) if existing is not None else {s.id: s.id for s in built.scans}
    return _Plan(project.id, label, subject_label, subject, existing, scan_ids, overrides)


def _matching_subject(store: Store, project: str, label: str) -> Subject | None:
    """By label, case-insensitively (XNAT-2865), then by accession ID."""
    for s in store.subjects_of(project):
        if s.label.lower() == label.lower():
            return s
    by_id = store.subjects.get(label)
    return by_id if by_id is not None and by_id.project == project else None


def _modality_code(xsi_type: str) -> str:
    """The two letters after `xnat:` upper-cased (`MR`, `CT`; PET's `PE` becomes `PT`)."""
    code = xsi_type[5:7].upper() if xsi_type.startswith("xnat:") else ""
    return "PT" if code == "PE" else code


def _scan_ids(existing: Experiment, built: BuiltSession) -> dict[str, str]:
    """Where each new scan goes: the existing scan with its UID; its own ID when free or held by
    a scan without a UID; else the next free `<id>-<MC><n>`."""
    by_uid = {s.fields.get("UID"): s.id for s in existing.scans.values() if s.fields.get("UID")}
    used = set(existing.scans)
    out: dict[str, str] = {}
    for scan in built.scans:
        if scan.uid in by_uid:
            out[scan.id] = by_uid[scan.uid]
            continue
        held = existing.scans.get(scan.id)
        if held is not None and not held.fields.get("UID"):
            out[scan.id] = scan.id
            continue
        code = _modality_code(scan.xsi_type)
        stub = scan.id[: scan.id.rfind("-")] if re.fullmatch(rf".+-{code}\d+", scan.id) else scan.id
        new_id, count = scan.id, 1
        while new_id in used:
            new_id, count = f"{stub}-{code}{count}", count + 1
        used.add(new_id)
        out[scan.id] = new_id
    return out


def _check_conflicts(plan: _Plan, built: BuiltSession, options: ArchiveOptions) -> None:
    """PrearcSessionArchiver.checkForConflicts, in its order."""
    existing = plan.existing
    assert existing is not None
    if not options.allow_merge:
        raise XnatHTTPError(409, PRE_EXISTS)
    if existing.xsi_type != built.xsi_type:
        raise XnatHTTPError(409, MODALITY_MOD)
    if plan.subject is None or existing.subject_id != plan.subject.id:
        raise XnatHTTPError(409, f"{SUBJECT_MOD}: {existing.label} Already Exists for another Subject")
    old_uid = existing.fields.get("UID", "")
    if not options.override and old_uid and built.uid and old_uid != built.uid:
        raise XnatHTTPError(409, UID_MOD)
    for scan in built.scans:
        by_id = existing.scans.get(scan.id)
        for other in existing.scans.values():
            same_uid = other.fields.get("UID") == scan.uid
            if same_uid and (by_id is None or by_id.id != other.id) and not options.override:
                raise XnatHTTPError(
                    409, f"Session already contains a scan with the same UID, but a different number ({other.id})."
                )


def _check_unique_instances(built: BuiltSession) -> None:
    """The same SOP instance twice in one scan (sent under two names) is refused (400)."""
    for scan in built.scans:
        counts = Counter(f.sop_instance_uid for f in scan.files)
        dups = sorted(uid for uid, n in counts.items() if n > 1)
        if dups:
            raise XnatHTTPError(
                400, f"Scan {scan.id} DICOM catalog contains duplicated SOP instance UIDs: {', '.join(dups)}"
            )


def _check_duplicate_files(plan: _Plan, built: BuiltSession, options: ArchiveOptions) -> None:
    """An instance already in the target scan is a 409 unless files may be overwritten."""
    if options.overwrite_files or options.override:
        return
    assert plan.existing is not None
    for scan in built.scans:
        target = plan.existing.scans.get(plan.scan_ids[scan.id])
        archived = {f.sop_instance_uid for r in _dicom_resources(target) for f in r.files.values()}
        if any(f.sop_instance_uid in archived for f in scan.files):
            raise XnatHTTPError(409, DUPLICATE_FILE)


def _dicom_resources(scan: Scan | None) -> list[Resource]:
    if scan is None:
        return []
    return [r for label, r in scan.resources.items() if label in _CONTENT]


def _commit(store: Store, row: PrearchiveSession, built: BuiltSession, plan: _Plan) -> str:
    subject = plan.subject or store.add_subject(
        Subject(id=store.next_subject_id(), project=plan.project, label=plan.subject_label)
    )
    if plan.existing is None:
        experiment = store.add_experiment(
            Experiment(
                id=store.next_experiment_id(),
                project=plan.project,
                subject_id=subject.id,
                label=plan.label,
                xsi_type=built.xsi_type,
                fields=dict(built.fields),
                custom=dict(built.custom),
            )
        )
    else:
        experiment = plan.existing
        _fill(experiment.fields, built.fields)
        _fill(experiment.custom, built.custom)
    params.apply(plan.overrides, experiment.fields, experiment.custom)  # asked for: wins over both
    session_dir = store.root / "archive" / plan.project / ARCHIVE_FOLDER / plan.label
    for scan in built.scans:
        _archive_scan(store, experiment, scan, plan.scan_ids[scan.id], session_dir)
    delete(store, row)
    store.changed()
    return f"/data/archive/projects/{plan.project}/subjects/{subject.label}/experiments/{plan.label}"


def _fill(target: dict[str, str], values: Mapping[str, str]) -> None:
    for key, value in values.items():
        target.setdefault(key, value)


def _archive_scan(store: Store, experiment: Experiment, scan: BuiltScan, scan_id: str, session_dir: Path) -> None:
    target = experiment.scans.get(scan_id)
    if target is None:
        fields = dict(scan.fields)
        fields["type"] = archive_scan_type(fields.get("series_description", ""))
        fields["quality"] = DEFAULT_QUALITY
        target = Scan(id=scan_id, xsi_type=scan.xsi_type, pk=store.next_scan_pk(), fields=fields)
        experiment.scans[scan_id] = target
        added_frames = None
    else:
        previous = target.fields.get("frames", "0")
        _fill(target.fields, scan.fields)
        target.fields.setdefault("type", archive_scan_type(scan.fields.get("series_description", "")))
        target.fields.setdefault("quality", DEFAULT_QUALITY)
        added_frames = int(previous) if previous.isdigit() else 0
    archived = {f.sop_instance_uid: (r, name) for r in _dicom_resources(target) for name, f in r.files.items()}
    for label in (PRIMARY_RESOURCE, SECONDARY_RESOURCE):
        files = [f for f in scan.files if f.primary == (label == PRIMARY_RESOURCE)]
        if not files:
            continue
        resource = target.resources.get(label)
        if resource is None:
            resource = Resource(id=store.next_resource_pk(), label=label, format="DICOM", content=_CONTENT[label])
            target.resources[label] = resource
        folder = session_dir / "SCANS" / scan_id / label
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            replaced = archived.get(f.sop_instance_uid)
            if replaced is not None:  # overwrite: the new copy replaces the archived one
                old_resource, old_name = replaced
                old_resource.files.pop(old_name).path.unlink(missing_ok=True)
            elif added_frames is not None and f.primary:
                added_frames += f.frames
            _move_in(f, resource, folder)
        suffix = "" if label == PRIMARY_RESOURCE else f"_{label}"
        _write_catalog(folder / f"scan_{scan_id}{suffix}_catalog.xml", target, resource)
    if added_frames is not None:
        target.fields["frames"] = str(added_frames)


def _move_in(f: BuiltFile, resource: Resource, folder: Path) -> None:
    name = _free_name(f.name, resource.files)
    dest = folder / name
    shutil.move(str(f.path), dest)
    resource.files[name] = FileEntry(
        name=name,
        path=dest,
        size=dest.stat().st_size,
        sop_instance_uid=f.sop_instance_uid,
        sop_class_uid=f.sop_class_uid,
        instance_number=f.instance_number,
        md5=hashlib.md5(dest.read_bytes()).hexdigest(),
    )


def _free_name(name: str, taken: dict[str, FileEntry]) -> str:
    """Another instance already has this name in the scan: keep both, numbering the newcomer."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    base, ext = (stem, dot + ext) if dot else (name, "")
    n = 1
    while f"{base}_{n}{ext}" in taken:
        n += 1
    return f"{base}_{n}{ext}"


def _write_catalog(path: Path, scan: Scan, resource: Resource) -> None:
    """`cat:DCMCatalog` as XNAT keeps it beside the files (for people browsing the tree)."""
    entries = sorted(resource.files.values(), key=lambda f: (len(f.instance_number), f.instance_number, f.name))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<cat:DCMCatalog xmlns:cat="http://nrg.wustl.edu/catalog" UID={quoteattr(scan.fields.get("UID", ""))}>',
        "  <cat:entries>",
        *(
            f'    <cat:entry xsi:type="cat:dcmEntry" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            f" URI={quoteattr(f.name)} UID={quoteattr(f.sop_instance_uid)}"
            f" instanceNumber={quoteattr(f.instance_number)} ID={quoteattr(f.name)}/>"
            for f in entries
        ),
        "  </cat:entries>",
        "</cat:DCMCatalog>",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
