"""xsync's C-STORE sender against dcmtk's `storescp`, a receiver nobody here wrote: it stores
everything xsync sends, and each stored dataset is byte for byte the local file's but for the
declared edits (the routing comment and the remaps), in every transfer syntax sent as it is.

The comparison does not use xsync's splicer: pydicom reads both sides, and the bytes before and
after the edited group (0010, Patient) must be the local file's exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from tests.dcmtk import StoreSCP
from xsync.apply.context import ApplyContext
from xsync.apply.cstore import send_cstore
from xsync.apply.files import instances
from xsync.apply.runner import Runner
from xsync.inventory.scan import scan
from xsync.spec.remap import HeaderChange
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study
from xsync.xnat.storescu import StoreTarget
from xsync.xnat.write import XnatWriter

CHANGES = (
    HeaderChange("PatientComments", "route", "Project:P Subject:sub1 Session:sub1_mr1"),
    HeaderChange("PatientID", "set", "sub1_sub1_mr1"),
    HeaderChange("PatientName", "blank"),
)
EDITED = {"PatientComments", "PatientID", "PatientName"}


def _dataset(path: Path) -> bytes:
    """The bytes after the preamble and file meta."""
    data = path.read_bytes()
    return data[132 + 12 + int.from_bytes(data[140:144], "little") :]


def _group_span(ds: Dataset, data: bytes, group: int) -> tuple[int, int]:
    """Where `group`'s first element starts and where the next group's first element starts."""
    first = min(e.tag for e in ds if e.tag.group == group)
    after = min(e.tag for e in ds if e.tag.group > group)

    def at(tag: int) -> int:
        # a top-level tag's bytes, little endian; these synthetic files hold each tag once
        needle = (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little")
        assert data.count(needle) == 1
        return data.index(needle)

    return at(first), at(after)


@pytest.mark.parametrize("syntax", ["explicit-le", "implicit-le"])
def test_storescp_stores_what_xsync_sends_byte_for_byte(tmp_path: Path, dcmtk_storescp: StoreSCP, syntax: str) -> None:
    study = StudySpec(seed=f"dcmtk-{syntax}", patient_name="Doe^Jane", patient_id="PID-7",
                      series=(SeriesSpec(1, "T1w", instances=4), SeriesSpec(2, "T2w", instances=3)))  # fmt: skip
    write_study(study, tmp_path / "dicom", transfer_syntax=syntax)
    s = scan([tmp_path / "dicom"]).studies[0]
    local = [i for series in s.series for i in instances(s, series)]
    nothing = cast(Any, None)
    ctx = ApplyContext(project="P", writer=cast(XnatWriter, nothing), read=nothing, runner=Runner(1), inventory=None)
    scp = dcmtk_storescp
    send_cstore(local, CHANGES, StoreTarget(scp.host, scp.port, scp.ae_title, "XSYNC"), ctx, "s")

    received = {dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in scp.folder.iterdir() if p.is_file()}
    assert sorted(received) == sorted(i.file.sop_instance_uid for i in local)
    for i in local:
        mine, theirs = Path(i.file.path), received[i.file.sop_instance_uid]
        before, after = dcmread(mine), dcmread(theirs)
        assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
        assert after.PatientName == "" and after.PatientID == "sub1_sub1_mr1"
        assert after.PatientComments == "Project:P Subject:sub1 Session:sub1_mr1"
        changed = {e.keyword for e in after if e.tag not in before or before[e.tag] != e}
        changed |= {e.keyword for e in before if e.tag not in after}
        assert changed <= EDITED and {"PatientID", "PatientComments"} <= changed
        local_bytes, stored = _dataset(mine), _dataset(theirs)
        start, end = _group_span(before, local_bytes, 0x0010)
        s2, e2 = _group_span(after, stored, 0x0010)
        assert (s2, stored[:s2]) == (start, local_bytes[:start])
        assert stored[e2:] == local_bytes[end:]
