"""xsync's C-STORE sender against a pynetdicom SCP (a peer xsync did not write), over a real
association: what the peer stores arrives byte for byte; per-object failure statuses are
collected, not fatal; a refused association names the reason; an association the peer aborts
is opened again for what it did not store, and nothing stored is sent twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.events import Event

from xsync.apply.context import ApplyContext
from xsync.apply.cstore import send_cstore
from xsync.apply.files import Instance, instances
from xsync.apply.runner import Runner
from xsync.errors import RemoteError, TransportError
from xsync.inventory.scan import scan
from xsync.spec.remap import HeaderChange
from xsync.testing.dicomgen import SeriesSpec, StudySpec, write_study, zip_study
from xsync.xnat.storescu import StoreAssociation, StoreTarget
from xsync.xnat.write import XnatWriter

STUDY = StudySpec(seed="scu", series=(SeriesSpec(1, "T1w", instances=6), SeriesSpec(2, "T2w", instances=4)))


class Peer:
    """A pynetdicom Storage SCP on a free port; `decide(uid, n)` gives each C-STORE's status
    (n counts the stores of this association) or "abort"."""

    def __init__(self, decide: Callable[[str, int], int | str]) -> None:
        self.decide = decide
        self.stored: list[tuple[str, bytes]] = []  # (SOP instance UID, dataset bytes)
        self.associations = 0
        self._lock = threading.Lock()
        ae = AE(ae_title="PEER")
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        handlers: list[Any] = [(evt.EVT_C_STORE, self._store), (evt.EVT_ACCEPTED, self._accepted)]
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
        self.port = int(self.server.server_address[1])
        self._count: dict[int, int] = {}

    def _accepted(self, event: Event) -> None:
        with self._lock:
            self.associations += 1

    def _store(self, event: Event) -> int:
        key = id(event.assoc)
        with self._lock:
            self._count[key] = n = self._count.get(key, 0) + 1
        uid = str(event.request.AffectedSOPInstanceUID)
        status = self.decide(uid, n)
        if status == "abort":
            event.assoc.abort()
            return 0xA700
        if status == 0:
            with self._lock:
                self.stored.append((uid, event.encoded_dataset(include_meta=False)))
        return int(status)

    def target(self, called: str = "PEER") -> StoreTarget:
        return StoreTarget("127.0.0.1", self.port, called, "XSYNC", connect_timeout=5, response_timeout=10)


@pytest.fixture
def peer_factory() -> Iterator[Callable[[Callable[[str, int], int | str]], Peer]]:
    peers: list[Peer] = []

    def make(decide: Callable[[str, int], int | str]) -> Peer:
        peers.append(Peer(decide))
        return peers[-1]

    yield make
    for p in peers:
        p.server.shutdown()


@pytest.fixture
def local(tmp_path: Path) -> list[Instance]:
    write_study(STUDY, tmp_path / "dicom")
    inventory = scan([tmp_path / "dicom"], cache_path=None)
    study = inventory.studies[0]
    return [i for s in study.series for i in instances(study, s)]


def _ctx() -> ApplyContext:
    # send_cstore reads nothing from the server: no writer, no reads
    return ApplyContext(
        project="P", writer=cast(XnatWriter, None), read=cast(Any, None), runner=Runner(1), inventory=None
    )


def _dataset_bytes(path: str) -> bytes:
    data = Path(path).read_bytes()
    return data[132 + 12 + int.from_bytes(data[140:144], "little") :]


def test_every_object_arrives_byte_for_byte(peer_factory: Any, local: list[Instance]) -> None:
    peer = peer_factory(lambda uid, n: 0)
    sent = send_cstore(local, (), peer.target(), _ctx(), "s")
    assert sorted(uid for uid, _ in peer.stored) == sorted(i.file.sop_instance_uid for i in local)
    by_uid = dict(peer.stored)
    for i in local:
        assert by_uid[i.file.sop_instance_uid] == _dataset_bytes(i.file.path)
    assert sent == sum(len(d) for _, d in peer.stored) and peer.associations == 1


def test_refusals_are_collected_and_the_rest_stored(peer_factory: Any, local: list[Instance]) -> None:
    bad = {local[1].file.sop_instance_uid, local[7].file.sop_instance_uid}
    peer = peer_factory(lambda uid, n: 0xC000 if uid in bad else 0)
    with pytest.raises(RemoteError, match=r"refused 2 of 10 objects \(first: .*status 0xC000"):
        send_cstore(local, (), peer.target(), _ctx(), "s")
    assert len(peer.stored) == 8 and not bad & {uid for uid, _ in peer.stored}


def test_an_aborted_association_is_reopened_for_what_was_not_stored(peer_factory: Any, local: list[Instance]) -> None:
    first = threading.Event()

    def decide(uid: str, n: int) -> int | str:
        if n == 4 and not first.is_set():
            first.set()
            return "abort"
        return 0

    peer = peer_factory(decide)
    send_cstore(local, (), peer.target(), _ctx(), "s")
    uids = [uid for uid, _ in peer.stored]
    assert sorted(uids) == sorted(i.file.sop_instance_uid for i in local)  # each exactly once
    assert peer.associations == 2


def test_a_peer_that_keeps_aborting_is_an_error_saying_how_far_it_got(peer_factory: Any, local: list[Instance]) -> None:
    peer = peer_factory(lambda uid, n: "abort" if n == 2 else 0)
    with pytest.raises(TransportError, match=r"aborted the association; 3 of 10 objects were sent"):
        send_cstore(local, (), peer.target(), _ctx(), "s")
    assert peer.associations == 3 and len(peer.stored) == 3


def test_the_routing_comment_is_in_the_bytes_sent(peer_factory: Any, local: list[Instance]) -> None:
    peer = peer_factory(lambda uid, n: 0)
    route = HeaderChange("PatientComments", "route", "Project:P Subject:S Session:E")
    send_cstore(local, (route,), peer.target(), _ctx(), "s")
    assert all(b"Project:P Subject:S Session:E " in data for _, data in peer.stored)


def test_a_wrong_called_ae_title_is_refused_by_name(peer_factory: Any) -> None:
    peer = peer_factory(lambda uid, n: 0)
    peer.server.ae.require_called_aet = True
    association = StoreAssociation(peer.target("NOT_PEER"), [("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.2.1")])
    with pytest.raises(TransportError, match="does not recognise the called AE title"):
        association.open()


def test_nothing_listening_is_a_connection_error() -> None:
    from tests.network import free_port

    target = StoreTarget("127.0.0.1", free_port(), "PEER", "XSYNC", connect_timeout=2)
    with pytest.raises(TransportError, match="cannot connect to the DICOM receiver at 127.0.0.1:.*refused"):
        StoreAssociation(target, [("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.2.1")]).open()


def test_objects_inside_zips_and_gzip_files_are_sent_with_their_edits(peer_factory: Any, tmp_path: Path) -> None:
    import gzip
    import io
    import zipfile

    from pydicom import dcmread

    root = tmp_path / "dicom"
    zip_study(STUDY, root / "study.zip")
    with zipfile.ZipFile(root / "study.zip") as z:
        first = z.namelist()[0]
        (root / "one.dcm.gz").write_bytes(gzip.compress(z.read(first)))
    inventory = scan([root])
    study = inventory.studies[0]
    chosen = [i for s in study.series for i in instances(study, s)]
    assert any(i.file.gzipped for i in chosen) and any(i.file.member is not None for i in chosen)
    assert all(i.file.gzipped or i.file.member is not None for i in chosen)
    peer = peer_factory(lambda uid, n: 0)
    route = HeaderChange("PatientComments", "route", "Project:P Subject:S Session:E")
    send_cstore(chosen, (route,), peer.target(), _ctx(), "s")
    with zipfile.ZipFile(root / "study.zip") as z:
        local = {dcmread(io.BytesIO(z.read(n))).SOPInstanceUID: dcmread(io.BytesIO(z.read(n))) for n in z.namelist()}
    assert sorted(uid for uid, _ in peer.stored) == sorted(local)
    for uid, data in peer.stored:
        got = dcmread(io.BytesIO(data), force=True)
        got.file_meta = local[uid].file_meta
        assert got.PatientComments == "Project:P Subject:S Session:E"
        assert {e.keyword for e in got if e.tag not in local[uid] or local[uid][e.tag] != e} == {"PatientComments"}
