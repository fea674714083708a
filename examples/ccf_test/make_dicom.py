"""Writes the synthetic DICOM beside this example: series 1 of CCF_TEST/sub1/session1.

No real patient data: every header value below is made up, and the UIDs derive from a seed,
so running this again writes the same bytes (tests/unit/test_spec_examples.py checks that).

    python examples/ccf_test/make_dicom.py [OUT_DIR]     # default: this folder
"""

from __future__ import annotations

import sys
from pathlib import Path

from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study

STUDY = StudySpec(
    patient_id="session1",  # XNAT's default routing: PatientID -> session label
    patient_name="sub1",  # PatientName -> subject label
    birth_date="",
    study_date="20240131",
    study_description="CCF_TEST",
    accession_number="",
    # Also routes a C-STORE to the right place (XNAT reads Key:value pairs from comments).
    patient_comments="Project: CCF_TEST Subject: sub1 Session: session1",
    seed="xsync-example-ccf_test",
    series=(SeriesSpec(1, "T1w_MPR1", instances=3, protocol_name="T1w_MPR1"),),
)


def write(out_dir: Path) -> list[Path]:
    return write_study(STUDY, out_dir / "dicom" / "sub1" / "session1")


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(path)
