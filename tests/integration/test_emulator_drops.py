"""Acknowledge-and-drop knobs and the put-by-id-ignored quirk (drops.py): matching item writes
answer exactly as usual but store nothing for the matching parameters."""

from __future__ import annotations

import pytest

from tests.integration.emulator_http import h3, session
from xsync.emulator import Emulator
from xsync.emulator.store import Experiment

P = "/data/projects/P"
MR_VAR = "xnat:mrSessionData/fields/field[name={}]/field"
BASE_VAR = "xnat:experimentData/fields/field[name={}]/field"


@pytest.fixture
def mr1(emulator: Emulator) -> Experiment:
    return emulator.seed.add_session("P", "sub1", "mr1", scans=[{"id": "1", "fields": {"type": "T1w"}}])


def test_a_rule_targets_one_url_form_and_one_field(emulator: Emulator, mr1: Experiment) -> None:
    rule = emulator.drop_writes(path=r"/data/experiments/[^/]+", param="note", method="PUT")
    assert emulator.knobs.drop_rules == (rule,)
    s = session(emulator)
    r = s.put(f"{emulator.url}/data/experiments/{mr1.id}", params={"note": "lost", "visit_id": "v1"})
    assert (r.status_code, r.text) == (200, mr1.id)
    assert "note" not in mr1.fields and mr1.fields["visit_id"] == "v1"
    r = s.put(f"{emulator.url}{P}/subjects/sub1/experiments/mr1", params={"note": "kept"})
    assert (r.status_code, r.text, mr1.fields["note"]) == (200, mr1.id, "kept")
    # Still validated: a bad value is refused as it would be without the rule.
    r = s.put(f"{emulator.url}/data/experiments/{mr1.id}", params={"note": "x" * 2501})
    assert (r.status_code, h3(r)) == (400, "xnat:experimentData/note : Must Be Less Than 2500 Characters")
    emulator.knobs.clear_drops()
    assert s.put(f"{emulator.url}/data/experiments/{mr1.id}", params={"note": "stored"}).status_code == 200
    assert mr1.fields["note"] == "stored"


def test_custom_variables_in_one_spelling(emulator: Emulator, mr1: Experiment) -> None:
    emulator.drop_writes(param=r"xnat:experimentData/fields/field\[name=.*\]/field")
    s = session(emulator)
    url = f"{emulator.url}{P}/experiments/mr1"
    r = s.put(url, params={BASE_VAR.format("a"): "1", MR_VAR.format("b"): "2"})
    assert (r.status_code, r.text) == (200, mr1.id)
    assert mr1.custom == {"b": "2"}
    # The unencoded form arrives split at its first `=`; it is matched once put back together.
    assert s.put(f"{url}?{BASE_VAR.format('c')}=3&{MR_VAR.format('d')}=4").status_code == 200
    assert mr1.custom == {"b": "2", "d": "4"}


def test_subject_form_fields_and_scan_puts(emulator: Emulator, mr1: Experiment) -> None:
    emulator.drop_writes(path=r"/data/projects/P/subjects/[^/]+", param="gender")
    emulator.drop_writes(path=r".*/scans/[^/]+", param="type|xnat:mrScanData/type", method="PUT")
    s = session(emulator)
    r = s.put(f"{emulator.url}{P}/subjects/new1", data={"gender": "male", "age": "30"})
    subject = emulator.store.subject("P", "new1")
    assert subject is not None and (r.status_code, r.text) == (201, subject.id)
    assert subject.fields == {"demographics/age": "30"}
    r = s.put(f"{emulator.url}/data/experiments/{mr1.id}/scans/1", params={"type": "T2w", "quality": "usable"})
    assert (r.status_code, r.text) == (200, "")
    assert (mr1.scans["1"].fields["type"], mr1.scans["1"].fields["quality"]) == ("T1w", "usable")
    r = s.put(f"{emulator.url}/data/experiments/{mr1.id}/scans/2", params={"xnat:mrScanData/type": "DWI"})
    assert r.status_code == 200 and mr1.scans["2"].xsi_type == "xnat:mrScanData"  # created; its type dropped
    assert "type" not in mr1.scans["2"].fields


def test_the_method_selects(emulator: Emulator, mr1: Experiment) -> None:
    emulator.drop_writes(param=".*", method="POST")
    s = session(emulator)
    assert s.put(f"{emulator.url}/data/experiments/{mr1.id}", params={"note": "put"}).status_code == 200
    assert mr1.fields["note"] == "put"
    r = s.post(f"{emulator.url}{P}/subjects", params={"label": "posted", "gender": "female"})
    assert r.status_code == 200
    posted = emulator.store.subject("P", "posted")
    assert posted is not None and posted.fields == {}  # identity kept, fields dropped


@pytest.mark.parametrize("emulator", [{"projects": ("P",), "quirks": ("put-by-id-ignored",)}], indirect=True)
def test_put_by_id_ignored_quirk(emulator: Emulator, mr1: Experiment) -> None:
    s = session(emulator)
    r = s.put(
        f"{emulator.url}/data/experiments/{mr1.id}",
        params={"note": "n", MR_VAR.format("a"): "1", "xsiType": "xnat:mrSessionData"},
    )
    assert (r.status_code, r.text) == (200, mr1.id)
    assert (mr1.fields, mr1.custom) == ({}, {})
    for url in (f"{emulator.url}{P}/experiments/mr1", f"{emulator.url}{P}/subjects/sub1/experiments/mr1"):
        r = s.put(url, params={"note": "kept", MR_VAR.format("a"): "1", BASE_VAR.format("b"): "2"})
        assert (r.status_code, r.text) == (200, mr1.id)
    assert (mr1.fields, mr1.custom) == ({"note": "kept"}, {"a": "1"})
    # Subjects and scans are as in XNAT 1.8.
    r = s.put(f"{emulator.url}{P}/subjects/sub1", params={"xnat:subjectData/fields/field[name=c]/field": "3"})
    sub1 = emulator.store.subject("P", "sub1")
    assert r.status_code == 200 and sub1 is not None and sub1.custom == {"c": "3"}
    assert s.put(f"{emulator.url}/data/experiments/{mr1.id}/scans/1", params={"note": "s"}).status_code == 200
    assert mr1.scans["1"].fields["note"] == "s"
    emulator.knobs.set_quirks()  # back to XNAT 1.8
    assert s.put(f"{emulator.url}/data/experiments/{mr1.id}", params={"note": "by id"}).status_code == 200
    assert mr1.fields["note"] == "by id"


def test_bad_patterns_and_quirks_are_refused_at_once(emulator: Emulator) -> None:
    with pytest.raises(Exception, match="unterminated"):
        emulator.drop_writes(param="[")
    with pytest.raises(ValueError, match="unknown quirk"):
        emulator.knobs.set_quirks("nope")
