"""Which parameters the drop rules and quirks of one request drop (drops.py; pure)."""

from __future__ import annotations

from xsync.emulator.drops import PUT_BY_ID_IGNORED, DropRule, for_request

MR = "xnat:mrSessionData"


def test_no_rule_no_predicate() -> None:
    assert for_request([], (), "PUT", "/data/experiments/X") is None
    assert for_request([DropRule(path="/data/projects/.*")], (), "PUT", "/data/experiments/X") is None


def test_rules_match_method_path_and_name_in_full() -> None:
    rule = DropRule(path=r"/data/experiments/[^/]+", param="note", method="put")
    drop = for_request([rule], (), "PUT", "/data/experiments/XNAT_E00001")
    assert drop is not None and drop("note", MR) and not drop("notes", MR) and not drop("xnat:mrSessionData/note", MR)
    assert for_request([rule], (), "PUT", "/data/experiments/XNAT_E00001/scans/1") is None
    assert for_request([rule], (), "POST", "/data/experiments/XNAT_E00001") is None


def test_put_by_id_ignored_quirk() -> None:
    for path in ("/data/experiments/E1", "/REST/experiments/E1", "/data/archive/experiments/E1"):
        drop = for_request([], (PUT_BY_ID_IGNORED,), "PUT", path)
        assert drop is not None and drop("note", MR) and drop(f"{MR}/fields/field[name=a]/field", MR)
    drop = for_request([], (PUT_BY_ID_IGNORED,), "PUT", "/data/projects/P/experiments/E1")
    assert drop is not None
    assert not drop("note", MR)
    assert not drop(f"{MR}/fields/field[name=a]/field", MR)
    assert not drop("xnat:MRSESSIONDATA/fields/field[name=a]/field", MR)  # types are case-insensitive
    assert drop("xnat:experimentData/fields/field[name=a]/field", MR)
    assert drop("xnat:imageSessionData/fields/field[name=a]/field", MR)
    assert not drop("xnat:experimentData/fields/field[name=a]/field", "xnat:subjectData")  # sessions only
    assert for_request([], (PUT_BY_ID_IGNORED,), "POST", "/data/experiments/E1") is None
