"""What a saved plan's digests cover: a change the plan depends on must change them."""

from __future__ import annotations

import datetime as dt
import json

from tests.unit.test_plan_diff import MR, STUDY, R, desired, fv, rscan
from xsync.model.desired import DesiredSession, DesiredState, DesiredSubject, LocalSeries, LocalStudy
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteSession, RemoteState, RemoteSubject
from xsync.plan.build import build_plan
from xsync.plan.fingerprint import (
    fingerprint,
    local_dependencies,
    part_digests,
    remote_dependencies,
    remote_fingerprint,
    short_parts,
)
from xsync.plan.mask import HIDDEN, masked
from xsync.render.jsonplan import render_json
from xsync.render.markdown import render_markdown
from xsync.render.text import render_text


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


def _with_dob(dob: str) -> RemoteState:
    return RemoteState("http://x", "P", FrozenMap({"sub1": RemoteSubject("S1", "sub1", FrozenMap({"dob": dob}))}))


def test_birth_dates_are_compared_and_kept_for_apply_but_hidden_when_shown() -> None:
    want = DesiredState("P", FrozenMap({"sub1": DesiredSubject("sub1", fv(dob="1990-01-01"))}))
    assert build(want, _with_dob("1990-01-01")).operations == ()
    plan = build(want, _with_dob("1980-02-02"))
    [op] = plan.operations
    assert (op.changes[0].before, op.changes[0].after) == ("1980-02-02", "1990-01-01")  # what apply sends
    [shown] = masked(plan).operations
    assert (shown.changes[0].before, shown.changes[0].after) == (HIDDEN, HIDDEN)
    for text in (render_text(plan), render_markdown(plan), render_json(plan)):
        assert "1980" not in text and "1990" not in text and HIDDEN in text
    assert "1980-02-02" in render_json(plan, show_phi=True)


def test_a_hidden_birth_date_cannot_be_recovered_by_trying_every_date() -> None:
    """The attack on a saved plan: rebuild the digests it carries for every date of 1900-2029
    and see which date reproduces them. It must not single out the server's birth date."""
    want = DesiredState("P", FrozenMap({"sub1": DesiredSubject("sub1", fv(dob="1990-01-01"))}))
    secret = "1983-07-14"
    saved = json.loads(render_json(build(want, _with_dob(secret))))
    assert secret not in json.dumps(saved)
    day, last, matches, tried = dt.date(1900, 1, 1), dt.date(2029, 12, 31), [], 0
    while day <= last:
        parts = part_digests(remote_dependencies(want, _with_dob(day.isoformat())))
        if short_parts(parts) == saved["remote_parts"] and remote_fingerprint(parts) == saved["remote_fingerprint"]:
            matches.append(day.isoformat())
        tried += 1
        day += dt.timedelta(days=1)
    assert secret in matches  # the attack is sound: the true date does reproduce the digests...
    assert len(matches) == tried  # ...but so does every other date: nothing singles it out


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
