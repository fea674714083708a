"""Scan rules: matching semantics, conflicts, precedence and static checks. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from xsync.spec import RuleConflict, Rules, Scan, ScanFields, match_scan_rules, resolve_scan_fields
from xsync.spec.rules import check_rules


def rules(*items: dict[str, Any]) -> Rules:
    return Rules.model_validate({"scans": list(items)})


def rule(match: dict[str, Any], **set_: Any) -> dict[str, Any]:
    return {"match": match, "set": set_}


T1 = {"series_description": "T1w_MPR1", "protocol_name": "T1w_MPR", "modality": "MR", "series_number": 4}
T1_IMAGE = {**T1, "image_type": ("ORIGINAL", "PRIMARY", "M", "ND")}


@pytest.mark.parametrize(
    ("match", "attrs", "expected"),
    [
        ({"series_description": "T1w_MPR*"}, T1, True),
        ({"series_description": "t1w_mpr*"}, T1, False),  # globs are case-sensitive by default
        ({"series_description": "T1w"}, T1, False),  # a glob matches the whole value
        ({"series_description": "/MPR/"}, T1, True),  # a regex is searched anywhere
        ({"series_description": "/^MPR/"}, T1, False),
        ({"series_description": ["T2w*", "T1w*"]}, T1, True),  # a list: any of them
        ({"protocol_name": "T1w_MPR"}, T1, True),
        ({"protocol_name": "T1w_MPR"}, {"series_description": "T1w_MPR1"}, False),  # missing attribute
        ({"modality": "mr"}, T1, True),  # DICOM codes compare in any case
        ({"modality": ["CT", "PT"]}, T1, False),
        ({"series_number": 4}, T1, True),
        ({"series_number": ">=10"}, T1, False),
        ({"series_number": "<10"}, T1, True),
        ({"series_number": "2..4"}, T1, True),
        ({"series_number": ["1", "5..9"]}, T1, False),
        ({"series_number": 4}, {**T1, "series_number": "4"}, True),  # header text works too
        ({"series_number": 4}, {**T1, "series_number": ""}, False),
        ({"image_type": "ORIGINAL"}, T1_IMAGE, True),
        ({"image_type": ["ORIGINAL", "M"]}, T1_IMAGE, True),  # every listed value present
        ({"image_type": ["ORIGINAL", "DERIVED"]}, T1_IMAGE, False),
        ({"image_type": "DERIVED"}, {**T1, "image_type": "DERIVED\\SECONDARY"}, True),  # backslash text
        ({"series_description": "T1w*", "modality": "CT"}, T1, False),  # every key must match
    ],
)
def test_rule_matching(match: dict[str, Any], attrs: dict[str, Any], expected: bool) -> None:
    outcome = match_scan_rules(rules(rule(match, type="X")), attrs)
    assert outcome.matched == ((0,) if expected else ())
    assert outcome.fields == ({"type": "X"} if expected else {})


def test_ignore_case_applies_to_globs_and_regexes() -> None:
    spec = rules(
        {"match": {"series_description": "*localizer*"}, "set": {"type": "Loc"}, "ignore_case": True},
        {"match": {"series_description": "/^AAHEAD/"}, "set": {"quality": "unusable"}, "ignore_case": True},
    )
    outcome = match_scan_rules(spec, {"series_description": "AAHead_Scout_LOCALIZER"})
    assert outcome.fields == {"type": "Loc", "quality": "unusable"}
    assert outcome.matched == (0, 1) and outcome.set_by == {"type": 0, "quality": 1}


def test_first_matching_rule_wins_and_disagreement_is_a_conflict() -> None:
    spec = rules(
        rule({"series_description": "rfMRI_*"}, type="rfMRI"),
        rule({"series_description": "*_SBRef"}, type="SBRef", quality="usable"),
        rule({"modality": "MR"}, quality="usable"),
    )
    outcome = match_scan_rules(spec, {"series_description": "rfMRI_REST1_AP_SBRef", "modality": "MR"})
    assert outcome.fields == {"type": "rfMRI", "quality": "usable"}
    assert outcome.set_by == {"type": 0, "quality": 1}
    # rules 1 and 2 agree on quality: not a conflict; 0 and 1 disagree on type
    assert outcome.conflicts == (RuleConflict("type", ((0, "rfMRI"), (1, "SBRef"))),)
    assert match_scan_rules(spec.scans[:1], {"series_description": "rfMRI_REST1_AP"}).conflicts == ()


def test_scan_fields_precedence_written_then_rules_then_defaults() -> None:
    defaults = ScanFields(quality="usable", note="default note")
    outcome = match_scan_rules(rules(rule({"series_description": "T1w*"}, type="T1w", quality="questionable")), T1)
    written = Scan(note="motion")
    assert resolve_scan_fields(written, outcome, defaults) == {
        "type": "T1w",
        "quality": "questionable",
        "note": "motion",
    }
    assert resolve_scan_fields(None, None, defaults) == {"quality": "usable", "note": "default note"}
    assert resolve_scan_fields(Scan(absent=True), outcome, defaults) == {}


def test_static_checks_find_rules_that_can_never_match() -> None:
    spec = rules(
        rule({"series_description": "/T1w(/", "image_type": ["ORIGINAL", "/[/"]}, type="T1w"),
        rule({"modality": ["MR", "MRI"], "series_number": ["3", "three"]}, type="T1w"),
        rule({"series_description": "T1w*"}, type="T1w"),
        rule({"series_description": "T1w*"}, type="T1w"),
    )
    problems = check_rules(list(spec.scans), lambda loc: f"line of {loc[2]}")
    assert problems == [
        (
            ("rules", "scans", 0, "match", "series_description"),
            'invalid regular expression "/T1w(/": missing ): T1w( (RE2 syntax)',
        ),
        (
            ("rules", "scans", 0, "match", "image_type", 1),
            'invalid regular expression "/[/": missing ]: [ (RE2 syntax)',
        ),
        (
            ("rules", "scans", 1, "match", "modality", 1),
            'unknown modality "MRI" (did you mean "MR"?): this rule can never match',
        ),
        (
            ("rules", "scans", 1, "match", "series_number", 1),
            'series_number "three" can never match: write a number, a comparison such as ">=10" or a range '
            'such as "10..20"',
        ),
        (("rules", "scans", 3), "this rule repeats rules.scans[2] (line of 2)"),
    ]
