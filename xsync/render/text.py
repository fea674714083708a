"""A plan as terraform-like text: `+` create/import, `~` update in place, `-` delete, one block
per operation with `before -> after` values, and a summary line. ANSI colour only when asked
(the CLI decides from the terminal and NO_COLOR)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import assert_never

from xsync.plan.mask import masked
from xsync.plan.ops import (
    AppendSeries,
    CreateSubject,
    DeleteScan,
    DeleteSession,
    DeleteSubject,
    FieldChange,
    ImportSession,
    Operation,
    RenameSession,
    RenameSubject,
    ResendInstances,
    SeriesImport,
    UpdateScan,
    UpdateSession,
    UpdateSubject,
)
from xsync.plan.plan import Plan, Summary
from xsync.render.safe import shown
from xsync.render.units import human_bytes, plural

_COLOURS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m", "#": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"


class Painter:
    """Every line of an operation goes through here, so this is where the labels, IDs and values
    it quotes (from the server and DICOM headers) are made safe: the only escape sequences the
    text can hold are the painter's own colours."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        text = shown(text)
        return f"{_COLOURS[style]}{text}{_RESET}" if self.color and text else text


def quote(value: str | None) -> str:
    return "(unset)" if value is None else json.dumps(value, ensure_ascii=False)


def _field_name(c: FieldChange) -> str:
    return f"fields.{c.name}" if c.custom else c.name


def change_lines(changes: Iterable[FieldChange], paint: Painter, indent: str = "      ") -> list[str]:
    changes = list(changes)
    width = max((len(_field_name(c)) for c in changes), default=0)
    lines = []
    for c in changes:
        name = _field_name(c).ljust(width)
        note = f"  # {c.source}" if c.source not in ("spec", "") else ""
        if c.before is None:
            lines.append(paint("+", f"{indent}+ {name} = {quote(c.after)}") + paint("#", note))
        elif c.after is None:
            lines.append(paint("-", f"{indent}- {name} = {quote(c.before)}") + paint("#", note))
        else:
            lines.append(paint("~", f"{indent}~ {name} = {quote(c.before)} -> {quote(c.after)}") + paint("#", note))
    return lines


_DONE_TO = {"set": "set", "blank": "blanked", "remove": "removed", "route": "set to route the session"}


def _sending_lines(op: ImportSession | AppendSeries | ResendInstances, paint: Painter) -> list[str]:
    """How the DICOM travels, and which headers change on the way (names only: the values may
    identify a patient)."""
    lines = [paint("#", "      # sent over DICOM C-STORE")] if op.via == "cstore" else []
    if op.headers:
        edits = ", ".join(f"{h.attribute} {_DONE_TO[h.action]}" for h in op.headers)
        lines.append(paint("#", f"      # headers as sent (local files unchanged): {edits}"))
    return lines


def _series_lines(series: Iterable[SeriesImport], paint: Painter) -> list[str]:
    series = list(series)
    width = max((len(s.scan_id) for s in series), default=0)
    return [
        paint(
            "+",
            f"      + scan {s.scan_id.ljust(width)}  {quote(s.description)}  {s.xsi_type}, "
            f"{plural(s.instances, 'file')}, {human_bytes(s.bytes)}",
        )
        for s in series
    ]


def operation_lines(op: Operation, paint: Painter) -> list[str]:
    """The block of one operation: a `#` comment saying what happens, then the object."""
    a = op.address
    match op:
        case RenameSubject():
            return [
                paint("#", f"  # {a}: subject will be renamed (declared in moved)"),
                paint("~", f"  ~ subject {a.subject} ({op.subject_id}) renamed from {op.from_label}"),
            ]
        case RenameSession():
            return [
                paint("#", f"  # {a}: session will be renamed (declared in moved); its scans and files stay"),
                paint("~", f"  ~ session {a.session} ({op.session_id}) renamed from {op.from_label}"),
            ]
        case CreateSubject():
            return [
                paint("#", f"  # {a}: subject will be created"),
                paint("+", f"  + subject {a.subject}"),
                *change_lines(op.fields, paint),
            ]
        case UpdateSubject():
            return [
                paint("#", f"  # {a}: subject will be updated in place"),
                paint("~", f"  ~ subject {a.subject} ({op.subject_id})"),
                *change_lines(op.changes, paint),
            ]
        case ImportSession():
            waiting = f"; the study already waits in the prearchive ({op.prearchive})" if op.prearchive else ""
            return [
                paint(
                    "#",
                    f"  # {a}: session will be imported from DICOM study {op.study_uid} "
                    f"({plural(len(op.series), 'series', 'series')}, {plural(op.instances, 'file')}, "
                    f"{human_bytes(op.bytes)}){waiting}",
                ),
                paint("+", f"  + session {a.session} ({op.xsi_type})"),
                *_sending_lines(op, paint),
                *_series_lines(op.series, paint),
            ]
        case AppendSeries():
            return [
                paint(
                    "#",
                    f"  # {a}: {plural(len(op.series), 'series', 'series')} will be appended "
                    f"({plural(op.instances, 'file')}, {human_bytes(op.bytes)})",
                ),
                paint("~", f"  ~ session {a.session} ({op.session_id})"),
                *_sending_lines(op, paint),
                *_series_lines(op.series, paint),
            ]
        case ResendInstances():
            missing = op.local_instances - op.remote_files
            return [
                paint(
                    "#",
                    f"  # {a}: {missing} of {op.local_instances} instances are missing on the server; the series "
                    f"will be sent again ({plural(op.local_instances, 'file')}, {human_bytes(op.bytes)})",
                ),
                paint("~", f"  ~ scan {a.scan} (series {op.series_uid})"),
                paint("~", f"      ~ DICOM files = {op.remote_files} -> {op.local_instances}"),
                *_sending_lines(op, paint),
            ]
        case UpdateSession():
            when = " after the import" if op.after_import else ""
            ident = f" ({op.session_id})" if op.session_id else ""
            return [
                paint("#", f"  # {a}: session will be updated in place{when}"),
                paint("~", f"  ~ session {a.session}{ident}"),
                *change_lines(op.changes, paint),
            ]
        case UpdateScan():
            when = " after the import" if op.after_import else ""
            return [
                paint("#", f"  # {a}: scan will be updated in place{when}"),
                paint("~", f"  ~ scan {a.scan}"),
                *change_lines(op.changes, paint),
            ]
        case DeleteSubject():
            return [
                paint(
                    "#",
                    f"  # {a}: subject will be DELETED with its {plural(op.sessions, 'session')} "
                    "(the spec marks it absent)",
                ),
                paint("-", f"  - subject {a.subject} ({op.subject_id})"),
            ]
        case DeleteSession():
            return [
                paint(
                    "#",
                    f"  # {a}: session will be DELETED with its {plural(op.scans, 'scan')} (the spec marks it absent)",
                ),
                paint("-", f"  - session {a.session} ({op.session_id})"),
            ]
        case DeleteScan():
            return [
                paint(
                    "#", f"  # {a}: scan will be DELETED with its {plural(op.files, 'file')} (the spec marks it absent)"
                ),
                paint("-", f"  - scan {a.scan}"),
            ]
        case _:
            assert_never(op)


def summary_line(summary: Summary) -> str:
    imports = f"{summary.import_} to import"
    if summary.import_:
        imports += f" ({plural(summary.import_files, 'file')}, {human_bytes(summary.import_bytes)})"
    return f"Plan: {summary.create} to create, {imports}, {summary.change} to change, {summary.delete} to delete."


def render_text(plan: Plan, *, color: bool = False, show_phi: bool = False) -> str:
    """Unmanaged objects are listed when the plan holds them (`plan --show-unmanaged`); patient
    identifiers only with `show_phi`."""
    plan = plan if show_phi else masked(plan)
    paint = Painter(color)
    lines = [paint("bold", f"xsync plan for project {plan.project} at {plan.server}"), ""]
    if plan.operations:
        lines += [
            "Symbols: " + paint("+", "+ create or import") + ", " + paint("~", "~ update in place") + ", "
            + paint("-", "- delete"),
            "",
            "xsync will perform the following actions:",
            "",
        ]  # fmt: skip
        for op in plan.operations:
            lines += operation_lines(op, paint)
            lines.append("")
    lines += _pending_lines(plan)
    if plan.notes:
        lines += ["Not checked:", *(f"  {shown(n)}" for n in plan.notes), ""]
    if plan.unmanaged:
        lines.append("Objects on the server that the spec does not mention (never changed):")
        lines += [f"  {shown(str(a))}" for a in plan.unmanaged]
        lines.append("")
    if plan.operations:
        if plan.summary.delete:
            lines.append(paint("-", "Deletions are applied only with `xsync apply --allow-delete`."))
        lines.append(paint("bold", summary_line(plan.summary)))
    else:
        lines.append(paint("bold", "No changes. The project matches the spec."))
    return "\n".join(lines) + "\n"


def _pending_lines(plan: Plan) -> list[str]:
    if not plan.pending:
        return []
    lines = ["Sessions waiting in the prearchive:"]
    others = 0
    for p in plan.pending:
        if p.session:
            lines.append(shown(f"  {p.session}  {p.status}  since {p.timestamp}  (study {p.study_uid})"))
        else:
            others += 1
    if others:
        lines.append(f"  {plural(others, 'other session')} the spec does not bind")
    return [*lines, ""]
