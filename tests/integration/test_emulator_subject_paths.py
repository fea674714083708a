"""Session and scan URLs under a subject that does not own the session: XNAT's resources do not
read the subject segment there (SubjAssessmentResource and ExperimentResource represent a
session found by accession ID or by label in the project; ScanResource never looks at the
subject; ScanList only requires the subject to exist in the project)."""

from __future__ import annotations

import pytest

from tests.integration.emulator_http import h3, item, rows, session
from xsync.emulator import Emulator
from xsync.emulator.store import Experiment

P = "/data/projects/P"


@pytest.fixture
def mr1(emulator: Emulator) -> Experiment:
    emulator.seed.add_subject("P", "other")
    return emulator.seed.add_session("P", "owner", "mr1", scans=[{"id": "1", "fields": {"type": "T1w"}}])


@pytest.mark.parametrize("subject", ["other", "nobody"])
def test_session_and_scan_gets_ignore_the_subject(emulator: Emulator, mr1: Experiment, subject: str) -> None:
    s = session(emulator)
    for ref in ("mr1", mr1.id):
        it = item(s.get(f"{emulator.url}{P}/subjects/{subject}/experiments/{ref}", params={"format": "json"}))
        assert it["data_fields"]["ID"] == mr1.id
        scan = item(s.get(f"{emulator.url}{P}/subjects/{subject}/experiments/{ref}/scans/1", params={"format": "json"}))
        assert scan["data_fields"]["type"] == "T1w"
    r = s.get(f"{emulator.url}{P}/subjects/{subject}/experiments/mr1/scans/9", params={"format": "json"})
    assert (r.status_code, h3(r)) == (404, "Unable to find the specified scan.")
    r = s.get(f"{emulator.url}{P}/subjects/{subject}/experiments/nope", params={"format": "json"})
    assert (r.status_code, h3(r)) == (404, "Unable to find the specified experiment.")


def test_a_session_is_found_by_accession_id_under_any_readable_project(emulator: Emulator, mr1: Experiment) -> None:
    q1 = emulator.seed.add_session("Q", "qs", "q1")
    s = session(emulator)
    it = item(s.get(f"{emulator.url}{P}/experiments/{q1.id}", params={"format": "json"}))
    assert it["data_fields"]["project"] == "Q"
    assert s.get(f"{emulator.url}{P}/experiments/q1", params={"format": "json"}).status_code == 404  # labels: in P


@pytest.mark.parametrize("subject", ["other", "nobody"])
def test_scan_writes_ignore_the_subject(emulator: Emulator, mr1: Experiment, subject: str) -> None:
    s = session(emulator)
    url = f"{emulator.url}{P}/subjects/{subject}/experiments/mr1/scans"
    assert s.put(url + "/1", params={"note": "via " + subject}).status_code == 200
    assert s.put(url + "/2", params={"xsiType": "xnat:mrScanData", "type": "T2w"}).status_code == 200
    assert (mr1.scans["1"].fields["note"], mr1.scans["2"].fields["type"]) == ("via " + subject, "T2w")
    assert s.delete(url + "/2").status_code == 200
    assert list(mr1.scans) == ["1"]
    owner = emulator.store.subject("P", "owner")
    assert owner is not None and mr1.subject_id == owner.id  # scans never move the session


def test_scan_listing_needs_the_subject_but_not_the_owner(emulator: Emulator, mr1: Experiment) -> None:
    s = session(emulator)
    assert [r["ID"] for r in rows(s.get(f"{emulator.url}{P}/subjects/other/experiments/mr1/scans"))] == ["1"]
    assert s.get(f"{emulator.url}{P}/subjects/nobody/experiments/mr1/scans").status_code == 404


def test_session_put_under_another_subject(emulator: Emulator, mr1: Experiment) -> None:
    # SubjAssessmentResource.handlePut: an existing subject in the path becomes the session's
    # subject; one that does not exist leaves the session where it is and creates nothing.
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/nobody/experiments/mr1", params={"note": "n1"})
    assert (r.status_code, r.text) == (200, mr1.id)
    owner, other = emulator.store.subject("P", "owner"), emulator.store.subject("P", "other")
    assert owner is not None and other is not None and emulator.store.subject("P", "nobody") is None
    assert (mr1.subject_id, mr1.fields["note"]) == (owner.id, "n1")
    assert s.put(f"{emulator.url}{P}/subjects/other/experiments/mr1", params={"note": "n2"}).status_code == 200
    assert mr1.subject_id == other.id
