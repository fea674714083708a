"""Apply: make XNAT match a plan, verify every write by reading the server again."""
