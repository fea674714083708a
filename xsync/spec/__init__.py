"""The spec: the YAML in which a site declares its XNAT project (`xsync.yaml`).

`load_spec(path) -> Spec` (raises SpecError holding every Diagnostic found);
`match_scan_rules(rules, attrs) -> RuleOutcome` for one local series;
`resolve_scan_fields(scan, outcome, defaults)` gives a scan's fields by precedence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xsync.spec.model import (
    SPEC_VERSION,
    Defaults,
    DicomBinding,
    DicomConfig,
    Location,
    Rules,
    Scan,
    ScanFields,
    ScanMatch,
    ScanRule,
    Session,
    SessionFields,
    Spec,
    Subject,
    SubjectFields,
    UploadConfig,
    field_values,
)
from xsync.spec.rules import RuleConflict, RuleOutcome, match_scan_rules, resolve_scan_fields

if TYPE_CHECKING:
    from xsync.spec.load import load_spec


def __getattr__(name: str) -> Any:
    # The loader needs ruamel; importing it lazily keeps `xsync.spec.model` and `.rules`
    # importable by the pure core (plan/, render/), which must not pull in I/O libraries
    # (tests/unit/test_layering.py).
    if name == "load_spec":
        from xsync.spec.load import load_spec

        return load_spec
    raise AttributeError(name)


__all__ = [
    "SPEC_VERSION",
    "Defaults",
    "DicomBinding",
    "DicomConfig",
    "Location",
    "RuleConflict",
    "RuleOutcome",
    "Rules",
    "Scan",
    "ScanFields",
    "ScanMatch",
    "ScanRule",
    "Session",
    "SessionFields",
    "Spec",
    "Subject",
    "SubjectFields",
    "UploadConfig",
    "field_values",
    "load_spec",
    "match_scan_rules",
    "resolve_scan_fields",
]
