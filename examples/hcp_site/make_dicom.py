"""Writes the synthetic DICOM this example's spec binds: six studies of three subjects, bound in
each of the spec's three ways (StudyInstanceUID, folder, PatientID with StudyDate), with series
that the spec's scan-type rules recognise.

No real patient data: every header value below is made up, the UIDs in the spec are written
into the files, and the others derive from a seed, so running this again writes the same bytes
(tests/unit/test_spec_examples.py checks that against the committed files).

    python examples/hcp_site/make_dicom.py [OUT_DIR]     # default: this folder
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from xsync.testing.dicomgen import CT_IMAGE, PET_IMAGE, SECONDARY_CAPTURE, SeriesSpec, StudySpec, write_study

PRISMA = StudySpec(
    birth_date="",
    accession_number="",
    study_description="HCP",
    station_name="PRISMA01",
    manufacturer="SIEMENS",
    model="Prisma",
    institution="Synthetic Site",
    operators_name="",
    seed="xsync-example-hcp_site",
)


def _mr(*series: tuple[int, str, int]) -> tuple[SeriesSpec, ...]:
    return tuple(SeriesSpec(n, d, instances=k, protocol_name=d) for n, d, k in series)


STUDIES: dict[str, StudySpec] = {
    # bound by StudyInstanceUID (HCP001.yaml); scan 7 gets its quality from the spec
    "HCP001/3T": replace(
        PRISMA, patient_id="HCPSYN001", patient_name="Synthetic^HCP001", study_date="20240304",
        study_uid="2.25.300412345678901234567890",
        series=_mr((1, "localizer", 1), (2, "T1w_MPR1", 2), (3, "T2w_SPC1", 2), (5, "rfMRI_REST1_AP_SBRef", 1),
                   (6, "rfMRI_REST1_AP", 2), (7, "tfMRI_WM_PA", 2), (8, "SpinEchoFieldMap_AP", 1)),
    ),
    # bound by folder; a 7T scanner
    "HCP001/7T": replace(
        PRISMA, patient_id="HCPSYN001", patient_name="Synthetic^HCP001", study_date="20240305",
        station_name="MAGNETOM7T", model="Magnetom 7T", field_strength=7.0,
        series=_mr((1, "localizer", 1), (2, "rfMRI_REST1_PA", 2), (3, "tfMRI_WM_AP", 2)),
    ),
    # bound by PatientID and StudyDate; series 4 was run twice (scans 4-MR1 and 4-MR2), and the
    # scanner saved a report as a secondary capture
    "HCP002/3T": replace(
        PRISMA, patient_id="HCPSYN002", patient_name="Synthetic^HCP002", study_date="20240311",
        series=(
            *_mr((1, "localizer", 1), (4, "T1w_MPR1", 2), (4, "T1w_MPR1", 2), (5, "dMRI_dir98_AP", 2)),
            SeriesSpec(99, "PhoenixZIPReport", instances=1, modality="OT", sop_class_uid=SECONDARY_CAPTURE),
        ),
    ),
    # bound by folder: a PET session
    "HCP002/PET": replace(
        PRISMA, patient_id="HCPSYN002", patient_name="Synthetic^HCP002", study_date="20240318",
        station_name="BIOGRAPH01", model="Biograph", study_description="FDG",
        series=(
            SeriesSpec(2, "PET_AC", instances=2, modality="PT", sop_class_uid=PET_IMAGE),
            SeriesSpec(3, "PET_NAC", instances=2, modality="PT", sop_class_uid=PET_IMAGE,
                       image_type=("DERIVED", "SECONDARY")),
        ),
    ),
    # bound by StudyInstanceUID
    "HCP003/3T": replace(
        PRISMA, patient_id="HCPSYN003", patient_name="Synthetic^HCP003", study_date="20240402",
        study_uid="2.25.300412345678901234567891",
        series=_mr((1, "localizer", 1), (2, "T1w_MPR1", 2), (3, "dMRI_dir98_AP", 2)),
    ),
    # bound by StudyInstanceUID: an attenuation-correction CT
    "HCP003/CT": replace(
        PRISMA, patient_id="HCPSYN003", patient_name="Synthetic^HCP003", study_date="20240403",
        station_name="CT01", model="Biograph", study_description="CTAC",
        study_uid="2.25.300412345678901234567892",
        series=(SeriesSpec(2, "CTAC_HEAD", instances=2, modality="CT", sop_class_uid=CT_IMAGE),),
    ),
}  # fmt: skip

NOT_DICOM = ("HCP002/3T/notes.txt", b"Series 4 was repeated after a coil fault.\n")


def write(out_dir: Path) -> list[Path]:
    """Write every study under `out_dir/dicom/` (and one file that is not DICOM, which the
    inventory reports and skips); return the paths written."""
    paths: list[Path] = []
    for folder, study in STUDIES.items():
        paths += write_study(study, out_dir / "dicom" / folder)
    note = out_dir / "dicom" / NOT_DICOM[0]
    note.write_bytes(NOT_DICOM[1])
    return [*paths, note]


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(path)
