"""A whole site on disk — its spec and its DICOM — for tests, benchmarks and `xsync demo`:
subjects with demographics and custom variables, MR, PET and CT sessions of synthetic DICOM
(several series each, a secondary capture in the MR ones), scan-type rules, session fields of
every kind, and optionally NRG's real sample study bound to one more session.

Deterministic: the same shape writes the same bytes. No real patient data is written; the NRG
sample (when given) is linked in as it is, gzipped.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from xsync.testing.dicomgen import CT_IMAGE, PET_IMAGE, SECONDARY_CAPTURE, SeriesSpec, StudySpec, write_study


@dataclass(frozen=True)
class SiteShape:
    subjects: int = 10
    sessions_per_subject: int | tuple[int, ...] = 2  # or one count per subject
    instances: int = 3  # per series
    rows: int = 8  # pixel matrix of the synthetic images
    nrg_sample: Path | None = None  # ../shared/testdata/nrg/sample-mr: bound to one more session


def _mr(seed: str, instances: int) -> StudySpec:
    return StudySpec(
        patient_id=f"PID-{seed}", patient_name=f"Synthetic^{seed}", seed=seed, station_name="MRSTATION",
        study_description="BRAIN",
        series=(
            SeriesSpec(1, "localizer", instances=1, protocol_name="localizer"),
            SeriesSpec(2, "T1w_MPR", instances=instances, protocol_name="T1w_MPR"),
            SeriesSpec(3, "rfMRI_REST_AP", instances=instances, protocol_name="rfMRI_REST_AP"),
            SeriesSpec(4, "PhoenixZIPReport", instances=1, modality="OT",
                       sop_class_uid=SECONDARY_CAPTURE),
        ),
    )  # fmt: skip


def _pet(seed: str, instances: int) -> StudySpec:
    return StudySpec(
        patient_id=f"PID-{seed}", patient_name=f"Synthetic^{seed}", seed=seed, station_name="PETSTATION",
        study_description="FDG",
        series=(
            SeriesSpec(1, "PET_AC", instances=instances, modality="PT", sop_class_uid=PET_IMAGE),
            SeriesSpec(2, "PET_NAC", instances=instances, modality="PT", sop_class_uid=PET_IMAGE),
        ),
    )  # fmt: skip


def _ct(seed: str, instances: int) -> StudySpec:
    return StudySpec(
        patient_id=f"PID-{seed}", patient_name=f"Synthetic^{seed}", seed=seed, station_name="CTSTATION",
        study_description="HEAD",
        series=(SeriesSpec(2, "HEAD_STD", instances=instances, modality="CT", sop_class_uid=CT_IMAGE),),
    )  # fmt: skip


KINDS = (("mr", _mr), ("pet", _pet), ("ct", _ct))

RULES = [
    {"match": {"series_description": "T1w_MPR*"}, "set": {"type": "T1w", "quality": "usable", "coil": "HEAD_32"}},
    {"match": {"series_description": "/^rfMRI_/"}, "set": {"type": "rfMRI"}},
    {"match": {"series_description": "localizer"}, "set": {"type": "localizer", "quality": "unusable"}},
    {"match": {"modality": "PT"}, "set": {"type": "PET"}},
    {"match": {"modality": "CT"}, "set": {"type": "CT_HEAD"}},
]


def write_site(root: Path, project: str, shape: SiteShape = SiteShape(), *, server: str | None = None) -> Path:
    """Write the site under `root` and return its spec's path (`root/xsync.yaml`); `server` goes
    into the spec's `server:` when given."""
    root.mkdir(parents=True, exist_ok=True)
    subjects: dict[str, object] = {}
    n = 0
    for s in range(1, shape.subjects + 1):
        label = f"sub{s:02d}"
        sessions: dict[str, object] = {}
        per = shape.sessions_per_subject
        count = per if isinstance(per, int) else per[(s - 1) % len(per)]
        for v in range(1, count + 1):
            kind, make = KINDS[n % len(KINDS)]
            n += 1
            session = f"{label}_{kind}{v}"
            study = make(f"{project}-{session}", shape.instances)
            write_study(study, root / "dicom" / label / session, rows=shape.rows, cols=shape.rows)
            sessions[session] = _session(kind, session, v)
        subjects[label] = {
            "gender": "female" if s % 2 else "male",
            "age": 20 + s,
            "fields": {"site": "WU" if s % 3 else "UMN", "cohort": f"C{s % 2}"},
            "sessions": sessions,
        }
    if shape.nrg_sample is not None:
        target = root / "dicom" / "nrg" / "sample"
        shutil.copytree(shape.nrg_sample, target, dirs_exist_ok=True)
        subjects["nrg01"] = {
            "gender": "male",
            "fields": {"site": "NRG"},
            "sessions": {
                "nrg01_mr1": {
                    "scanner": "TrioTim",
                    "fields": {"visit": "baseline"},
                    "dicom": {"path": "dicom/nrg/sample"},
                    "scans": {"4": {"type": "T1w", "quality": "usable"}, "5": {"type": "T2w"}, "6": {"type": "FLAIR"}},
                }
            },
        }
    spec: dict[str, object] = {
        "version": 1,
        **({"server": server} if server else {}),
        "project": project,
        "dicom": {"roots": ["dicom/"]},
        "upload": {"method": "rest", "dest": "archive"},
        "rules": {"scans": RULES},
        "subjects": subjects,
    }
    path = root / "xsync.yaml"
    # JSON is YAML: the spec stays plain and diffable without a YAML writer here
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path


def _session(kind: str, label: str, visit: int) -> dict[str, object]:
    base: dict[str, object] = {
        "xsi_type": kind,
        "visit_id": f"v{visit}",
        "fields": {"visit": f"visit{visit}", "protocol_version": "2.1"},
        "dicom": {"path": f"dicom/{label.split('_')[0]}/{label}"},
    }
    if kind == "mr":
        base |= {"fieldStrength": "3.0", "operator": "Tech&Co"}
    elif kind == "pet":
        base |= {"tracer_name": "FDG", "tracer_isotope": "F-18", "stabilization": "head holder"}
    else:
        base |= {"acquisition_site": "CT suite <B>"}
    return base
