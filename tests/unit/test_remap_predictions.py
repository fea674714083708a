"""The plan predicts what XNAT sets from the headers as sent: a remapped StudyDescription,
StationName or SeriesDescription shows in the predicted fields; a blanked one is absent; the
import operations list the edits by name only."""

from __future__ import annotations

from pathlib import Path

from xsync.inventory.scan import scan
from xsync.plan.resolve import local_study
from xsync.spec.remap import HeaderChange
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study


def test_predictions_read_the_headers_as_sent(tmp_path: Path) -> None:
    write_study(StudySpec(seed="pred", station_name="SCANNER1", study_description="BRAIN",
                          series=(SeriesSpec(1, "T1w_MPR", instances=2),)), tmp_path)  # fmt: skip
    study = scan([tmp_path]).studies[0]
    plain = local_study(study)
    assert plain.predicted["session_type"] == "BRAIN" and plain.predicted["scanner"] == "SCANNER1"
    assert plain.series[0].predicted["type"] == "T1w_MPR" and plain.headers == ()

    changes = (
        HeaderChange("PatientName", "blank"),
        HeaderChange("SeriesDescription", "set", "T1w"),
        HeaderChange("StationName", "remove"),
        HeaderChange("StudyDescription", "set", "P baseline"),
    )
    sent = local_study(study, changes)
    assert sent.predicted["session_type"] == "P baseline"
    assert "scanner" not in sent.predicted
    assert sent.series[0].predicted["type"] == "T1w" and sent.series[0].predicted["series_description"] == "T1w"
    assert sent.headers == (("PatientName", "blank"), ("SeriesDescription", "set"), ("StationName", "remove"),
                            ("StudyDescription", "set"))  # fmt: skip
    assert study.description == "BRAIN"  # the inventory itself is not changed
