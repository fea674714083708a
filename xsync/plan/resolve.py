"""Spec + local DICOM inventory -> the desired state.

Each session's `dicom:` binding selects exactly one study of the inventory; its series become
the session's scans under the IDs XNAT will give them; scan fields come from the spec's scan
entries, then the rules (matched on each series' headers), then `defaults.scan`. Problems are
collected — every one of them, located in the spec — and raised together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from xsync.errors import Diagnostic, PlanError
from xsync.model.desired import (
    DesiredScan,
    DesiredSession,
    DesiredState,
    DesiredSubject,
    FieldValue,
    LocalSeries,
    LocalStudy,
    Relabel,
)
from xsync.model.fields import FIELDS, Level
from xsync.model.frozen import FrozenMap
from xsync.model.inventory import Inventory, Series, Study
from xsync.plan.predict import remapped
from xsync.plan.predict import scan_fields as predicted_scan_fields
from xsync.plan.predict import session_fields as predicted_session_fields
from xsync.spec.model import Scan, Session, Spec, Subject, field_values
from xsync.spec.remap import HeaderChange, header_changes
from xsync.spec.rules import match_scan_rules, resolve_scan_fields

Values = Mapping[str, str]


def _split(values: Values, source: str = "spec") -> tuple[FrozenMap[str, FieldValue], FrozenMap[str, FieldValue]]:
    """`field_values` output -> (fields, custom variables)."""
    fields = {k: FieldValue(v, source) for k, v in values.items() if not k.startswith("fields.")}
    custom = {k.removeprefix("fields."): FieldValue(v, source) for k, v in values.items() if k.startswith("fields.")}
    return FrozenMap(fields), FrozenMap(custom)


def series_attributes(series: Series) -> dict[str, str | int | tuple[str, ...]]:
    """What scan rules match on."""
    attrs: dict[str, str | int | tuple[str, ...]] = {
        "series_description": series.description,
        "protocol_name": series.protocol_name,
        "modality": series.modality,
        "image_type": series.image_type,
    }
    if series.number.strip().lstrip("+-").isdigit():
        attrs["series_number"] = int(series.number)
    return attrs


def local_series(series: Series, study: Study) -> LocalSeries:
    return LocalSeries(
        uid=series.uid,
        scan_id=series.scan_id,
        xsi_type=series.scan_xsi_type,
        description=series.description,
        instances=series.n_instances,
        bytes=series.n_bytes,
        predicted=FrozenMap(predicted_scan_fields(series, study)),
    )


def local_study(study: Study, changes: tuple[HeaderChange, ...] = ()) -> LocalStudy:
    """The study with what XNAT will make of it: its headers as sent (`changes` made)."""
    sent = remapped(study, changes)
    return LocalStudy(
        uid=study.uid,
        date=predicted_session_fields(sent).get("date", ""),
        xsi_type=study.session_xsi_type,
        series=tuple(local_series(s, sent) for s in sent.series),
        predicted=FrozenMap(predicted_session_fields(sent)),
        headers=tuple((c.keyword, c.action) for c in changes),
    )


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


class _Resolver:
    def __init__(
        self, spec: Spec, inventory: Inventory | None, real_paths: Mapping[Path, Path], shown_from: Path | None
    ) -> None:
        self.spec = spec
        self.inventory = inventory
        self.real_paths = real_paths
        self.shown_from = shown_from
        self.problems: list[Diagnostic] = []
        self.bound: dict[str, tuple[str, ...]] = {}  # study UID -> the spec path that bound it

    def problem(self, path: tuple[str, ...], message: str) -> None:
        where = self.spec.locate(path)
        self.problems.append(
            Diagnostic(
                file=self._shown(where.file) if where else "",
                line=where.line if where else 0,
                col=where.col if where else 0,
                path=".".join(path),
                message=message,
            )
        )

    def state(self) -> DesiredState:
        subjects = {label: self.subject(label, s) for label, s in self.spec.subjects.items()}
        if self.problems:
            n = len(self.problems)
            raise PlanError(
                f"the spec does not resolve against the local DICOM ({n} problem{'s' if n != 1 else ''})",
                "\n".join(str(p) for p in self.problems),
            )
        moves = sorted(self.spec.moved, key=lambda m: bool(m.subject))  # subjects first, then sessions
        return DesiredState(
            self.spec.project,
            FrozenMap(subjects),
            via=self.spec.upload.method,
            moves=tuple(Relabel(m.source, m.target, m.subject) for m in moves),
        )

    def subject(self, label: str, subject: Subject) -> DesiredSubject:
        if subject.absent:
            return DesiredSubject(label, absent=True)
        fields, custom = _split(field_values(subject))
        sessions = {
            s_label: self.session(("subjects", label, "sessions", s_label), s_label, session)
            for s_label, session in subject.sessions.items()
        }
        return DesiredSubject(label, fields, custom, sessions=FrozenMap(sessions))

    def session(self, path: tuple[str, ...], label: str, session: Session) -> DesiredSession:
        if session.absent:
            return DesiredSession(label, session.xsi_type, absent=True)
        fields, custom = _split(field_values(session))
        study = self.bind(path, session) if session.dicom is not None else None
        binding = session.dicom
        remote_study = binding.study_uid if binding and binding.study_uid and study is None else ""
        if study is not None and study.session_xsi_type and study.session_xsi_type != session.xsi_type:
            self.problem(
                (*path, "xsi_type"),
                f"the bound DICOM study will be imported as {study.session_xsi_type}, not {session.xsi_type}",
            )
        changes = header_changes(self.spec, path[1], label) if study is not None else ()
        sent = remapped(study, changes) if study is not None else None
        scans = self.scans(path, session, study, sent)
        return DesiredSession(
            label,
            session.xsi_type,
            fields,
            custom,
            study=local_study(study, changes) if study is not None else None,
            scans=FrozenMap(scans),
            remote_study=remote_study or "",
        )

    def scans(
        self, path: tuple[str, ...], session: Session, study: Study | None, sent: Study | None
    ) -> dict[str, DesiredScan]:
        """`sent` is the study with its headers as sent: rules match the local headers, the
        predictions read the sent ones."""
        out: dict[str, DesiredScan] = {}
        if study is not None and sent is not None:
            for series, sent_series in zip(study.series, sent.series, strict=True):
                out[series.scan_id] = self.scan_of_series(path, session, sent, series, sent_series)
        for scan_id, written in session.scans.items():
            if scan_id not in out:
                values = resolve_scan_fields(written, None, self.spec.defaults.scan)
                out[scan_id] = DesiredScan(
                    scan_id, FrozenMap({k: FieldValue(v) for k, v in values.items()}), absent=written.absent
                )
        return out

    def scan_of_series(
        self, path: tuple[str, ...], session: Session, sent: Study, series: Series, sent_series: Series
    ) -> DesiredScan:
        """A local series' scan: fields written on it, else set by rules, else scan defaults."""
        written: Scan | None = session.scans.get(series.scan_id)
        written_names = set(field_values(written)) if written is not None else set()
        outcome = match_scan_rules(self.spec.rules, series_attributes(series))
        for conflict in outcome.conflicts:
            if conflict.field in written_names:
                continue  # a value written on the scan wins over every rule
            said = ", ".join(f"rule {i + 1} sets {v!r}" for i, v in conflict.values)
            self.problem(
                (*path, "dicom"),
                f"scan {series.scan_id} ({series.description!r}): rules disagree on {conflict.field}: {said}",
            )
        values = resolve_scan_fields(written, outcome, self.spec.defaults.scan)
        sources = {
            name: "spec" if name in written_names else (
                f"rule {outcome.set_by[name] + 1}" if name in outcome.set_by else "defaults"
            )
            for name in values
        }  # fmt: skip
        for name in list(values):
            definition = FIELDS[Level.SCAN].get(name)
            if definition is None or definition.applies_to(series.scan_xsi_type):
                continue
            if sources[name] == "defaults":
                del values[name]  # defaults give a field only to the scans that have it
                continue
            where = (
                (*path, "scans", series.scan_id, name)
                if name in written_names
                else ("rules", "scans", str(outcome.set_by[name]), "set", name)
            )
            self.problem(where, f"scan {series.scan_id} will be a {series.scan_xsi_type}, which has no {name}")
        return DesiredScan(
            series.scan_id,
            FrozenMap({k: FieldValue(v, sources[k]) for k, v in values.items()}),
            absent=written.absent if written is not None else False,
            series=local_series(sent_series, sent),
        )

    def bind(self, path: tuple[str, ...], session: Session) -> Study | None:
        binding = session.dicom
        assert binding is not None
        where = (*path, "dicom")
        if binding.study_uid is not None:
            # Not in the local DICOM (or no DICOM scanned): the server must already hold it, which
            # the diff checks; the files are needed only to import.
            local = self.inventory.study(binding.study_uid) if self.inventory is not None else None
            if local is None:
                return None
            found: tuple[Study, ...] = (local,)
            what = f"StudyInstanceUID {binding.study_uid}"
        elif self.inventory is None:
            self.problem(where, "the session is bound to DICOM but no DICOM roots were scanned (dicom.roots)")
            return None
        elif binding.path is not None:
            # The inventory records where files really are; the spec's path may pass a symlink.
            paths = {str(binding.path), str(self.real_paths.get(binding.path, binding.path))}
            found = tuple(s for s in self.inventory.studies if any(_is_under(s.common_path, p) for p in paths))
            what = f"path {self._shown(binding.path)}"
        else:
            date = binding.study_date  # YYYY-MM-DD
            found = self.inventory.studies_for_patient(binding.patient_id or "", date)
            what = "the given patient_id" + (f" and study_date {date}" if date else "")
        if not found:
            assert self.inventory is not None  # a study UID not found returned above
            roots = ", ".join(self._shown(Path(r)) for r in self.inventory.roots) or "(none)"
            self.problem(where, f"no local DICOM study matches {what} (scanned: {roots})")
            return None
        if len(found) > 1:
            candidates = "; ".join(_describe(s) for s in found)
            self.problem(where, f"{len(found)} local DICOM studies match {what}: {candidates}")
            return None
        study = found[0]
        earlier = self.bound.get(study.uid)
        if earlier is not None:
            self.problem(where, f"study {study.uid} is already bound by {'.'.join(earlier)}")
            return None
        self.bound[study.uid] = path
        return study

    def _shown(self, path: Path) -> str:
        """A path as `validate` shows them: relative to the folder the command runs in."""
        if self.shown_from is None or not path.is_absolute():
            return str(path)
        return os.path.relpath(path, self.shown_from)


def _describe(study: Study) -> str:
    """A study named without patient identifiers."""
    date = f"{study.date[0:4]}-{study.date[4:6]}-{study.date[6:8]}" if len(study.date) >= 8 else "no date"
    return f"{study.uid} ({date}, {len(study.series)} series, {study.n_instances} instances)"


def resolve(
    spec: Spec,
    inventory: Inventory | None,
    *,
    real_paths: Mapping[Path, Path] | None = None,
    shown_from: Path | None = None,
) -> DesiredState:
    """Raises PlanError listing every binding, rule and field problem, located in the spec.

    Pure: `real_paths` maps binding paths to their resolved form (symlinks followed; the caller
    looks at the disk), `shown_from` is the folder messages show paths relative to.
    """
    return _Resolver(spec, inventory, real_paths or {}, shown_from).state()
