"""An XNAT 1.8 emulator: a real HTTP server and DICOM receiver on loopback, specified by
REST-CONTRACT.md and DICOM-IMPORT.md. It shares nothing with the client but `xsync.dicom`'s
rules, so it stays an independent witness of XNAT's behaviour."""

from xsync.emulator.config import EmulatorConfig
from xsync.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig"]
