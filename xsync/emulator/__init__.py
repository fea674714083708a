"""An XNAT 1.8 emulator: a real HTTP server and DICOM receiver on loopback, specified by
REST-CONTRACT.md and DICOM-IMPORT.md. It imports nothing from the rest of `xsync`: its DICOM
ingest rules (labels, comment assignments, file names, scan IDs, data types) are its own,
written from XNAT's and dicom-xnat's source, so it stays an independent witness of XNAT's
behaviour that the client's predictions are checked against."""

from xsync.emulator.config import EmulatorConfig
from xsync.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig"]
