"""The shared vocabulary: addresses, inventory records, desired and remote state. Frozen, pure:
no I/O, no requests, pydicom, ruamel or rich."""
