"""Invalid specs, one per row, each with every message it must produce, word for word.

Each case writes its files to a temporary folder and loads `xsync.yaml` there; messages
read `file:line:col: path: message` with file names relative to that folder.
"""
# ruff: noqa: E501 - messages are compared whole, so each stays on one line

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from xsync.errors import SpecError
from xsync.spec import load_spec


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str]
    expected: list[str]


CASES = [
    Case(
        "syntax_flow",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {gender: female
            """,
        },
        [
            # an unclosed bracket is reported where it opens, not at the end of the file
            "xsync.yaml:4:9: YAML syntax error: expected ',' or '}', but got '<stream end>' (while parsing a flow mapping)",
        ],
    ),
    Case(
        "syntax_unterminated_quote",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    visit_id: "abc
                    scanner: SIEMENS

            """,
        },
        [
            "xsync.yaml:7:19: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar)",
        ],
    ),
    Case(
        "syntax_indent",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                gender: female
               age: 3
            """,
        },
        [
            "xsync.yaml:6:4: YAML syntax error: expected <block end>, but found '<block mapping start>' (while parsing a block mapping)",
        ],
    ),
    Case(
        "tab",
        {
            "xsync.yaml": "version: 1\nproject: P\nsubjects:\n\tsub1: {}\n",
        },
        [
            "xsync.yaml:4:1: YAML syntax error: found character '\\t' that cannot start any token (while scanning for the next token)",
        ],
    ),
    Case(
        "not_mapping",
        {
            "xsync.yaml": """\
            - version: 1
            """,
        },
        [
            "xsync.yaml:1:1: the spec must be a mapping of keys (version:, project:, subjects:, ...)",
        ],
    ),
    Case(
        "missing_version",
        {
            "xsync.yaml": """\
            project: P
            subjects: {}
            """,
        },
        [
            'xsync.yaml:1:1: missing "version: 1" (this xsync reads spec version 1)',
        ],
    ),
    Case(
        "bad_version",
        {
            "xsync.yaml": """\
            version: 2
            project: P
            bogus: 1
            bogus: 2
            """,
        },
        [
            "xsync.yaml:1:10: version: unsupported spec version 2 (this xsync reads spec version 1)",
        ],
    ),
    Case(
        "missing_project",
        {
            "xsync.yaml": """\
            version: 1
            subjects: {}
            """,
        },
        [
            'xsync.yaml:1:1: missing required key "project"',
        ],
    ),
    Case(
        "unknown_top",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subject:
              sub1: {}
            """,
        },
        [
            'xsync.yaml:3:1: subject: unknown key "subject" (did you mean "subjects"?)',
        ],
    ),
    Case(
        "unknown_subject_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                gander: female
            """,
        },
        [
            'xsync.yaml:5:5: subjects.sub1.gander: unknown key "gander" (did you mean "gender"?)',
        ],
    ),
    Case(
        "unknown_session_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {scaner: SIEMENS}
            """,
        },
        [
            'xsync.yaml:6:12: subjects.sub1.sessions.s1.scaner: unknown key "scaner" (did you mean "scanner"?)',
        ],
    ),
    Case(
        "unknown_scan_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    scans:
                      "1": {typ: T1w}
            """,
        },
        [
            'xsync.yaml:8:17: subjects.sub1.sessions.s1.scans.1.typ: unknown key "typ" (did you mean "type"?)',
        ],
    ),
    Case(
        "scan_fields",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    scans:
                      "1": {fields: {run: 1}}
            """,
        },
        [
            "xsync.yaml:8:17: subjects.sub1.sessions.s1.scans.1.fields: scans have no custom variables in XNAT (xnat:imageScanData has no fields element); put them on the session or the subject",
        ],
    ),
    Case(
        "wrong_type_age",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {age: twenty}
            """,
        },
        [
            'xsync.yaml:4:15: subjects.sub1.age: expected a whole number, got "twenty"',
        ],
    ),
    Case(
        "wrong_type_age_float",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {age: 25.5}
            """,
        },
        [
            "xsync.yaml:4:15: subjects.sub1.age: expected a whole number, got 25.5",
        ],
    ),
    Case(
        "wrong_type_yob_as_written",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {yob: 1.990e3}
            """,
        },
        [
            "xsync.yaml:4:15: subjects.sub1.yob: expected a whole number, got 1.990e3",
        ],
    ),
    Case(
        "wrong_type_sessions",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions: [s1, s2]
            """,
        },
        [
            "xsync.yaml:5:15: subjects.sub1.sessions: expected a mapping, got a list",
        ],
    ),
    Case(
        "wrong_type_subject",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: female
            """,
        },
        [
            'xsync.yaml:4:9: subjects.sub1: expected a mapping, got "female"',
        ],
    ),
    Case(
        "wrong_type_weight",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {weight: heavy}
            """,
        },
        [
            'xsync.yaml:4:18: subjects.sub1.weight: expected a number, got "heavy"',
        ],
    ),
    Case(
        "wrong_type_scanner_map",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {scanner: {name: x}}
            """,
        },
        [
            "xsync.yaml:6:21: subjects.sub1.sessions.s1.scanner: expected text, got a mapping",
        ],
    ),
    Case(
        "bad_enum_gender",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {gender: woman}
            """,
        },
        [
            'xsync.yaml:4:18: subjects.sub1.gender: "woman" is not one of male, female, other, unknown, M, F',
        ],
    ),
    Case(
        "bad_enum_handedness",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {handedness: both}
            """,
        },
        [
            'xsync.yaml:4:22: subjects.sub1.handedness: "both" is not one of left, right, ambidextrous, unknown',
        ],
    ),
    Case(
        "bad_enum_upload",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            upload: {method: ftp}
            """,
        },
        [
            'xsync.yaml:3:18: upload.method: "ftp" is not one of rest, cstore',
        ],
    ),
    Case(
        "bad_xsi",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {xsi_type: xnat:mrSesionData}
            """,
        },
        [
            'xsync.yaml:6:22: subjects.sub1.sessions.s1.xsi_type: unknown session type "xnat:mrSesionData" (did you mean "xnat:mrSessionData"?)',
        ],
    ),
    Case(
        "bad_date",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {date: 31/01/2024}
            """,
        },
        [
            'xsync.yaml:6:18: subjects.sub1.sessions.s1.date: "31/01/2024" is not a date: write YYYY-MM-DD',
        ],
    ),
    Case(
        "bad_date_cal",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {dob: 2023-02-29}
            """,
        },
        [
            'xsync.yaml:4:15: subjects.sub1.dob: "2023-02-29" is not a date: write YYYY-MM-DD',
        ],
    ),
    Case(
        "bad_time",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {time: "9:30"}
            """,
        },
        [
            'xsync.yaml:6:18: subjects.sub1.sessions.s1.time: "9:30" is not a time: write HH:MM:SS',
        ],
    ),
    Case(
        "education_range",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {education: 31}
            """,
        },
        [
            "xsync.yaml:4:21: subjects.sub1.education: 31 is out of range: XNAT allows 0 to 30",
        ],
    ),
    Case(
        "number_not_finite",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {weight: .inf, birth_weight: .nan}
              sub2: {height: "-.inf"}
            """,
        },
        [
            "xsync.yaml:4:18: subjects.sub1.weight: expected a finite number, got .inf",
            "xsync.yaml:4:38: subjects.sub1.birth_weight: expected a finite number, got .nan",
            'xsync.yaml:5:18: subjects.sub2.height: expected a number, got "-.inf"',
        ],
    ),
    Case(
        "number_beyond_java_float",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {height: 1e400, weight: -3.5e38, gestational_age: "1e39"}
              sub2:
                sessions:
                  s1: {xsi_type: pet, tracer_dose: 3.4028235e38}
            """,
        },
        [
            "xsync.yaml:4:18: subjects.sub1.height: 1e400 is out of range: XNAT allows -3.4028235e+38 to 3.4028235e+38",
            "xsync.yaml:4:33: subjects.sub1.weight: -3.5e38 is out of range: XNAT allows -3.4028235e+38 to 3.4028235e+38",
            'xsync.yaml:4:59: subjects.sub1.gestational_age: "1e39" is out of range: XNAT allows -3.4028235e+38 to 3.4028235e+38',
        ],
    ),
    Case(
        "number_beyond_java_int",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {yob: 99999999999, ses: -2147483649}
              sub2: {age: 2147483648}
              sub3: {age: 2147483647, ses: -2147483648}
            """,
        },
        [
            "xsync.yaml:4:15: subjects.sub1.yob: 99999999999 is out of range: XNAT allows -2147483648 to 2147483647",
            "xsync.yaml:4:33: subjects.sub1.ses: -2147483649 is out of range: XNAT allows -2147483648 to 2147483647",
            "xsync.yaml:5:15: subjects.sub2.age: 2147483648 is out of range: XNAT allows -2147483648 to 2147483647",
        ],
    ),
    Case(
        "too_long",
        {
            "xsync.yaml": "version: 1\nproject: P\nsubjects:\n  sub1:\n    sessions:\n      s1: {operator: "
            + "x" * 256
            + "}\n",
        },
        [
            "xsync.yaml:6:22: subjects.sub1.sessions.s1.operator: is 256 characters long; XNAT allows at most 255",
        ],
    ),
    Case(
        "empty_value",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                gender:
            """,
        },
        [
            "xsync.yaml:5:5: subjects.sub1.gender: empty value: give a value or remove the key",
        ],
    ),
    Case(
        "bad_label_subject",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub 1: {}
            """,
        },
        [
            'xsync.yaml:4:3: subjects.sub 1: "sub 1" is not a valid label: use only letters, digits, "_" and "-"',
        ],
    ),
    Case(
        "bad_label_session",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s.1: {}
            """,
        },
        [
            'xsync.yaml:6:7: subjects.sub1.sessions.s.1: "s.1" is not a valid label: use only letters, digits, "_" and "-"',
        ],
    ),
    Case(
        "bad_label_scan",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    scans:
                      "1/2": {}
            """,
        },
        [
            'xsync.yaml:8:11: subjects.sub1.sessions.s1.scans.1/2: "1/2" is not a valid label: use only letters, digits, "_" and "-"',
        ],
    ),
    Case(
        "bad_project",
        {
            "xsync.yaml": """\
            version: 1
            project: CCF TEST
            """,
        },
        [
            'xsync.yaml:2:10: project: "CCF TEST" is not a valid label: use only letters, digits, "_" and "-"',
        ],
    ),
    Case(
        "dup_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                gender: female
                age: 3
                gender: male
            """,
        },
        [
            'xsync.yaml:7:5: subjects.sub1.gender: duplicate key "gender" (first at line 5)',
        ],
    ),
    Case(
        "dup_subject",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {}
              sub1: {}
            """,
        },
        [
            'xsync.yaml:5:3: subjects.sub1: duplicate key "sub1" (first at line 4)',
        ],
    ),
    Case(
        "dup_across",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [more.yaml]
            subjects:
              sub1: {}
            """,
            "more.yaml": """\
            subjects:
              sub1: {age: 3}
            """,
        },
        [
            'more.yaml:2:3: subjects.sub1: subject "sub1" is already defined at xsync.yaml:5:3',
        ],
    ),
    Case(
        "dup_custom",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                fields: {Site: A, site: B}
            """,
        },
        [
            'xsync.yaml:5:13: subjects.sub1.fields: custom variables "Site" and "site" are the same to XNAT, which stores names lower-cased',
        ],
    ),
    Case(
        "include_missing",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [subjects/sub1.yaml]
            """,
        },
        [
            'xsync.yaml:3:11: include[0]: include "subjects/sub1.yaml": file not found',
        ],
    ),
    Case(
        "include_glob_none",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: ["subjects/*.yaml"]
            """,
        },
        [
            'xsync.yaml:3:11: include[0]: include "subjects/*.yaml" matches no file',
        ],
    ),
    Case(
        "include_cycle",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [a.yaml]
            """,
            "a.yaml": """\
            include: [b.yaml]
            """,
            "b.yaml": """\
            include: [a.yaml]
            """,
        },
        [
            "b.yaml:1:11: include[0]: include cycle: xsync.yaml -> a.yaml -> b.yaml -> a.yaml",
        ],
    ),
    Case(
        "include_self",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: ["*.yaml"]
            """,
        },
        [
            "xsync.yaml:3:11: include[0]: include cycle: xsync.yaml -> xsync.yaml",
        ],
    ),
    Case(
        "include_syntax",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [a.yaml]
            """,
            "a.yaml": """\
            subjects:
              sub1: [
            """,
        },
        [
            "a.yaml:3:1: YAML syntax error: expected the node content, but found '<stream end>' (while parsing a flow node)",
        ],
    ),
    Case(
        "include_project",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [a.yaml]
            """,
            "a.yaml": """\
            project: Q
            subjets: {}
            """,
        },
        [
            'a.yaml:1:1: project: "project" belongs in the main spec; an included file holds only "subjects" and "include"',
            'a.yaml:2:1: subjets: unknown key "subjets" (did you mean "subjects"?)',
        ],
    ),
    Case(
        "include_type",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: 3
            """,
        },
        [
            "xsync.yaml:3:10: include: expected a list of file names or globs, got 3",
        ],
    ),
    Case(
        "rule_regex",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_description: "/T1w[/"}
                  set: {type: T1w}
            """,
        },
        [
            'xsync.yaml:5:15: rules.scans[0].match.series_description: invalid regular expression "/T1w[/": missing ]: [ (RE2 syntax)',
        ],
    ),
    Case(
        "rule_never_number",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_number: abc}
                  set: {type: T1w}
            """,
        },
        [
            'xsync.yaml:5:15: rules.scans[0].match.series_number: series_number "abc" can never match: write a number, a comparison such as ">=10" or a range such as "10..20"',
        ],
    ),
    Case(
        "rule_empty_range",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_number: "10..5"}
                  set: {type: T1w}
                - match: {series_number: [1, "7 .. 3"]}
                  set: {type: T2w}
            """,
        },
        [
            'xsync.yaml:5:15: rules.scans[0].match.series_number: series_number "10..5" can never match: the range is empty (write the lower bound first: "5..10")',
            'xsync.yaml:7:34: rules.scans[1].match.series_number[1]: series_number "7 .. 3" can never match: the range is empty (write the lower bound first: "3..7")',
        ],
    ),
    Case(
        "rule_empty_list",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {image_type: []}
                  set: {type: T1w}
                - match: {series_description: [], modality: MR}
                  set: {type: T2w}
            """,
        },
        [
            "xsync.yaml:5:15: rules.scans[0].match.image_type: an empty image_type list would match every series: give at least one pattern, or remove the key",
            "xsync.yaml:7:15: rules.scans[1].match.series_description: an empty series_description list can never match: give at least one pattern, or remove the key",
        ],
    ),
    Case(
        "rule_modality",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {modality: MRI}
                  set: {type: T1w}
            """,
        },
        [
            'xsync.yaml:5:15: rules.scans[0].match.modality: unknown modality "MRI" (did you mean "MR"?): this rule can never match',
        ],
    ),
    Case(
        "rule_conflict",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_description: "T1w*"}
                  set: {type: T1w}
                - match: {series_description: "T1w*"}
                  set: {type: T2w}
            """,
        },
        [
            "xsync.yaml:7:7: rules.scans[1]: this rule has the same match as rules.scans[0] (xsync.yaml:5:7) but sets different values",
        ],
    ),
    Case(
        "rule_repeat",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_description: "T1w*"}
                  set: {type: T1w}
                - match: {series_description: "T1w*"}
                  set: {type: T1w}
            """,
        },
        [
            "xsync.yaml:7:7: rules.scans[1]: this rule repeats rules.scans[0] (xsync.yaml:5:7)",
        ],
    ),
    Case(
        "rule_set_unknown",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {series_description: "T1w*"}
                  set: {tpye: T1w}
            """,
        },
        [
            'xsync.yaml:6:13: rules.scans[0].set.tpye: unknown key "tpye" (did you mean "type"?)',
        ],
    ),
    Case(
        "rule_match_unknown",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {protocol: "T1w*"}
                  set: {type: T1w}
            """,
        },
        [
            'xsync.yaml:5:15: rules.scans[0].match.protocol: unknown key "protocol" (did you mean "protocol_name"?)',
        ],
    ),
    Case(
        "rule_set_gender",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {protocol_name: x}
                  set: {gender: female}
            """,
        },
        [
            'xsync.yaml:6:13: rules.scans[0].set.gender: unknown key "gender"',
        ],
    ),
    Case(
        "rule_empty",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            rules:
              scans:
                - match: {}
                  set: {}
            """,
        },
        [
            "xsync.yaml:5:7: rules.scans[0].match: match needs at least one key; to set a value on every scan use defaults.scan",
            "xsync.yaml:6:7: rules.scans[0].set: set needs at least one field",
        ],
    ),
    Case(
        "type_specific",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1: {xsi_type: ct, coil: HEAD32}
            """,
        },
        [
            'xsync.yaml:6:26: subjects.sub1.sessions.s1.coil: "coil" applies only to xnat:mrSessionData, xnat:petmrSessionData sessions, not to xnat:ctSessionData',
        ],
    ),
    Case(
        "scan_specific",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    xsi_type: pet
                    scans:
                      "1": {coil: HEAD32}
            """,
        },
        [
            'xsync.yaml:9:17: subjects.sub1.sessions.s1.scans.1.coil: "coil" applies only to xnat:mrScanData scans (in xnat:mrSessionData, xnat:petmrSessionData sessions), not to scans of xnat:petSessionData',
        ],
    ),
    Case(
        "absent_more",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                absent: true
                gender: male
            """,
        },
        [
            "xsync.yaml:5:5: subjects.sub1.absent: an absent subject takes no other keys (found: gender)",
        ],
    ),
    Case(
        "age_choice",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {age: 30, yob: 1990}
            """,
        },
        [
            "xsync.yaml:4:10: subjects.sub1.age: dob, yob and age are alternatives in XNAT: give only one (found: yob, age)",
        ],
    ),
    Case(
        "pi_pair",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {pi_firstname: Ann}
            """,
        },
        [
            "xsync.yaml:4:10: subjects.sub1.pi_firstname: pi_firstname needs pi_lastname too: XNAT's investigator record requires both",
        ],
    ),
    Case(
        "binding_two",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {study_uid: "1.2.3", path: d/x}
            """,
        },
        [
            "xsync.yaml:8:16: subjects.sub1.sessions.s1.dicom: give exactly one of study_uid, path or patient_id",
        ],
    ),
    Case(
        "binding_uid",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {study_uid: "1.2.03"}
            """,
        },
        [
            'xsync.yaml:8:28: subjects.sub1.sessions.s1.dicom.study_uid: "1.2.03" is not a DICOM UID: digits and dots, no leading zeros, at most 64 characters',
        ],
    ),
    Case(
        "binding_no_roots",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {patient_id: PID1}
            """,
        },
        [
            # (a StudyInstanceUID binding needs no roots: the server may hold the study already)
            "xsync.yaml:7:9: subjects.sub1.sessions.s1.dicom: a session bound to DICOM needs dicom.roots to look in",
        ],
    ),
    Case(
        "binding_outside",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {path: elsewhere/x}
            """,
        },
        [
            "xsync.yaml:8:23: subjects.sub1.sessions.s1.dicom.path: this folder is not under any dicom root (d)",
        ],
    ),
    Case(
        "binding_dup",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {study_uid: "1.2.3"}
              sub2:
                sessions:
                  s2:
                    dicom: {study_uid: "1.2.3"}
            """,
        },
        [
            "xsync.yaml:12:9: subjects.sub2.sessions.s2.dicom: the same DICOM is already bound to subjects.sub1.sessions.s1 (xsync.yaml:8:9)",
        ],
    ),
    Case(
        "binding_phi",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1:
                    dicom: {patient_id: {name: SECRET}}
            """,
        },
        [
            "xsync.yaml:8:29: subjects.sub1.sessions.s1.dicom.patient_id: expected text, got a mapping",
        ],
    ),
    Case(
        "server_creds",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            server: https://admin:hunter2@xnat.example.org
            """,
        },
        [
            "xsync.yaml:3:9: server: must not hold credentials: use XNAT_USER/XNAT_PASS or ~/.netrc",
        ],
    ),
    Case(
        "server_scheme",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            server: xnat.example.org
            """,
        },
        [
            "xsync.yaml:3:9: server: must be an http:// or https:// URL",
        ],
    ),
    Case(
        "cstore_only",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            upload: {method: rest, port: 8104}
            """,
        },
        [
            "xsync.yaml:3:9: upload: port is for method: cstore only",
        ],
    ),
    Case(
        "merge_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            x: &d {gender: female}
            subjects:
              sub1:
                <<: *d
            """,
        },
        [
            'xsync.yaml:3:1: x: unknown key "x"',
            'xsync.yaml:6:5: subjects.sub1: YAML merge keys ("<<") are not supported; use "defaults:"',
        ],
    ),
    Case(
        "yaml_tag",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {age: !years 3}
            """,
        },
        [
            'xsync.yaml:4:15: subjects.sub1.age: YAML tags ("!years") are not supported',
        ],
    ),
    Case(
        "bool_absent",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              sub1: {absent: yes}
            """,
        },
        [
            'xsync.yaml:4:18: subjects.sub1.absent: expected true or false, got "yes"',
        ],
    ),
    Case(
        "dup_session_across_subjects",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              s1:
                sessions:
                  e1: {}
              s2:
                sessions:
                  e2: {}
                  e1: {}
            """,
        },
        [
            'xsync.yaml:10:7: subjects.s2.sessions.e1: session "e1" is already defined under subject "s1" at xsync.yaml:6:7: session labels are unique within a project',
        ],
    ),
    Case(
        "dup_session_across_includes",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [a.yaml]
            subjects:
              s1:
                sessions:
                  e1: {}
            """,
            "a.yaml": """\
            subjects:
              s2:
                sessions:
                  e1: {scanner: X}
            """,
        },
        [
            'a.yaml:4:7: subjects.s2.sessions.e1: session "e1" is already defined under subject "s1" at xsync.yaml:7:7: session labels are unique within a project',
        ],
    ),
    Case(
        "dup_subject_case",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: [a.yaml]
            subjects:
              sub2: {}
              SUB2: {gender: male}
            """,
            "a.yaml": """\
            subjects:
              Sub2: {}
            """,
        },
        [
            'xsync.yaml:6:3: subjects.SUB2: subject "SUB2" differs only in case from subject "sub2" at xsync.yaml:5:3: XNAT matches subject labels in any case',
            'a.yaml:2:3: subjects.Sub2: subject "Sub2" differs only in case from subject "sub2" at xsync.yaml:5:3: XNAT matches subject labels in any case',
        ],
    ),
    Case(
        "dup_session_case",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            subjects:
              s1:
                sessions:
                  e1: {}
                  E1: {}
              s2:
                sessions:
                  MR_e1: {}
                  mr_E1: {}
            """,
        },
        [
            'xsync.yaml:7:7: subjects.s1.sessions.E1: session "E1" differs only in case from session "e1" under subject "s1" at xsync.yaml:6:7: session labels must differ in more than case',
            'xsync.yaml:11:7: subjects.s2.sessions.mr_E1: session "mr_E1" differs only in case from session "MR_e1" under subject "s2" at xsync.yaml:10:7: session labels must differ in more than case',
        ],
    ),
    Case(
        "include_nested_all_files_at_once",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            include: ["subjects/*.yaml"]
            subjects:
              sub1: {age: x}
            """,
            "subjects/a.yaml": """\
            include: [more/b.yaml]
            subjects:
              sub2: {gender: woman}
            """,
            "subjects/more/b.yaml": """\
            subjects:
              sub3: {handedness: both}
              sub1: {}
            """,
        },
        [
            'xsync.yaml:5:15: subjects.sub1.age: expected a whole number, got "x"',
            'subjects/a.yaml:3:18: subjects.sub2.gender: "woman" is not one of male, female, other, unknown, M, F',
            'subjects/more/b.yaml:2:22: subjects.sub3.handedness: "both" is not one of left, right, ambidextrous, unknown',
            'subjects/more/b.yaml:3:3: subjects.sub1: subject "sub1" is already defined at xsync.yaml:5:3',
        ],
    ),
    Case(
        "remap_keywords",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            remap:
              set: {PatientNmae: x, PatientID: "{subjct}"}
              blank: [SeriesNumber]
            """,
        },
        [
            'xsync.yaml:4:9: remap.set.PatientNmae: "PatientNmae" is not a DICOM keyword (e.g. PatientName, PatientID)',
            'xsync.yaml:4:36: remap.set.PatientID: unknown placeholder "{subjct}" (known: {project}, {subject}, {session})',
            "xsync.yaml:5:11: remap.blank[0]: xsync never edits SeriesNumber: it decides the scan ID",
        ],
    ),
    Case(
        "unknown_remap_key",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            remap:
              sett: {PatientID: x}
            """,
        },
        ['xsync.yaml:4:3: remap.sett: unknown key "sett" (did you mean "set"?)'],
    ),
    Case(
        "remap_values",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            upload: {method: cstore}
            remap: {set: {PatientID: "{subject}"}}
            subjects:
              sub1:
                sessions:
                  s1:
                    remap: {set: {PatientComments: note, AccessionNumber: "{session}_far_too_long_for_SH"}}
            """,
        },
        [
            "xsync.yaml:9:23: subjects.sub1.sessions.s1.remap.set.PatientComments: with upload.method: cstore, xsync writes PatientComments to route the session (Project:/Subject:/Session:); remap another attribute",
            "xsync.yaml:9:63: subjects.sub1.sessions.s1.remap.set.AccessionNumber: for session s1: AccessionNumber (SH) holds at most 16 characters per value, this is 22",
        ],
    ),
    Case(
        "moved_shapes",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            moved:
              - {from: old1, to: sub1/e1}
              - {from: sub1/a, to: sub2/b}
              - {from: sub1, to: sub1}
              - {from: "a.b", to: sub1}
            subjects:
              sub1: {}
            """,
        },
        [
            "xsync.yaml:4:5: moved[0]: from and to must both be subjects (label) or both sessions (subject/label)",
            "xsync.yaml:5:5: moved[1]: a session moves within its subject only (sub1 and sub2 differ); moving a session to another subject is not supported",
            "xsync.yaml:6:5: moved[2]: from and to are the same label",
            'xsync.yaml:7:12: moved[3].from: "a.b" is not a subject label or subject/session: use only letters, digits, "_" and "-", with one / before a session',
        ],
    ),
    Case(
        "moved_against_the_subjects",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            moved:
              - {from: old1, to: sub1}
              - {from: old1, to: sub2}
              - {from: old2, to: sub1}
              - {from: sub2, to: sub3}
              - {from: sub1/e0, to: sub1/e1}
              - {from: old4, to: gone}
              - {from: old5, to: nowhere}
            subjects:
              sub1:
                sessions:
                  e0: {}
                  e1: {}
              sub2: {}
              gone: {absent: true}
            """,
        },
        [
            'xsync.yaml:5:12: moved[1].from: "old1" is already moved by moved[0] (xsync.yaml:4:5)',
            'xsync.yaml:6:22: moved[2].to: "sub1" is already the target of moved[0] (xsync.yaml:4:5)',
            'xsync.yaml:7:12: moved[3].from: subject "sub2" is still declared at xsync.yaml:16:3: once moved, the old label must leave the spec',
            'xsync.yaml:7:22: moved[3].to: subject "sub3" is not declared under subjects: a move\'s target must be in the spec',
            'xsync.yaml:8:12: moved[4].from: session "e0" is still declared at xsync.yaml:14:7: once moved, the old label must leave the spec',
            'xsync.yaml:9:22: moved[5].to: subject "gone" is marked absent: a move\'s target must be kept',
            'xsync.yaml:10:22: moved[6].to: subject "nowhere" is not declared under subjects: a move\'s target must be in the spec',
        ],
    ),
    Case(
        "moved_chain",
        {
            "xsync.yaml": """\
            version: 1
            project: P
            moved:
              - {from: old1, to: sub1}
              - {from: sub1, to: sub2}
            subjects:
              sub2: {}
            """,
        },
        [
            'xsync.yaml:4:22: moved[0].to: subject "sub1" is not declared under subjects: a move\'s target must be in the spec',
            'xsync.yaml:5:5: moved[1]: "sub1" -> "sub2" chains with moved[0] (xsync.yaml:4:5): move each old label straight to its final label',
        ],
    ),
]


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_spec_reports_exact_messages(case: Case, tmp_path: Path) -> None:
    write_files(tmp_path, case.files)
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "xsync.yaml", relative_to=tmp_path)
    assert [str(d) for d in raised.value.diagnostics] == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pure_python_parser_reports_the_same(case: Case, tmp_path: Path) -> None:
    write_files(tmp_path, case.files)
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "xsync.yaml", relative_to=tmp_path, pure_python=True)
    assert [str(d) for d in raised.value.diagnostics] == case.expected


def test_the_table_covers_every_kind_of_mistake() -> None:
    kinds = ("syntax", "unknown", "wrong_type", "bad_enum", "bad_label", "dup", "include", "rule")
    for kind in kinds:
        assert any(c.id.startswith(kind) for c in CASES), kind
    assert len(CASES) >= 30
