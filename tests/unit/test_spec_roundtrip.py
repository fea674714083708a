"""Property: a spec generated as Python data, written as YAML by ruamel and loaded by
`load_spec`, holds exactly what was generated (labels, fields as text, custom variables,
scans, rules), whichever YAML quoting ruamel chose for each value."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import ruamel.yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xsync.model.fields import GENDERS
from xsync.spec import load_spec
from xsync.spec.model import field_values

# Subject labels without "_", session labels "<subject>_MR<n>": never equal, even ignoring case.
subject_labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
field_names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
# Any text a value may hold: letters of any script, digits, spaces and punctuation (YAML
# special characters included), but no control characters, which are refused by design.
texts = st.text(
    st.characters(categories=("L", "N", "Zs", "P", "S"), exclude_characters="\x85\u2028\u2029"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s)
values = st.one_of(texts, st.integers(-(2**31), 2**31 - 1))
custom = st.dictionaries(field_names, values, max_size=3)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    subjects: dict[str, Any] = {}
    for label in draw(st.lists(subject_labels, max_size=4, unique=True)):
        subject: dict[str, Any] = {"gender": draw(st.sampled_from(GENDERS)), "fields": draw(custom)}
        sessions: dict[str, Any] = {}
        for n in range(draw(st.integers(0, 2))):
            scans = {
                str(number): {"type": draw(texts), "quality": draw(st.sampled_from(["usable", "unusable"]))}
                for number in draw(st.lists(st.integers(1, 999), max_size=3, unique=True))
            }
            sessions[f"{label}_MR{n}"] = {
                "visit_id": draw(values),
                "scanner": draw(texts),
                "fields": draw(custom),
                "scans": scans,
            }
        subject["sessions"] = sessions
        subjects[label] = subject
    patterns = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=10)
    rules = [
        {"match": {"series_description": pattern + "*"}, "set": {"type": draw(texts)}}
        for pattern in draw(st.lists(patterns, max_size=3, unique=True))
    ]
    return {"version": 1, "project": draw(subject_labels), "rules": {"scans": rules}, "subjects": subjects}


def dump(data: dict[str, Any]) -> str:
    yaml = ruamel.yaml.YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False  # keep the generated order
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_spec_loads_as_generated(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "xsync.yaml"
        path.write_text(dump(data), encoding="utf-8")
        spec = load_spec(path, relative_to=Path(folder))

    assert spec.project == data["project"]
    assert list(spec.subjects) == list(data["subjects"])
    for label, subject in data["subjects"].items():
        loaded = spec.subjects[label]
        expected = {"gender": subject["gender"]} | {f"fields.{k}": as_text(v) for k, v in subject["fields"].items()}
        assert field_values(loaded) == expected
        assert list(loaded.sessions) == list(subject["sessions"])
        for session_label, session in subject["sessions"].items():
            got = loaded.sessions[session_label]
            expected = {"visit_id": as_text(session["visit_id"]), "scanner": session["scanner"]}
            expected |= {f"fields.{k}": as_text(v) for k, v in session["fields"].items()}
            assert field_values(got) == expected
            assert {scan_id: field_values(scan) for scan_id, scan in got.scans.items()} == session["scans"]
    assert [(r.match.series_description, field_values(r.set)) for r in spec.rules.scans] == [
        ((r["match"]["series_description"],), r["set"]) for r in data["rules"]["scans"]
    ]
