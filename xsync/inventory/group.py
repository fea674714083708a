"""Files -> series -> studies, with XNAT's predictions and every problem named. Pure: the one
thing that needs the files' bytes (telling copies of an instance apart) is a callback."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from itertools import chain, groupby
from operator import itemgetter

from xsync.dicom.scanids import SeriesKey, assign_scan_ids
from xsync.dicom.sop import is_primary, scan_type, session_type
from xsync.errors import Diagnostic, Severity
from xsync.inventory.items import SHARED_INDEX, Item, Shared
from xsync.model.inventory import DicomFile, Inventory, Series, Study

ContentId = Callable[[DicomFile], str]  # a digest of a file's DICOM bytes
_first = itemgetter(0)
_second = itemgetter(1)
_shared_of = itemgetter(1)  # of an Item
_sop_of = itemgetter(DicomFile._fields.index("sop_instance_uid"))
_size_of = itemgetter(DicomFile._fields.index("size"))
_frames_of = itemgetter(DicomFile._fields.index("number_of_frames"))
_STUDY = SHARED_INDEX["study_instance_uid"]
_SERIES = SHARED_INDEX["series_instance_uid"]
_SOP_CLASS = SHARED_INDEX["sop_class_uid"]

_NAMED_FILES = 20  # a diagnostic lists at most this many files, then says how many more

# Session fields XNAT keeps only when every file agrees (DICOM-IMPORT.md §2.3), by Header field.
_STUDY_FIELDS = (
    "patient_id", "patient_name", "patient_birth_date", "study_date", "study_time", "study_description",
    "accession_number", "study_id", "manufacturer", "manufacturer_model_name", "operators_name",
    "institution_name", "magnetic_field_strength", "patient_comments", "study_comments",
    "additional_patient_history",
)  # fmt: skip
_SERIES_FIELDS = ("series_number", "series_description", "modality", "protocol_name", "image_type")


def _name_files(files: Iterable[DicomFile]) -> str:
    names = sorted({f.location for f in files})
    shown = ", ".join(names[:_NAMED_FILES])
    return shown if len(names) <= _NAMED_FILES else f"{shown} and {len(names) - _NAMED_FILES} more"


def build_inventory(
    roots: Sequence[str],
    items: Iterable[Item],
    problems: Iterable[Diagnostic] = (),
    content_id: ContentId | None = None,
) -> Inventory:
    """Group the items found under `roots` into an Inventory.

    `problems` are the diagnostics found so far (walk, read). `content_id` tells copies of one
    SOP instance apart when they have the same size; without it, same-size copies are taken
    as identical.
    """
    diagnostics: list[Diagnostic] = list(problems)
    by_series: dict[tuple[str, str], list[Item]] = defaultdict(list)
    seriesless: dict[str, list[DicomFile]] = defaultdict(list)
    # The files of a series usually come in runs sharing one series-level object: sorted by
    # run, not file by file.
    items = list(items)
    for _, run in groupby(zip(map(id, map(_shared_of, items)), items, strict=True), key=_first):
        run_items = list(map(_second, run))
        shared = run_items[0][1]
        study, series = shared[_STUDY], shared[_SERIES]
        if study and all(map(_sop_of, map(_first, run_items))):
            if series:
                by_series[(study, series)].extend(run_items)
            else:
                seriesless[study].extend(map(_first, run_items))
            continue
        for item in run_items:
            f = item[0]
            if not f.study_uid or not f.sop_instance_uid:
                missing = " and ".join(
                    n for n, v in (("StudyInstanceUID", f.study_uid), ("SOPInstanceUID", f.sop_instance_uid)) if not v
                )
                diagnostics.append(_error(f.location, f"DICOM without {missing}: XNAT cannot import it"))
            elif not f.series_uid:
                seriesless[f.study_uid].append(f)
            else:
                by_series[(f.study_uid, f.series_uid)].append(item)

    diagnostics.extend(_seriesless(seriesless))
    diagnostics.extend(_duplicate_instances(by_series.values(), content_id))
    diagnostics.extend(_series_in_several_studies(by_series))

    by_study: dict[str, list[tuple[str, list[Item]]]] = defaultdict(list)
    for (study_uid, series_uid), series_items in by_series.items():
        by_study[study_uid].append((series_uid, series_items))
    studies = []
    for study_uid in sorted(by_study):
        root_indexes = {it[2] for _, series_items in by_study[study_uid] for it in series_items}
        study, found_problems = _study(study_uid, by_study[study_uid], tuple(roots[i] for i in sorted(root_indexes)))
        studies.append(study)
        diagnostics.extend(found_problems)
    return Inventory(roots=tuple(roots), studies=tuple(studies), diagnostics=tuple(sorted(set(diagnostics))))


def _error(where: str, message: str) -> Diagnostic:
    return Diagnostic(file=where, message=message, severity=Severity.ERROR)


def _warning(where: str, message: str) -> Diagnostic:
    return Diagnostic(file=where, message=message, severity=Severity.WARNING)


def _seriesless(by_study: dict[str, list[DicomFile]]) -> list[Diagnostic]:
    """Files with no SeriesInstanceUID cannot become a scan; one error per study names them."""
    return [
        Diagnostic(
            file=min(f.location for f in files),
            path=f"study {study_uid}",
            message=f"{len(files)} file(s) without SeriesInstanceUID, left out: {_name_files(files)}",
            severity=Severity.ERROR,
        )
        for study_uid, files in sorted(by_study.items())
    ]


def _duplicate_instances(series: Collection[list[Item]], content_id: ContentId | None) -> list[Diagnostic]:
    sops = list(map(_sop_of, map(_first, chain.from_iterable(series))))
    if len(set(sops)) == len(sops):  # the usual case, found without a step per file
        return []
    first: dict[str, DicomFile] = {}
    copies: dict[str, list[DicomFile]] = {}
    for items in series:
        for f, _, _ in items:
            seen = first.setdefault(f.sop_instance_uid, f)
            if seen is not f:
                copies.setdefault(f.sop_instance_uid, [seen]).append(f)
    out = []
    for sop, files in sorted(copies.items()):
        files.sort(key=_file_order)
        if len({f.size for f in files}) > 1:
            identical = False
        elif content_id is None:
            identical = True
        else:
            identical = len({content_id(f) for f in files}) == 1
        where = f"SOP instance {sop}"
        if identical:
            text = f"{len(files)} identical copies (counted once): {_name_files(files)}"
            out.append(Diagnostic(file=files[0].location, path=where, message=text, severity=Severity.WARNING))
        else:
            text = f"{len(files)} files with different content claim this instance: {_name_files(files)}"
            out.append(Diagnostic(file=files[0].location, path=where, message=text, severity=Severity.ERROR))
    return out


def _series_in_several_studies(by_series: dict[tuple[str, str], list[Item]]) -> list[Diagnostic]:
    studies_of: dict[str, list[str]] = defaultdict(list)
    for study_uid, series_uid in by_series:
        studies_of[series_uid].append(study_uid)
    out = []
    for series_uid, study_uids in sorted(studies_of.items()):
        if len(study_uids) < 2:
            continue
        parts = "; ".join(
            f"study {uid}: {_name_files(it[0] for it in by_series[(uid, series_uid)])}" for uid in sorted(study_uids)
        )
        first = min(it[0].location for uid in study_uids for it in by_series[(uid, series_uid)])
        out.append(
            Diagnostic(
                file=first,
                path=f"series {series_uid}",
                message=f"one series split across {len(study_uids)} studies (XNAT makes a scan in each): {parts}",
                severity=Severity.ERROR,
            )
        )
    return out


def _file_order(f: DicomFile) -> tuple[str, str]:
    return (f.path, f.member or "")


def _agreed(shared: Iterable[Shared], names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The values of `names` that the headers holding them agree on ("" where they differ, as
    XNAT leaves such fields out; files without the element have no say), and the names they
    disagree on. `shared` holds the distinct series-level parts (`Header[INSTANCE_FIELDS:]`)."""
    values: dict[str, str] = {}
    conflicts: list[str] = []
    for name in names:
        index = SHARED_INDEX[name]
        distinct = {t[index] for t in shared} - {""}
        values[name] = distinct.pop() if len(distinct) == 1 else ""
        if len(distinct) > 1:
            conflicts.append(name)
    return values, conflicts


def _series(uid: str, items: list[Item]) -> tuple[Series, set[Shared], list[str]]:
    """The series record (without its scan ID), the distinct series-level parts of its headers,
    and the names of fields its files disagree on."""
    items.sort(key=_first)  # by path, then member: no two files share both
    # Series-level parts: usually one object shared by the whole series; dedupe by identity first.
    shareds = list(map(_shared_of, items))
    shared = set(dict(zip(map(id, shareds), shareds, strict=True)).values())
    values, conflicts = _agreed(shared, _SERIES_FIELDS)
    files = tuple(map(_first, items))
    classes = {t[_SOP_CLASS] for t in shared}
    sop_classes = tuple(sorted(classes - {""}))
    xsi_type = scan_type(sop_classes)
    # The first file of each SOP instance: a dict keeps the last value it is given for a key.
    distinct = dict(zip(map(_sop_of, reversed(files)), reversed(files), strict=True))
    # XNAT counts frames of primary imaging objects only: a screenshot in an MR series is not a
    # frame, and a series of screenshots has none.
    counted = [f for f in distinct.values() if is_primary(f.sop_class_uid)]
    series = Series(
        uid=uid,
        number=values["series_number"],
        description=values["series_description"],
        modality=values["modality"],
        protocol_name=values["protocol_name"],
        image_type=tuple(values["image_type"].split("\\")) if values["image_type"] else (),
        sop_classes=sop_classes,
        files=files,
        n_instances=len(distinct),
        n_bytes=sum(map(_size_of, distinct.values())),
        frames=sum(map(_frames_of, counted)),
        scan_id="",
        scan_xsi_type="xnat:" + xsi_type,
    )
    return series, shared, conflicts


def _study(uid: str, by_series: list[tuple[str, list[Item]]], roots: tuple[str, ...]) -> tuple[Study, list[Diagnostic]]:
    problems: list[Diagnostic] = []
    built: dict[str, Series] = {}
    modalities: dict[str, frozenset[str]] = {}
    shared: set[Shared] = set()
    for series_uid, items in by_series:
        series, series_shared, series_conflicts = _series(series_uid, items)
        built[series_uid] = series
        shared |= series_shared
        modalities[series_uid] = frozenset(t[SHARED_INDEX["modality"]] for t in series_shared) - {""}
        if series_conflicts:
            problems.append(
                _warning(
                    series.files[0].location,
                    f"files of series {series_uid} disagree on {', '.join(series_conflicts)}; XNAT leaves these out",
                )
            )
    first_file = min(s.files[0].location for s in built.values())
    values, conflicts = _agreed(shared, _STUDY_FIELDS)
    if conflicts:
        problems.append(
            _warning(first_file, f"files of study {uid} disagree on {', '.join(conflicts)}; XNAT leaves these out")
        )
    keys = [SeriesKey(uid=s.uid, number=s.number, modalities=modalities[s.uid]) for s in built.values()]
    ordered = tuple(replace(built[key.uid], scan_id=scan_id) for scan_id, key in assign_scan_ids(keys))
    if len(roots) > 1:
        problems.append(_warning(first_file, f"study {uid} is spread over {len(roots)} roots: {', '.join(roots)}"))
    all_modalities = sorted({m for ms in modalities.values() for m in ms})
    session = session_type({c for s in ordered for c in s.sop_classes}, all_modalities)
    # Paths sort so that the first and the last share every leading directory all of them share.
    paths = [p for s in ordered for p in (s.files[0].path, s.files[-1].path)]
    study = Study(
        uid=uid,
        patient_id=values["patient_id"],
        patient_name=values["patient_name"],
        birth_date=values["patient_birth_date"],
        date=values["study_date"],
        time=values["study_time"],
        description=values["study_description"],
        accession_number=values["accession_number"],
        study_id=values["study_id"],
        station_names=tuple(sorted({t[SHARED_INDEX["station_name"]] for t in shared} - {""})),
        manufacturer=values["manufacturer"],
        model=values["manufacturer_model_name"],
        operators=values["operators_name"],
        institution=values["institution_name"],
        magnetic_field_strength=values["magnetic_field_strength"],
        patient_comments=values["patient_comments"],
        study_comments=values["study_comments"],
        additional_patient_history=values["additional_patient_history"],
        modalities=tuple(all_modalities),
        roots=roots,
        common_path=os.path.commonpath([min(paths), max(paths)]),
        session_xsi_type="xnat:" + session if session else "",
        series=ordered,
    )
    return study, problems
