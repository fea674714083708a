"""read_project against the emulator: a fixed number of requests whatever the project's size,
and a result equal, field by field, to what the emulator holds."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
import requests

from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.seed import ScanSeed
from xsync.emulator.store import Store
from xsync.model.fields import FIELDS, Level
from xsync.model.remote import RemoteState
from xsync.testing.dicomgen import StudySpec, make_dataset, to_bytes
from xsync.xnat.client import XnatClient
from xsync.xnat.read import read_project
from xsync.xnat.settings import ConnectionSettings, Credentials

TYPES = ["T1w", "T2w", "rfMRI", "tfMRI", "dMRI", "SpinEcho", "FieldMap", "BIAS", "Localizer", "AAHScout"]


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(strict=request.param)) as e:
        yield e


def seed_project(emu: Emulator, project: str, subjects: int, sessions: int = 2, scans: int = 10) -> None:
    for i in range(subjects):
        label = f"sub{i:04d}"
        emu.seed.add_subject(
            project,
            label,
            fields={"gender": "female" if i % 2 else "male", "age": str(20 + i % 40)},
            custom={"site": "LONI"} if i % 3 == 0 else {},
        )
        for j in range(sessions):
            emu.seed.add_session(
                project,
                label,
                f"{label}_v{j + 1}",
                fields={"scanner": "SIEMENS", "date": "2024-01-31", "UID": f"1.2.{i}.{j}"},
                scans=[
                    ScanSeed(
                        str(k), fields={"type": TYPES[k - 1], "quality": "usable", "UID": f"1.2.{i}.{j}.{k}"}, files=2
                    )
                    for k in range(1, scans + 1)
                ],
            )


def read(emu: Emulator, project: str, **kw: object) -> tuple[RemoteState, int]:
    emu.clear_log()
    with XnatClient(ConnectionSettings(emu.url, Credentials("admin", "admin"))) as client:
        state = read_project(client, project, **kw)  # type: ignore[arg-type]
    return state, len(emu.requests)


def test_request_count_does_not_grow_with_the_project(emu: Emulator) -> None:
    seed_project(emu, "SMALL", subjects=1)
    seed_project(emu, "BIG", subjects=1000)
    small, small_requests = read(emu, "SMALL")
    big, big_requests = read(emu, "BIG")
    assert small.counts() == {"subjects": 1, "sessions": 2, "scans": 20, "prearchive": 0}
    assert big.counts() == {"subjects": 1000, "sessions": 2000, "scans": 20000, "prearchive": 0}
    # login, subjects, experiments, session fields and scans (one session type), prearchive, logout
    assert small_requests == big_requests == 7
    assert_equal_to_store(big, emu.store)
    counted, counted_requests = read(emu, "SMALL", count_sessions="all")
    assert counted_requests == 7 + 2  # file counts cost one request per session that needs them
    assert_equal_to_store(counted, emu.store)


def test_file_counts_that_cannot_be_read_are_said_not_guessed(emu: Emulator) -> None:
    seed_project(emu, "P", subjects=1, sessions=1, scans=2)
    emu.knobs.queue_faults(*[None] * 6, "503", "503", "503", "503", "503", "503")  # the resource listing fails
    state, _ = read(emu, "P", count_sessions={"sub0000_v1"})
    session = state.subjects["sub0000"].sessions["sub0000_v1"]
    assert not session.resources_read and session.scans["1"].resources == {}
    assert state.notes == ("file counts of session sub0000_v1 could not be read (HTTP 503): missing files not checked",)


def test_result_equals_the_emulator_field_by_field(emu: Emulator) -> None:
    seed = emu.seed
    seed.add_subject("P", "s1", fields={"gender": "female", "age": "25", "handedness": "right", "race": "x&amp;y"},
                     custom={"site": "LONI", "cohort": "A"})  # fmt: skip
    seed.add_subject("P", "s2")  # no fields, no custom variables
    seed.add_session("P", "s1", "mr1", fields={"scanner": "MEDPC", "date": "2006-12-14", "time": "09:12:06",
                     "fieldStrength": "3.0", "note": "a <b>", "UID": "1.2.3"}, custom={"visit": "baseline"},
                     scans=[ScanSeed("4", fields={"type": "T1w", "series_description": "t1_mpr", "frames": "176",
                                                 "UID": "1.2.3.4", "coil": "HEA"}, files=3),
                            ScanSeed("5", xsi_type="xnat:scScanData", fields={"type": "SC"}, files=1),
                            ScanSeed("6", fields={"type": "nofiles"})])  # fmt: skip
    seed.add_session("P", "s2", "ct1", xsi_type="xnat:ctSessionData", fields={"scanner": "CT1"},
                     scans=[ScanSeed("1", xsi_type="xnat:ctScanData", fields={"type": "HEAD"}, files=2)])  # fmt: skip
    seed.add_session("P", "s2", "mr0", scans=[])  # a session without scans
    state, requests_made = read(
        emu, "P", probe_scan_types=("xnat:mrScanData", "xnat:scScanData", "xnat:ctScanData"), count_sessions={"mr1"}
    )
    assert [se.resources_read for s in state.subjects.values() for se in s.sessions.values()] == [True, False, False]
    # login and logout, subjects, experiments, per session type (ct, mr) sessions, scans and 3 probes,
    # the prearchive, and one more for mr1's file counts
    assert requests_made == 2 + 2 + 2 * (2 + 3) + 1 + 1
    assert_equal_to_store(state, emu.store, typed=True)
    mr1 = state.subjects["s1"].sessions["mr1"]
    assert mr1.fields["note"] == "a <b>" and state.subjects["s1"].fields["race"] == "x&y"
    assert mr1.scans["4"].fields["coil"] == "HEA" and mr1.scans["4"].xsi_type == "xnat:mrScanData"
    assert mr1.scans["5"].xsi_type == "xnat:scScanData"
    assert state.subjects["s2"].sessions["mr0"].scans == {}


def test_prearchive_rows_are_read(emu: Emulator) -> None:
    emu.seed.add_project("P")
    body = to_bytes(make_dataset(StudySpec(), 0, 1))
    r = requests.post(
        emu.url + "/data/services/import",
        params={"import-handler": "gradual-DICOM", "PROJECT_ID": "P", "SUBJECT_ID": "s1", "EXPT_LABEL": "e1"},
        data=body,
        headers={"Content-Type": "application/dicom"},
        auth=("admin", "admin"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    state, _ = read(emu, "P")
    [entry] = state.prearchive
    assert entry.status == "RECEIVING" and entry.name == "e1" and entry.study_uid == StudySpec().uid


def _unescape(fields: dict[str, str]) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in fields.items() if v != ""}


def assert_equal_to_store(state: RemoteState, store: Store, *, typed: bool = False) -> None:
    """Every object of the project and every field xsync reads, compared with the store."""
    by_path = {
        level: {p.path: f.name for f in FIELDS[level].values() if not f.phi for p in f.placements} for level in Level
    }
    project = state.project
    subjects = {s.label: s for s in store.subjects.values() if s.project == project}
    assert set(state.subjects) == set(subjects)
    for label, stored in subjects.items():
        got = state.subjects[label]
        assert got.id == stored.id
        want = {
            by_path[Level.SUBJECT][p]: v for p, v in _unescape(stored.fields).items() if p in by_path[Level.SUBJECT]
        }
        assert dict(got.fields) == want, label
        assert dict(got.custom) == _unescape(stored.custom)
        sessions = {
            e.label: e for e in store.experiments.values() if e.project == project and e.subject_id == stored.id
        }
        assert set(got.sessions) == set(sessions)
        for e_label, e in sessions.items():
            se = got.sessions[e_label]
            assert (se.id, se.xsi_type) == (e.id, e.xsi_type)
            want = {by_path[Level.SESSION][p]: v for p, v in _unescape(e.fields).items() if p in by_path[Level.SESSION]}
            assert dict(se.fields) == want, e_label
            assert dict(se.custom) == _unescape(e.custom)
            assert list(se.scans) == list(e.scans)
            for scan_id, sc in e.scans.items():
                rsc = se.scans[scan_id]
                scan_paths = by_path[Level.SCAN]
                own = {p: n for p, n in scan_paths.items() if typed or FIELDS[Level.SCAN][n].generic}
                want = {own[p]: v for p, v in _unescape(sc.fields).items() if p in own}
                if not typed or rsc.xsi_type != "xnat:mrScanData":
                    want = {k: v for k, v in want.items() if FIELDS[Level.SCAN][k].generic}
                assert dict(rsc.fields) == want, f"{e_label}/{scan_id}"
                stored = {k: (len(r.files), sum(f.size for f in r.files.values())) for k, r in sc.resources.items()}
                read = {k: (r.file_count, r.file_size) for k, r in rsc.resources.items()}
                assert read == (stored if se.resources_read else {})
                if typed:
                    assert rsc.xsi_type == sc.xsi_type
