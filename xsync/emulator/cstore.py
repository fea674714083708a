"""The DICOM C-STORE receiver (REST-CONTRACT.md §7.3, DICOM-IMPORT.md §6): a pynetdicom SCP
with AE title `XNAT` (configurable) that hands every received object to the same gradual path
as `/services/import?import-handler=gradual-DICOM`, routed by the headers alone (no receiver
routing expressions), stored under template file names.

It accepts every storage SOP class pynetdicom knows (plus Siemens' CSA non-image class) in any
transfer syntax, and C-ECHO; an association must call it by its AE title. DIMSE status: 0x0000
stored; 0xC000 ("cannot understand") for objects the importer refuses; 0xA700 ("out of
resources") when the emulator itself fails.

Nagle: pynetdicom never sets TCP_NODELAY, which costs ~40 ms per C-STORE on loopback
(DICOM-NOTES.md §5.2); `nodelay_handler` sets it on every socket, here on accepted ones.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from functools import cache
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from xsync.emulator import prearchive
from xsync.emulator.config import EmulatorConfig
from xsync.emulator.headers import receive_object
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.store import Store

log = logging.getLogger(__name__)

SUCCESS = 0x0000
CANNOT_UNDERSTAND = 0xC000
OUT_OF_RESOURCES = 0xA700
SIEMENS_CSA_NON_IMAGE = "1.3.12.2.1107.5.9.1"


def nodelay_handler(event: Event) -> None:
    """EVT_CONN_OPEN handler: disable Nagle's algorithm on the association's socket."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # not a TCP socket (or already closed): nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@cache
def _supported_contexts() -> list[PresentationContext]:
    contexts = [
        build_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        for cx in AllStoragePresentationContexts
        if cx.abstract_syntax is not None
    ]
    contexts.append(build_context(SIEMENS_CSA_NON_IMAGE, ALL_TRANSFER_SYNTAXES))
    contexts.append(build_context(Verification))
    return contexts


class CStoreReceiver:
    """`start()` listens on (config.host, config.dicom_port); `port` is the bound port."""

    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config
        # Header routing runs as the received-file user (admin by default), as in XNAT.
        self.user = "admin" if "admin" in config.admins else min(config.admins, default="admin")
        self._server: ThreadedAssociationServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return int(self._server.server_address[1])

    def start(self) -> None:
        ae = AE(ae_title=self.config.dicom_ae_title)
        ae.require_called_aet = True
        ae.supported_contexts = _supported_contexts()
        handlers: list[Any] = [(evt.EVT_CONN_OPEN, nodelay_handler), (evt.EVT_C_STORE, self._on_store)]
        address = (self.config.host, self.config.dicom_port or 0)
        self._server = ae.make_server(address, evt_handlers=handlers, server_class=ThreadedAssociationServer)
        # Our own thread, with a short poll so that stop() returns at once (pynetdicom's
        # start_server polls every 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="xsync-emulator-cstore", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        for assoc in self._server.active_associations:
            assoc.abort()
        socketserver.BaseServer.shutdown(self._server)
        self._server.server_close()
        self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _on_store(self, event: Event) -> int:
        try:
            ts = str(event.context.transfer_syntax)
            params = {
                "Transfer-Syntax-UID": ts,
                "Sender-AE-Title": event.assoc.requestor.ae_title,
                "Receiver-AE-Title": self.config.dicom_ae_title,
                "Receiver-Port": str(self.port),
            }
            # The dataset as sent, without pynetdicom's file meta: the importer writes XNAT's own.
            obj = receive_object(event.encoded_dataset(include_meta=False), None, ts, params["Sender-AE-Title"])
            prearchive.receive(self.store, self.config, self.user, obj, params)
        except XnatHTTPError as e:
            log.info("C-STORE refused: %s", e.message)
            return CANNOT_UNDERSTAND if e.status < 500 else OUT_OF_RESOURCES
        except Exception:
            log.exception("C-STORE failed")
            return OUT_OF_RESOURCES
        return SUCCESS
