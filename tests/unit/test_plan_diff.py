"""Table-driven tests of the diff: (desired, remote) -> operations and conflicts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from xsync.model.address import Address
from xsync.model.desired import (
    DesiredScan,
    DesiredSession,
    DesiredState,
    DesiredSubject,
    FieldValue,
    LocalSeries,
    LocalStudy,
)
from xsync.model.frozen import FrozenMap
from xsync.model.remote import (
    PrearchiveEntry,
    RemoteResource,
    RemoteScan,
    RemoteSession,
    RemoteState,
    RemoteSubject,
)
from xsync.plan.diff import diff

MR = "xnat:mrSessionData"


def fv(**values: str) -> FrozenMap[str, FieldValue]:
    return FrozenMap({k: FieldValue(v) for k, v in values.items()})


def series(uid: str, scan_id: str, desc: str = "T1w_MPR", n: int = 3) -> LocalSeries:
    return LocalSeries(
        uid=uid,
        scan_id=scan_id,
        xsi_type="xnat:mrScanData",
        description=desc,
        instances=n,
        bytes=n * 1000,
        predicted=FrozenMap({"type": desc, "series_description": desc, "UID": uid}),
    )


STUDY = LocalStudy(
    uid="1.2.study",
    date="2024-01-31",
    xsi_type=MR,
    series=(series("1.2.s1", "1"), series("1.2.s2", "2", "rfMRI_REST", 5)),
    predicted=FrozenMap({"scanner": "SYNSTATION", "date": "2024-01-31", "UID": "1.2.study"}),
)


def desired(
    subject_fields: dict[str, str] | None = None,
    session_fields: dict[str, str] | None = None,
    scans: dict[str, DesiredScan] | None = None,
    *,
    study: LocalStudy | None = STUDY,
    subject_absent: bool = False,
    session_absent: bool = False,
    custom: dict[str, str] | None = None,
) -> DesiredState:
    session = DesiredSession(
        label="session1",
        xsi_type=MR,
        fields=fv(**(session_fields or {})),
        study=study,
        absent=session_absent,
        scans=FrozenMap(scans or {}),
    )
    subject = DesiredSubject(
        label="sub1",
        fields=fv(**(subject_fields or {})),
        custom=fv(**(custom or {})),
        absent=subject_absent,
        sessions=FrozenMap({"session1": session}),
    )
    return DesiredState("P", FrozenMap({"sub1": subject}))


def rscan(scan_id: str, uid: str, files: int = 3, **fields: str) -> RemoteScan:
    return RemoteScan(
        id=scan_id,
        xsi_type="xnat:mrScanData",
        fields=FrozenMap({"UID": uid, **fields}),
        resources=FrozenMap({"DICOM": RemoteResource("DICOM", files, files * 1000, "DICOM")}),
    )


@dataclass
class R:
    subject_fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    session: bool = True
    session_fields: dict[str, str] = field(default_factory=lambda: {"UID": "1.2.study", "scanner": "SIEMENS"})
    scans: dict[str, RemoteScan] = field(
        default_factory=lambda: {
            "1": rscan("1", "1.2.s1", type="T1w"),
            "2": rscan("2", "1.2.s2", 5, type="rfMRI_REST"),
        }
    )
    subject: bool = True
    session_subject: str = "XNAT_S00001"
    prearchive: tuple[PrearchiveEntry, ...] = ()

    def build(self) -> RemoteState:
        subjects = {}
        if self.subject:
            sessions = {}
            if self.session:
                sessions["session1"] = RemoteSession(
                    id="XNAT_E00001",
                    label="session1",
                    xsi_type=MR,
                    subject_id=self.session_subject,
                    fields=FrozenMap(self.session_fields),
                    scans=FrozenMap(self.scans),
                    resources_read=True,
                )
            subjects["sub1"] = RemoteSubject(
                "XNAT_S00001", "sub1", FrozenMap(self.subject_fields), FrozenMap(self.custom), FrozenMap(sessions)
            )
        return RemoteState("http://x", "P", FrozenMap(subjects), self.prearchive)


def kinds(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{op.kind} {op.address}" for op in result.operations]


CASES = [
    pytest.param(
        desired({"gender": "female", "age": "25"}, {"scanner": "SIEMENS"}, {"1": DesiredScan("1", fv(type="T1w"))}),
        R(subject=False),
        ["create_subject P/sub1", "import_session P/sub1/session1", "update_session P/sub1/session1",
         "update_scan P/sub1/session1/scan:1"],
        id="everything-new",
    ),
    pytest.param(
        desired({"gender": "female", "age": "25"}, {"scanner": "SIEMENS"}, {"1": DesiredScan("1", fv(type="T1w"))}),
        R(subject_fields={"gender": "Female", "age": "25.0"}),
        [],
        id="converged-after-normalisation",
    ),
    pytest.param(
        desired({"gender": "male"}), R(subject_fields={"gender": "female"}), ["update_subject P/sub1"],
        id="subject-field-drift",
    ),
    pytest.param(desired(custom={"site": "LONI & WU"}), R(custom={"site": "LONI & WU"}), [], id="custom-equal"),
    pytest.param(
        desired(custom={"site": "&lt;"}), R(custom={"site": "<"}), ["update_subject P/sub1"], id="literal-entity"
    ),
    pytest.param(
        desired(custom={"site": "WU"}), R(custom={"site": "LONI"}), ["update_subject P/sub1"], id="custom-drift"
    ),
    pytest.param(
        desired(scans={"1": DesiredScan("1", fv(type="T1w", quality="questionable"))}),
        R(),
        ["update_scan P/sub1/session1/scan:1"],
        id="scan-field-on-existing-scan",
    ),
    pytest.param(
        desired(),
        R(scans={"1": rscan("1", "1.2.s1")}),
        ["append_series P/sub1/session1"],
        id="missing-series-appended",
    ),
    pytest.param(
        desired(),
        R(scans={"1": rscan("1", "1.2.s1", files=1), "2": rscan("2", "1.2.s2", 5)}),
        ["resend_instances P/sub1/session1/scan:1"],
        id="missing-instances-resent",
    ),
    pytest.param(desired(session_absent=True), R(), ["delete_session P/sub1/session1"], id="session-absent"),
    pytest.param(desired(session_absent=True), R(session=False), [], id="absent-and-gone"),
    pytest.param(desired(subject_absent=True), R(), ["delete_subject P/sub1"], id="subject-absent"),
    pytest.param(
        desired(scans={"2": DesiredScan("2", absent=True)}), R(), ["delete_scan P/sub1/session1/scan:2"],
        id="scan-absent",
    ),
    pytest.param(
        desired(session_fields={"scanner": "SIEMENS"}, study=None), R(), [], id="no-binding-but-on-server",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("want", "remote", "expected"), CASES)
def test_diff_operations(want: DesiredState, remote: R, expected: list[str]) -> None:
    result = diff(want, remote.build())
    assert result.conflicts == ()
    assert kinds(result) == expected


def test_import_then_puts_use_predicted_values_as_before() -> None:
    result = diff(
        desired(session_fields={"scanner": "SIEMENS"}, scans={"1": DesiredScan("1", fv(type="T1w"))}),
        R(session=False).build(),
    )
    ops = {op.kind: op for op in result.operations}
    assert ops["import_session"].instances == 8 and ops["import_session"].bytes == 8000
    assert [s.scan_id for s in ops["import_session"].series] == ["1", "2"]
    [change] = ops["update_session"].changes
    assert (change.name, change.before, change.after) == ("scanner", "SYNSTATION", "SIEMENS")
    [scan_change] = ops["update_scan"].changes
    assert (scan_change.before, scan_change.after) == ("T1w_MPR", "T1w")
    assert ops["update_scan"].session_id == ""  # known only after the import
    assert ops["update_scan"].after_import and ops["update_session"].after_import


def test_a_scan_type_already_what_xnat_will_set_needs_no_put() -> None:
    result = diff(desired(scans={"1": DesiredScan("1", fv(type="T1w_MPR"))}), R(session=False).build())
    assert [op.kind for op in result.operations] == ["import_session"]


CONFLICTS = [
    pytest.param(
        desired(), R(session_fields={"UID": "9.9.other"}),
        "P/sub1/session1: the session on the server holds study 9.9.other; the bound local study is 1.2.study",
        id="different-study-uid",
    ),
    pytest.param(
        desired(), R(session_subject="XNAT_S00077"),
        "P/sub1/session1: the session (XNAT_E00001) exists on the server under subject XNAT_S00077, not sub1",
        id="session-under-another-subject",
    ),
    pytest.param(
        desired(), R(scans={"1": rscan("1", "1.2.other"), "2": rscan("2", "1.2.s2", 5)}),
        "P/sub1/session1/scan:1: scan 1 on the server is series 1.2.other; the local series 1.2.s1 would take the "
        "same ID",
        id="scan-id-with-other-series",
    ),
    pytest.param(
        desired(study=None), R(subject=False),
        "P/sub1/session1: the session is not on the server and has no DICOM binding to import it from",
        id="nothing-to-import-from",
    ),
    pytest.param(
        desired(scans={"7": DesiredScan("7", fv(type="x"))}), R(session=False),
        "P/sub1/session1/scan:7: the scan is in the spec but not in the bound DICOM study",
        id="spec-scan-without-series",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("want", "remote", "message"), CONFLICTS)
def test_conflicts(want: DesiredState, remote: R, message: str) -> None:
    result = diff(want, remote.build())
    assert [str(c) for c in result.conflicts] == [message]


def test_unmanaged_objects_are_reported_never_touched() -> None:
    r = R(scans={"1": rscan("1", "1.2.s1"), "2": rscan("2", "1.2.s2", 5), "99": rscan("99", "1.2.x")}).build()
    result = diff(desired(), r)
    assert result.operations == ()
    assert Address("P", "sub1", "session1", "99") in result.unmanaged


def test_pending_prearchive_entries_name_only_spec_sessions() -> None:
    entries = (
        PrearchiveEntry("20240101_000000000", "session1", "session1", "sub1", "1.2.study", "READY", "/prearchive/x"),
        PrearchiveEntry("20240101_000000001", "Doe_J", "Doe_J", "Doe_John", "7.7.7", "RECEIVING", "/prearchive/y"),
    )
    result = diff(desired(), R(subject=False, prearchive=entries).build())
    assert [(p.session, p.status) for p in result.pending] == [("session1", "READY"), ("", "RECEIVING")]
    imp = next(op for op in result.operations if op.kind == "import_session")
    assert imp.prearchive == "20240101_000000000"


def test_scan_of_an_appended_series_is_updated_after_the_append() -> None:
    # The spec names scan 2 without attaching its series: the diff finds it in the bound study.
    result = diff(
        desired(scans={"2": DesiredScan("2", fv(type="rfMRI"))}), R(scans={"1": rscan("1", "1.2.s1")}).build()
    )
    ops = [(op.kind, str(op.address)) for op in result.operations]
    assert ops == [("append_series", "P/sub1/session1"), ("update_scan", "P/sub1/session1/scan:2")]
    update = result.operations[1]
    assert update.after_import and update.changes[0].before == "rfMRI_REST"


def test_a_field_the_scan_type_lacks_is_a_conflict() -> None:
    sc = RemoteScan("1", "xnat:scScanData", FrozenMap({"UID": "1.2.s1"}), FrozenMap())
    result = diff(desired(scans={"1": DesiredScan("1", fv(coil="HEA"))}, study=None), R(scans={"1": sc}).build())
    assert [str(c) for c in result.conflicts] == [
        "P/sub1/session1/scan:1: the scan is a xnat:scScanData, which has no coil"
    ]


def test_series_of_an_absent_scan_are_never_sent() -> None:
    want = desired(scans={"2": DesiredScan("2", absent=True)})
    imported = diff(want, R(session=False).build()).operations[0]
    assert imported.kind == "import_session" and [s.scan_id for s in imported.series] == ["1"]
    assert (imported.instances, imported.bytes) == (3, 3000)
    appended = diff(want, R(scans={"1": rscan("1", "1.2.s1")}).build())
    assert appended.operations == ()  # series 2 is missing on the server, as the spec wants


def test_an_absent_scan_is_deleted_by_its_series_not_by_the_id_it_would_have() -> None:
    # The server gave ID 2 to another series (a rescan); the local series the spec marks absent
    # (predicted ID 2) is on the server as 2-MR1: that one goes, the rescan stays.
    want = desired(scans={"2": DesiredScan("2", absent=True)})
    scans = {"1": rscan("1", "1.2.s1"), "2": rscan("2", "1.2.rescan"), "2-MR1": rscan("2-MR1", "1.2.s2", 5)}
    [op] = [op for op in diff(want, R(scans=scans).build()).operations if op.kind == "delete_scan"]
    assert str(op.address) == "P/sub1/session1/scan:2-MR1"


def test_an_absent_scan_whose_id_holds_another_series_is_a_conflict_not_a_deletion() -> None:
    want = desired(scans={"2": DesiredScan("2", absent=True)})
    result = diff(want, R(scans={"1": rscan("1", "1.2.s1"), "2": rscan("2", "1.2.rescan")}).build())
    assert not [op for op in result.operations if op.kind == "delete_scan"]
    assert [str(c) for c in result.conflicts] == [
        "P/sub1/session1/scan:2: scan 2 on the server is series 1.2.rescan, not the local series 1.2.s2 the spec "
        "marks absent; refusing to delete another series"
    ]


def test_subject_labels_differing_only_in_case_are_a_conflict() -> None:
    want = DesiredState("P", FrozenMap({"SUB1": DesiredSubject("SUB1", fv(gender="male"))}))
    result = diff(want, R().build())
    assert [str(c) for c in result.conflicts] == [
        "P/SUB1: the server has subject sub1, which XNAT's archiver takes for the same subject (labels that "
        "differ only in case); use the server's spelling"
    ]


def test_a_study_already_archived_under_another_label_is_not_imported_again() -> None:
    remote = R(session_fields={"UID": "1.2.study"}).build()
    renamed = RemoteState(
        remote.server,
        remote.project,
        FrozenMap(
            {
                "sub1": RemoteSubject(
                    "XNAT_S00001",
                    "sub1",
                    sessions=FrozenMap(
                        {"OLD": RemoteSession("XNAT_E00009", "OLD", MR, "XNAT_S00001", FrozenMap({"UID": "1.2.study"}))}
                    ),
                )
            }
        ),
    )
    result = diff(desired(), renamed)
    assert [str(c) for c in result.conflicts] == [
        "P/sub1/session1: study 1.2.study is already on the server as session OLD (XNAT_E00009); importing it "
        "again would make a second copy"
    ]
