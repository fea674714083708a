"""What a saved plan's digests cover: a change the plan depends on must change them."""

from __future__ import annotations

from tests.unit.test_plan_diff import MR, STUDY, R, desired, fv, rscan
from xsync.model.desired import DesiredSession, DesiredState, DesiredSubject, LocalSeries, LocalStudy
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteSession, RemoteState, RemoteSubject
from xsync.plan.build import HIDDEN, build_plan
from xsync.plan.fingerprint import fingerprint, local_dependencies, remote_dependencies


def build(want: DesiredState, remote: RemoteState, **kw: bool):  # type: ignore[no-untyped-def]
    return build_plan(want, remote, spec_digest="s", inventory_digest="i", version="t", **kw)


def test_sessions_added_under_an_absent_subject_make_the_plan_stale() -> None:
    want = desired(subject_absent=True)
    before = R().build()
    sub1 = before.subjects["sub1"]
    extra = RemoteSession("XNAT_E00099", "extra", MR, sub1.id)
    grown = RemoteState(
        before.server,
        before.project,
        FrozenMap({"sub1": RemoteSubject(sub1.id, "sub1", sessions=FrozenMap({**sub1.sessions, "extra": extra}))}),
    )
    assert build(want, before).remote_fingerprint != build(want, grown).remote_fingerprint


def test_scan_types_and_file_counts_are_fingerprinted() -> None:
    want = desired()
    base = remote_dependencies(want, R().build())
    fewer = remote_dependencies(want, R(scans={"1": rscan("1", "1.2.s1", files=2)}).build())
    assert fingerprint(base) != fingerprint(fewer)


def test_unrelated_server_changes_do_not_make_the_plan_stale() -> None:
    want = desired()
    base = R().build()
    other = RemoteState(
        base.server, base.project, FrozenMap({**base.subjects, "zzz": RemoteSubject("XNAT_S00099", "zzz")})
    )
    assert build(want, base).remote_fingerprint == build(want, other).remote_fingerprint


def test_a_retyped_series_description_changes_the_inventory_digest() -> None:
    s = STUDY.series[0]
    retyped = LocalSeries(s.uid, s.scan_id, s.xsi_type, "X1w_MPR", s.instances, s.bytes, s.predicted)
    other = LocalStudy(STUDY.uid, STUDY.date, STUDY.xsi_type, (retyped, *STUDY.series[1:]), STUDY.predicted)
    a = fingerprint(local_dependencies(desired(), "files"))
    b = fingerprint(local_dependencies(desired(study=other), "files"))
    assert a != b


def test_birth_dates_are_compared_but_hidden_unless_asked() -> None:
    want = DesiredState("P", FrozenMap({"sub1": DesiredSubject("sub1", fv(dob="1990-01-01"))}))
    same = RemoteState(
        "http://x", "P", FrozenMap({"sub1": RemoteSubject("S1", "sub1", FrozenMap({"dob": "1990-01-01"}))})
    )
    other = RemoteState(
        "http://x", "P", FrozenMap({"sub1": RemoteSubject("S1", "sub1", FrozenMap({"dob": "1980-02-02"}))})
    )
    assert build(want, same).operations == ()
    [op] = build(want, other).operations
    assert (op.changes[0].before, op.changes[0].after) == (HIDDEN, HIDDEN)
    [shown] = build(want, other, show_phi=True).operations
    assert (shown.changes[0].before, shown.changes[0].after) == ("1980-02-02", "1990-01-01")


def test_unmanaged_objects_enter_the_plan_only_when_asked() -> None:
    remote = R(scans={"1": rscan("1", "1.2.s1"), "2": rscan("2", "1.2.s2", 5), "9": rscan("9", "1.2.x")}).build()
    assert build(desired(), remote).unmanaged == ()
    assert [str(a) for a in build(desired(), remote, show_unmanaged=True).unmanaged] == ["P/sub1/session1/scan:9"]


def test_session_shape_used_by_the_fingerprint() -> None:
    # DesiredSession without a study is fingerprinted by label only
    want = DesiredState(
        "P",
        FrozenMap({"sub1": DesiredSubject("sub1", sessions=FrozenMap({"s": DesiredSession("s", MR)}))}),
    )
    assert remote_dependencies(want, R().build())["sessions"] == {}
