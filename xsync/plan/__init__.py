"""Desired state + remote state -> a plan of operations. Pure: no I/O, no requests, pydicom,
ruamel or rich."""
