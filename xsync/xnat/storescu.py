"""A DICOM C-STORE sender (Storage SCU) for XNAT's receiver: one association, objects sent one
after the other from their own encoded bytes, each answered before the next goes.

The association is negotiated with pynetdicom's PDU classes (A-ASSOCIATE-RQ/AC/RJ, A-ABORT);
the data phase is a plain blocking loop on the socket. pynetdicom's own Association runs two
reactor threads that each sleep a millisecond between polls, which caps one association near
350 C-STOREs a second whatever the peer (docs/performance.md: dcmtk's storescu does several
thousand on the same machine); this loop pays only the encoding and the round trip.

Objects are sent in their own transfer syntax, never converted: one presentation context is
proposed per (SOP class, transfer syntax) the session holds. What the peer rejects, or answers
with a failure status, is reported per object; an A-ABORT or a lost connection ends the
association and says how many objects were stored before it.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from xsync import __version__
from xsync.errors import TransportError

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLEMENTATION_CLASS_UID = (
    "2.25.139926544502451519420833320206176761324"  # fixed: uuid5(URL, "https://xsync/implementation")
)
IMPLEMENTATION_VERSION = f"XSYNC_{__version__}"[:16]
MAX_CONTEXTS = 128  # odd context IDs 1..255
MAX_PDU_RECEIVED = 65536
# Statuses that mean "stored" (PS3.4 B.2.3): success and the warnings (coerced, elements
# discarded, not matching the SOP class).
STORED = frozenset({0x0000, 0xB000, 0xB006, 0xB007})

_PDU_HEADER = struct.Struct(">BBI")
_PDV_HEADER = struct.Struct(">IBB")
_ELEMENT = struct.Struct("<HHI")
_US = struct.Struct("<H")

_REJECT_REASONS = {
    (1, 2): "the receiver does not support the application context",
    (1, 3): "the receiver does not recognise the calling AE title",
    (1, 7): "the receiver does not recognise the called AE title",
    (3, 1): "the receiver is temporarily congested",
    (3, 2): "the receiver's local limit on associations is reached",
}


class AssociationRejected(TransportError):
    """The receiver refused the association (A-ASSOCIATE-RJ): asking again changes nothing."""


@dataclass(frozen=True)
class StoreTarget:
    host: str
    port: int
    called_ae: str
    calling_ae: str
    connect_timeout: float = 10.0
    response_timeout: float = 300.0  # XNAT may take long to write an object under load


@dataclass(frozen=True)
class Outgoing:
    """One object to store: its UIDs, transfer syntax, dataset length, and how to open its
    dataset bytes (no preamble, no file meta)."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    length: int
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class Refused:
    """An object the receiver did not store: its instance UID and why."""

    sop_instance_uid: str
    reason: str


class StoreAssociation:
    """One association to `target` for the presentation contexts `objects` need. Use as a
    context manager: it releases on exit, or aborts when an error leaves it."""

    def __init__(self, target: StoreTarget, contexts: Iterable[tuple[str, str]]) -> None:
        self.target = target
        self._wanted = sorted(set(contexts))
        if len(self._wanted) > MAX_CONTEXTS:
            raise ValueError(f"{len(self._wanted)} presentation contexts; at most {MAX_CONTEXTS} per association")
        self._sock: socket.socket | None = None
        self._rfile: BinaryIO | None = None
        self._accepted: dict[tuple[str, str], int] = {}  # (SOP class, TS) -> context ID
        self._max_pdu = 0
        self._message_id = 0

    # -- association -----------------------------------------------------------------------

    def __enter__(self) -> StoreAssociation:
        self.open()
        return self

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        if error is None:
            self.release()
        else:
            self.abort()

    def open(self) -> None:
        t = self.target
        try:
            sock = socket.create_connection((t.host, t.port), timeout=t.connect_timeout)
        except OSError as e:
            raise TransportError(f"cannot connect to the DICOM receiver at {t.host}:{t.port}: {_why(e)}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms per object (Nagle)
        sock.settimeout(t.response_timeout)
        self._sock, self._rfile = sock, sock.makefile("rb")
        self._send(self._request())
        kind, body = self._read_pdu()
        if kind == 0x02:
            self._accept(body)
            return
        self._close()
        if kind == 0x03 and len(body) >= 4:
            result, source, reason = body[1], body[2], body[3]
            why = _REJECT_REASONS.get((source, reason), f"result {result}, source {source}, reason {reason}")
            raise AssociationRejected(f"the DICOM receiver at {t.host}:{t.port} refused the association: {why}")
        if kind == 0x07:
            raise TransportError(f"the DICOM receiver at {t.host}:{t.port} aborted the association request")
        raise TransportError(f"the DICOM receiver at {t.host}:{t.port} answered the association with PDU {kind}")

    def _request(self) -> bytes:
        from pynetdicom.pdu import A_ASSOCIATE_RQ
        from pynetdicom.pdu_primitives import (
            A_ASSOCIATE,
            ImplementationClassUIDNotification,
            ImplementationVersionNameNotification,
            MaximumLengthNotification,
        )
        from pynetdicom.presentation import PresentationContext

        primitive = A_ASSOCIATE()
        primitive.application_context_name = APPLICATION_CONTEXT
        primitive.calling_ae_title = self.target.calling_ae
        primitive.called_ae_title = self.target.called_ae
        contexts = []
        for i, (sop_class, ts) in enumerate(self._wanted):
            cx = PresentationContext()
            cx.context_id = 2 * i + 1
            cx.abstract_syntax = sop_class
            cx.transfer_syntax = [ts]
            contexts.append(cx)
        primitive.presentation_context_definition_list = contexts
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = MAX_PDU_RECEIVED
        implementation = ImplementationClassUIDNotification()
        implementation.implementation_class_uid = IMPLEMENTATION_CLASS_UID
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = IMPLEMENTATION_VERSION
        primitive.user_information = [max_length, implementation, version]
        pdu = A_ASSOCIATE_RQ()
        pdu.from_primitive(primitive)
        return bytes(pdu.encode())

    def _accept(self, body: bytes) -> None:
        from pynetdicom.pdu import A_ASSOCIATE_AC
        from pynetdicom.pdu_primitives import MaximumLengthNotification

        pdu = A_ASSOCIATE_AC()
        pdu.decode(_PDU_HEADER.pack(0x02, 0, len(body)) + body)
        primitive = pdu.to_primitive()
        for item in primitive.user_information:
            if isinstance(item, MaximumLengthNotification):
                self._max_pdu = int(item.maximum_length_received or 0)
        for cx in primitive.presentation_context_definition_results_list:
            context_id = int(cx.context_id or 0)
            index = (context_id - 1) // 2
            if cx.result == 0 and 0 <= index < len(self._wanted):
                sop_class, proposed = self._wanted[index]
                # The acceptor answers with one transfer syntax, which must be the one proposed.
                if not cx.transfer_syntax or str(cx.transfer_syntax[0]) == proposed:
                    self._accepted[(sop_class, proposed)] = context_id

    def release(self) -> None:
        """A-RELEASE, waiting for the peer's answer (it has stored everything by then)."""
        if self._sock is None:
            return
        try:
            self._send(_PDU_HEADER.pack(0x05, 0, 4) + b"\0\0\0\0")
            self._read_pdu()  # A-RELEASE-RP (or anything: the association is over either way)
        except TransportError:
            pass
        finally:
            self._close()

    def abort(self) -> None:
        if self._sock is None:
            return
        try:
            self._sock.sendall(_PDU_HEADER.pack(0x07, 0, 4) + b"\0\0\0\0")  # service user, no reason
        except OSError:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        if self._rfile is not None:
            self._rfile.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._rfile = None

    # -- C-STORE ---------------------------------------------------------------------------

    def accepts(self, obj: Outgoing) -> bool:
        return (obj.sop_class_uid, obj.transfer_syntax_uid) in self._accepted

    def store(self, obj: Outgoing) -> Refused | None:
        """Send one object; None when the receiver stored it."""
        context_id = self._accepted.get((obj.sop_class_uid, obj.transfer_syntax_uid))
        if context_id is None:
            return Refused(obj.sop_instance_uid, f"the receiver accepts no {obj.transfer_syntax_uid} for SOP class "
                           f"{obj.sop_class_uid}")  # fmt: skip
        self._message_id = self._message_id % 0xFFFF + 1
        command = _store_request(self._message_id, obj.sop_class_uid, obj.sop_instance_uid)
        self._send_pdv(context_id, 0x03, command)  # a command, its last fragment
        self._send_dataset(context_id, obj)
        status, comment = self._read_response()
        if status in STORED:
            return None
        text = f"status 0x{status:04X}" + (f" ({comment})" if comment else "")
        return Refused(obj.sop_instance_uid, text)

    def _fragment(self) -> int:
        """Dataset bytes per PDU: the peer's limit less the PDV item's 6 bytes (0: no limit)."""
        return (self._max_pdu - 6) if self._max_pdu > 6 else 1 << 20

    def _send_pdv(self, context_id: int, control: int, data: bytes | memoryview) -> None:
        head = _PDU_HEADER.pack(0x04, 0, len(data) + 6) + _PDV_HEADER.pack(len(data) + 2, context_id, control)
        self._sendmsg(head, data)

    def _send_dataset(self, context_id: int, obj: Outgoing) -> None:
        remaining, size = obj.length, self._fragment()
        with obj.open() as stream:
            while True:
                chunk = _read_exactly(stream, min(size, remaining))
                if len(chunk) != min(size, remaining):
                    self.abort()
                    raise TransportError(f"{obj.sop_instance_uid}: the local file ended early; plan again")
                remaining -= len(chunk)
                self._send_pdv(context_id, 0x00 if remaining else 0x02, chunk)
                if not remaining:
                    return

    def _read_response(self) -> tuple[int, str]:
        command = b""
        while True:
            kind, body = self._read_pdu()
            if kind != 0x04:
                self._peer_ended(kind, body)
            for control, data in _pdvs(body):
                if control & 0x01:
                    command += data
                    if control & 0x02:
                        return _response_status(command)

    def _peer_ended(self, kind: int, body: bytes) -> None:
        self._close()
        t = self.target
        if kind == 0x07:
            raise TransportError(f"the DICOM receiver at {t.host}:{t.port} aborted the association")
        raise TransportError(f"the DICOM receiver at {t.host}:{t.port} sent PDU {kind} instead of an answer")

    # -- the socket ------------------------------------------------------------------------

    def _sendmsg(self, head: bytes, data: bytes | memoryview) -> None:
        assert self._sock is not None
        try:
            sent = self._sock.sendmsg([head, data])
            total = len(head) + len(data)
            if sent < total:  # a partial write: finish it
                self._sock.sendall((head + bytes(data))[sent:])
        except OSError as e:
            self._close()
            raise TransportError(f"the connection to the DICOM receiver broke: {_why(e)}") from None

    def _send(self, data: bytes) -> None:
        self._sendmsg(data, b"")

    def _read_pdu(self) -> tuple[int, bytes]:
        assert self._rfile is not None
        try:
            head = self._rfile.read(6)
            if len(head) == 6:
                kind, _, length = _PDU_HEADER.unpack(head)
                body = self._rfile.read(length)
                if len(body) == length:
                    return kind, body
        except OSError as e:
            self._close()
            raise TransportError(f"no answer from the DICOM receiver: {_why(e)}") from None
        self._close()
        raise TransportError("the DICOM receiver closed the connection")


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    """n bytes, fewer only at the end of the stream (a raw stream may answer in parts)."""
    parts, left = [], n
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _why(e: OSError) -> str:
    if isinstance(e, TimeoutError | socket.timeout):
        return "timed out"
    return e.strerror or type(e).__name__


def _pdvs(body: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 6 <= len(body):
        length, _, control = _PDV_HEADER.unpack_from(body, pos)
        yield control, body[pos + 6 : pos + 4 + length]
        pos += 4 + length


def _element(group_element: int, value: bytes) -> bytes:
    return _ELEMENT.pack(group_element >> 16, group_element & 0xFFFF, len(value)) + value


def _uid(value: str) -> bytes:
    data = value.encode("ascii")
    return data + b"\0" if len(data) % 2 else data


def _store_request(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """A C-STORE-RQ command set, implicit VR little endian (PS3.7 9.3.1.1)."""
    body = b"".join([
        _element(0x00000002, _uid(sop_class)),  # Affected SOP Class UID
        _element(0x00000100, _US.pack(0x0001)),  # Command Field: C-STORE-RQ
        _element(0x00000110, _US.pack(message_id)),
        _element(0x00000700, _US.pack(0x0000)),  # Priority: medium
        _element(0x00000800, _US.pack(0x0000)),  # a data set follows
        _element(0x00001000, _uid(sop_instance)),  # Affected SOP Instance UID
    ])  # fmt: skip
    return _element(0x00000000, struct.pack("<I", len(body))) + body


def _response_status(command: bytes) -> tuple[int, str]:
    """(Status, Error Comment) of a C-STORE-RSP command set."""
    status, comment, pos = -1, "", 0
    while pos + 8 <= len(command):
        group, element, length = _ELEMENT.unpack_from(command, pos)
        value = command[pos + 8 : pos + 8 + length]
        if (group, element) == (0x0000, 0x0900) and length == 2:
            status = _US.unpack(value)[0]
        elif (group, element) == (0x0000, 0x0902):
            comment = value.decode("ascii", "replace").strip(" \0")
        pos += 8 + length
    if status < 0:
        raise TransportError("the DICOM receiver's answer holds no status")
    return status, comment
