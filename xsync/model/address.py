"""Addresses of XNAT objects: `project/subject[/session[/scan:ID]]`. Immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    PROJECT = "project"
    SUBJECT = "subject"
    SESSION = "session"
    SCAN = "scan"


@dataclass(frozen=True, order=True)
class Address:
    """Where an object lives. Labels, not accession IDs: the spec names objects by label.

    Empty trailing parts mean a higher level (a subject address has no session or scan).
    """

    project: str
    subject: str = ""
    session: str = ""
    scan: str = ""

    @property
    def kind(self) -> Kind:
        if self.scan:
            return Kind.SCAN
        if self.session:
            return Kind.SESSION
        if self.subject:
            return Kind.SUBJECT
        return Kind.PROJECT

    def session_address(self) -> Address:
        return Address(self.project, self.subject, self.session)

    def __str__(self) -> str:
        parts = [self.project]
        if self.subject:
            parts.append(self.subject)
        if self.session:
            parts.append(self.session)
        if self.scan:
            parts.append(f"scan:{self.scan}")
        return "/".join(parts)

    @classmethod
    def parse(cls, text: str) -> Address:
        parts = text.split("/")
        scan = ""
        if parts and parts[-1].startswith("scan:"):
            scan = parts.pop()[len("scan:") :]
        if not 1 <= len(parts) <= 3 or not all(parts) or (scan and len(parts) != 3):
            raise ValueError(f"not an address: {text!r}")
        project, subject, session = (parts + ["", ""])[:3]
        return cls(project, subject, session, scan)
