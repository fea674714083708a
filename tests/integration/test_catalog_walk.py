"""The whole field catalog against the emulator: for every settable field and every data type
that has it, a value set with curl (the PUT parameter the catalog names for that type) is read
back by `xsync state`, and a spec asking for that value plans no change. A field the catalog
places wrongly — a shortcut that means another type, a path the type does not have — is
dropped or refused by the emulator and fails here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator
from xsync.model import xsitypes as t
from xsync.model.fields import FIELDS, FieldDef, Level, ValueKind, custom_parameter
from xsync.model.values import same_value

CURL = shutil.which("curl")
P = "WALK"
AGE_CHOICE = ("dob", "yob", "age")  # alternatives in xnat:demographicData: one subject each
SUBJECTS = {"walk": None, **{f"walk_{name}": name for name in AGE_CHOICE}}
SCAN_SESSION = t.MR_SESSION  # scans of every type are put in the MR session


def value_for(f: FieldDef, owner: str) -> str:
    """A value XNAT's validator takes for the field, distinct per field and type."""
    kind, bounds = f.kind, f.bounds
    if kind is ValueKind.INT:
        return str(min(7, bounds.high))
    if kind is ValueKind.FLOAT:
        return "1.5"
    if kind is ValueKind.DATE:
        return "2001-02-03"
    if kind is ValueKind.TIME:
        return "04:05:06"
    if kind is ValueKind.DATETIME:
        return "2001-02-03T04:05:06"
    if kind is ValueKind.ENUM:
        return bounds.choices[1]
    text = f"{f.name[:6]}-{owner.removeprefix('xnat:')[:10]}"
    return text[: bounds.max_length] if bounds.max_length < 100 else f"{text} & <x>"  # entities round-trip


def settable(level: Level, xsi_type: str) -> list[FieldDef]:
    return [f for f in FIELDS[level].values() if f.settable and f.applies_to(xsi_type)]


def session_label(xsi_type: str) -> str:
    return "s_" + xsi_type.removeprefix("xnat:").removesuffix("SessionData")


def scan_ids() -> dict[str, str]:
    return {scan_type: str(i) for i, scan_type in enumerate(sorted(t.SCAN_TYPES), start=1)}


def curl_put(url: str, params: dict[str, str]) -> None:
    assert CURL is not None, "curl is needed: it is the HCP guide's client and the independent writer here"
    args = [CURL, "-sS", "-u", "admin:admin", "-X", "PUT", "-G", "-o", "/dev/null", "-w", "%{http_code}", url]
    for key, value in params.items():
        args += ["--data-urlencode", f"{key}={value}"]
    status = subprocess.run(args, capture_output=True, text=True, check=True, timeout=30).stdout
    assert status in ("200", "201"), f"PUT {url} {params}: HTTP {status}"


def desired_values() -> dict[str, Any]:
    """{"subjects": {label: {field: value}}, "sessions": {label: (type, {..})}, "scans": {id: (type, {..})}}"""
    subjects = {}
    for label, choice in SUBJECTS.items():
        fields = {f.name: value_for(f, t.SUBJECT) for f in settable(Level.SUBJECT, t.SUBJECT)
                  if f.name not in AGE_CHOICE or f.name == choice}  # fmt: skip
        subjects[label] = fields
    sessions = {
        session_label(s): (s, {f.name: value_for(f, s) for f in settable(Level.SESSION, s)})
        for s in sorted(t.SESSION_TYPES)
    }
    scans = {
        scan_id: (scan_type, {f.name: value_for(f, scan_type) for f in settable(Level.SCAN, scan_type)})
        for scan_type, scan_id in scan_ids().items()
    }
    return {"subjects": subjects, "sessions": sessions, "scans": scans}


def set_everything_with_curl(base: str, want: dict[str, Any]) -> None:
    subject_fields = FIELDS[Level.SUBJECT]
    for label, fields in want["subjects"].items():
        params = {"xsiType": t.SUBJECT, custom_parameter(t.SUBJECT, "site"): f"{label}&site"}
        params |= {subject_fields[n].put_parameter(t.SUBJECT): v for n, v in fields.items()}
        curl_put(f"{base}/data/projects/{P}/subjects/{label}", params)
    for label, (xsi_type, fields) in want["sessions"].items():
        params = {"xsiType": xsi_type, custom_parameter(xsi_type, "visit"): f"{label}&v1"}
        params |= {FIELDS[Level.SESSION][n].put_parameter(xsi_type): v for n, v in fields.items()}
        curl_put(f"{base}/data/projects/{P}/subjects/walk/experiments/{label}", params)
    session_url = f"{base}/data/projects/{P}/subjects/walk/experiments/{session_label(SCAN_SESSION)}"
    for scan_id, (scan_type, fields) in want["scans"].items():
        params = {"xsiType": scan_type} | {FIELDS[Level.SCAN][n].put_parameter(scan_type): v for n, v in fields.items()}
        curl_put(f"{session_url}/scans/{scan_id}", params)


def spec_text(server: str, want: dict[str, Any]) -> str:
    subjects: dict[str, Any] = {}
    for label, fields in want["subjects"].items():
        subjects[label] = {**fields, "fields": {"site": f"{label}&site"}}
    walk = subjects["walk"]
    walk["sessions"] = {
        label: {"xsi_type": xsi_type, **fields, "fields": {"visit": f"{label}&v1"}}
        for label, (xsi_type, fields) in want["sessions"].items()
    }
    walk["sessions"][session_label(SCAN_SESSION)]["scans"] = {
        scan_id: fields for scan_id, (_, fields) in want["scans"].items()
    }
    # JSON is YAML: every value a quoted string, as the spec takes text for any field
    return json.dumps({"version": 1, "project": P, "server": server, "subjects": subjects}, indent=1)


@pytest.mark.parametrize("emulator", [{"projects": (P,)}, {"projects": (P,), "strict": True}], indirect=True)
def test_every_field_of_every_type_round_trips_and_converges(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XNAT_USER", "admin")
    monkeypatch.setenv("XNAT_PASS", "admin")
    want = desired_values()
    set_everything_with_curl(emulator.url, want)

    assert main(["state", "--server", emulator.url, "--project", P, "--json", "--show-phi"]) == 0
    state = json.loads(capsys.readouterr().out)
    checked = 0
    for label, fields in want["subjects"].items():
        got = state["subjects"][label]
        assert got["custom"] == {"site": f"{label}&site"}
        for name, value in fields.items():
            assert same_value(FIELDS[Level.SUBJECT][name], got["fields"].get(name, ""), value), (label, name)
            checked += 1
    sessions = state["subjects"]["walk"]["sessions"]
    for label, (xsi_type, fields) in want["sessions"].items():
        got = sessions[label]
        assert got["xsi_type"] == xsi_type and got["custom"] == {"visit": f"{label}&v1"}
        for name, value in fields.items():
            assert same_value(FIELDS[Level.SESSION][name], got["fields"].get(name, ""), value), (xsi_type, name)
            checked += 1
    scans = sessions[session_label(SCAN_SESSION)]["scans"]
    for scan_id, (scan_type, fields) in want["scans"].items():
        for name, value in fields.items():
            assert same_value(FIELDS[Level.SCAN][name], scans[scan_id]["fields"].get(name, ""), value), (
                scan_type,
                name,
            )
            checked += 1
    assert checked > 1000  # every field of every type that has it, not a sample

    spec = tmp_path / "xsync.yaml"
    spec.write_text(spec_text(emulator.url, want))
    assert main(["validate", "--spec", str(spec)]) == 0
    code = main(["plan", "--spec", str(spec), "--detailed-exitcode"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "No changes." in out
