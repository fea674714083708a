"""Plans and states rendered as text, JSON and markdown. Pure: no I/O, no requests, pydicom,
ruamel or rich."""
