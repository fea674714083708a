"""The local DICOM inventory: walk the roots, read headers fast (cached), group files into
studies and series, predict what XNAT builds from them, and name every problem found."""

from __future__ import annotations

from xsync.inventory.scan import ScanProgress, raise_for_diagnostics, scan

__all__ = ["ScanProgress", "raise_for_diagnostics", "scan"]
