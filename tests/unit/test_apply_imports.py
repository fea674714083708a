"""Import decisions on their own: which instances are missing from a scan (by XNAT's template
names, or by count when another tool named the files), which prearchive statuses mean XNAT is
still working, and local files that changed since the scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xsync.apply.files import Instance
from xsync.apply.imports import Observed, _busy, _missing, check_unchanged
from xsync.errors import ConflictError, InventoryError
from xsync.model.inventory import DicomFile

SERIES = "1.2.3.4"


def instance(n: int, path: str = "/x", size: int = 10, mtime_ns: int = 0, member: str | None = None) -> Instance:
    f = DicomFile(path, member, size, mtime_ns, f"1.2.3.4.{n}", "1.2.840.10008.5.1.4.1.1.4", SERIES, "1.2.3", str(n),
                  1, "1.2.840.10008.1.2.1")  # fmt: skip
    return Instance(None, f, f"t-{n}.dcm")  # type: ignore[arg-type]


def observed(names: set[str]) -> Observed:
    return Observed("E1", "s", "xnat:mrSessionData", "1.2.3", {SERIES: "1"}, {"1": names})


def test_missing_instances_are_known_by_xnats_template_names() -> None:
    wanted = [instance(1), instance(2), instance(3)]
    assert [i.server_name for i in _missing({SERIES: wanted}, observed({"t-1.dcm", "t-3.dcm"}))[SERIES]] == ["t-2.dcm"]
    assert _missing({SERIES: wanted}, None)[SERIES] == wanted  # no session yet: everything


def test_a_scan_named_by_another_tool_is_complete_by_count() -> None:
    wanted = [instance(1), instance(2)]
    assert _missing({SERIES: wanted}, observed({"a.dcm", "b.dcm"})) == {SERIES: []}


def test_a_short_scan_named_by_another_tool_is_a_conflict_never_a_guess() -> None:
    wanted = [instance(1), instance(2), instance(3)]
    with pytest.raises(ConflictError, match="scan 1 holds 2 of the 3 instances of series 1.2.3.4"):
        _missing({SERIES: wanted}, observed({"a.dcm", "t-2.dcm"}))


@pytest.mark.parametrize(
    ("status", "busy"),
    [("RECEIVING", True), ("BUILDING", True), ("ARCHIVING", True), ("QUEUED_BUILDING", True), ("_BUILDING", True),
     ("READY", False), ("CONFLICT", False), ("ERROR", False)],
)  # fmt: skip
def test_which_prearchive_statuses_mean_xnat_is_working(status: str, busy: bool) -> None:
    assert _busy(status) is busy


def test_a_file_changed_since_the_scan_is_refused_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    path.write_bytes(b"x" * 10)
    st = os.stat(path)
    same = instance(1, str(path), size=10, mtime_ns=st.st_mtime_ns)
    check_unchanged([same])  # as scanned: fine
    path.write_bytes(b"y" * 10)  # same size, rewritten
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(InventoryError, match="changed since the DICOM was scanned"):
        check_unchanged([same])
    path.unlink()
    with pytest.raises(InventoryError, match="cannot read it any more"):
        check_unchanged([same])


def test_a_zip_is_checked_as_a_whole_not_by_its_members_sizes(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    archive.write_bytes(b"PK" * 50)
    mtime = os.stat(archive).st_mtime_ns
    members = [instance(n, str(archive), size=999, mtime_ns=mtime, member=f"{n}.dcm") for n in (1, 2)]
    check_unchanged(members)  # member sizes are not the zip's
    os.utime(archive, ns=(mtime, mtime + 1_000_000))
    with pytest.raises(InventoryError):
        check_unchanged(members)
