"""DICOM knowledge shared by the inventory and the emulator: XNAT's own rules for labels,
scan IDs, session/scan types and archive file names. Pure functions; no file I/O, no pydicom,
so both the fast header scanner and the emulator can use them."""
