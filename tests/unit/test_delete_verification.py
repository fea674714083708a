"""A deletion is done only when the read-back no longer holds the object, at every level (an
address names no session or scan with "", which the check must not take for a name)."""

from __future__ import annotations

from xsync.apply.deletes import _gone
from xsync.model.address import Address
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.plan.ops import DeleteScan, DeleteSession, DeleteSubject

SCAN = RemoteScan("1", "xnat:mrScanData")
SESSION = RemoteSession("XNAT_E1", "s1", "xnat:mrSessionData", "XNAT_S1", scans=FrozenMap({"1": SCAN}))
SUBJECT = RemoteSubject("XNAT_S1", "sub1", sessions=FrozenMap({"s1": SESSION}))
HELD = RemoteState("https://x", "P", FrozenMap({"sub1": SUBJECT}))
EMPTY = RemoteState("https://x", "P")


def test_each_level_is_verified_gone() -> None:
    ops = [
        DeleteSubject(address=Address("P", "sub1"), subject_id="XNAT_S1", sessions=1),
        DeleteSession(address=Address("P", "sub1", "s1"), session_id="XNAT_E1", scans=1),
        DeleteScan(address=Address("P", "sub1", "s1", "1"), session_id="XNAT_E1", files=0),
    ]
    for op in ops:
        assert "still there" in _gone(op, HELD), op.kind
        assert _gone(op, EMPTY) == "", op.kind
