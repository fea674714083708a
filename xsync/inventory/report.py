"""The inventory for people (a text tree) and for machines (a JSON document). Pure.

Patient identifiers (PatientID, PatientName, PatientBirthDate) and the patient-level free
text that often carries them (PatientComments, AdditionalPatientHistory) appear only when
`show_phi` is set.
"""

from __future__ import annotations

from typing import Any

from xsync.errors import Diagnostic
from xsync.model.inventory import DicomFile, Inventory, Series, Study
from xsync.render.safe import shown
from xsync.render.units import human_bytes, plural

JSON_FORMAT = "xsync-inventory/1"


def _date(value: str) -> str:
    return f"{value[0:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _time(value: str) -> str:
    digits = value.split(".")[0]
    return f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}" if len(digits) == 6 and digits.isdigit() else value


def render_text(inventory: Inventory, *, show_phi: bool = False) -> str:
    """Studies -> series with counts, bytes, dates and the scan IDs and types XNAT will give them."""
    studies = inventory.studies
    n_series = sum(len(s.series) for s in studies)
    n_instances = sum(s.n_instances for s in studies)
    n_bytes = sum(s.n_bytes for s in studies)
    lines = [
        f"{plural(len(studies), 'study', 'studies')}, {plural(n_series, 'series', 'series')}, "
        f"{plural(inventory.n_files, 'file')} ({plural(n_instances, 'instance')}, {human_bytes(n_bytes)}) "
        f"under {', '.join(inventory.roots)}",
    ]
    for study in studies:
        lines.append("")
        lines.extend(_study_lines(study, show_phi))
    # Descriptions, station names and paths come from headers and file names: one line each.
    return "\n".join(shown(line) for line in lines) + "\n"


def _study_lines(study: Study, show_phi: bool) -> list[str]:
    when = " ".join(p for p in (_date(study.date), _time(study.time)) if p) or "no date"
    scanner = ",".join(study.station_names) or "no station name"
    make = " ".join(p for p in (study.manufacturer, study.model) if p)
    lines = [
        f"study {study.uid}",
        f"  {when}  {study.description or '(no description)'}  {study.session_xsi_type or '(no session type)'}"
        f"  {scanner}{f' ({make})' if make else ''}",
    ]
    if show_phi:
        born = f", born {_date(study.birth_date)}" if study.birth_date else ""
        lines.append(f"  patient {study.patient_id!r} {study.patient_name!r}{born}")
    else:
        lines.append("  patient (hidden; --show-phi shows it)")
    lines.append(f"  in {study.common_path}")
    rows = [("scan", "type", "number", "description", "files", "instances", "frames", "size")]
    rows += [_series_row(s) for s in study.series]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {4, 5, 6, 7}
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("    " + "  ".join(cells).rstrip())
    return lines


def _series_row(s: Series) -> tuple[str, str, str, str, str, str, str, str]:
    return (
        s.scan_id,
        s.scan_xsi_type,
        s.number or "-",
        s.description or "(none)",
        f"{s.n_files:,}",
        f"{s.n_instances:,}",
        f"{s.frames:,}",
        human_bytes(s.n_bytes),
    )


def to_json(inventory: Inventory, *, show_phi: bool = False) -> dict[str, Any]:
    """The inventory as a JSON-ready document (format `xsync-inventory/1`, documented in the README)."""
    return {
        "format": JSON_FORMAT,
        "roots": list(inventory.roots),
        "digest": f"sha256:{inventory.digest}",
        "counts": {
            "studies": len(inventory.studies),
            "series": sum(len(s.series) for s in inventory.studies),
            "files": inventory.n_files,
            "instances": sum(s.n_instances for s in inventory.studies),
            "bytes": sum(s.n_bytes for s in inventory.studies),
        },
        "studies": [_study_json(s, show_phi) for s in inventory.studies],
        "diagnostics": [diagnostic_json(d) for d in inventory.diagnostics],
    }


def diagnostic_json(d: Diagnostic) -> dict[str, str]:
    return {"severity": str(d.severity), "file": d.file, "path": d.path, "message": d.message}


def _study_json(study: Study, show_phi: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "uid": study.uid,
        "date": study.date,
        "time": study.time,
        "description": study.description,
        "accession_number": study.accession_number,
        "study_id": study.study_id,
        "station_names": list(study.station_names),
        "manufacturer": study.manufacturer,
        "model": study.model,
        "operators": study.operators,
        "institution": study.institution,
        "magnetic_field_strength": study.magnetic_field_strength,
        "study_comments": study.study_comments,
        "modalities": list(study.modalities),
        "session_xsi_type": study.session_xsi_type,
        "roots": list(study.roots),
        "common_path": study.common_path,
        "patient": None,
    }
    if show_phi:
        doc["patient"] = {
            "id": study.patient_id,
            "name": study.patient_name,
            "birth_date": study.birth_date,
            "comments": study.patient_comments,
            "additional_history": study.additional_patient_history,
        }
    doc["series"] = [_series_json(s) for s in study.series]
    return doc


def _series_json(s: Series) -> dict[str, Any]:
    return {
        "scan_id": s.scan_id,
        "scan_xsi_type": s.scan_xsi_type,
        "uid": s.uid,
        "number": s.number,
        "description": s.description,
        "modality": s.modality,
        "protocol_name": s.protocol_name,
        "image_type": list(s.image_type),
        "sop_classes": list(s.sop_classes),
        "files": [_file_json(f) for f in s.files],
        "n_files": s.n_files,
        "n_instances": s.n_instances,
        "n_bytes": s.n_bytes,
        "frames": s.frames,
    }


def _file_json(f: DicomFile) -> dict[str, Any]:
    return {
        "path": f.path,
        "member": f.member,
        "size": f.size,
        "sop_instance_uid": f.sop_instance_uid,
        "sop_class_uid": f.sop_class_uid,
        "instance_number": f.instance_number,
        "number_of_frames": f.number_of_frames,
        "transfer_syntax_uid": f.transfer_syntax_uid,
        "gzipped": f.gzipped,
    }
