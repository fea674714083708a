"""Scan rules: which fields a local DICOM series gets from `rules.scans`. Pure functions.

Semantics (documented in the README):
- A rule matches a series when every key of its `match` matches. A series attribute that is
  missing never matches.
- Text patterns are globs (`T1w_MPR*`, case-sensitive unless the rule says `ignore_case`) or
  regular expressions between slashes (`/^tfMRI_.*_(AP|PA)$/`, searched in the value).
- Every matching rule contributes; for each field the first matching rule (spec order) that
  sets it gives the value. A later matching rule that sets the same field to a different
  value is a conflict, reported in `RuleOutcome.conflicts` for the plan to refuse.
- Precedence for a scan's fields: values written on the scan in the spec, then rules, then
  `defaults.scan` (`resolve_scan_fields`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from xsync.spec.messages import did_you_mean
from xsync.spec.model import Rules, Scan, ScanFields, ScanMatch, ScanRule, field_values

SeriesAttrs = Mapping[str, "str | int | tuple[str, ...]"]
Loc = tuple[str | int, ...]

# DICOM (0008,0060) defined terms, current and retired: a modality outside this list can
# never occur in a header, so a rule naming it can never match.
DICOM_MODALITIES = frozenset((
    "AR", "AS", "ASMT", "AU", "BDUS", "BI", "BMD", "CD", "CF", "CFM", "CP", "CR", "CS", "CT", "CTPROTOCOL",
    "DD", "DF", "DG", "DM", "DMS", "DOC", "DS", "DX", "EC", "ECG", "EEG", "EMG", "EOG", "EPS", "ES", "FA",
    "FID", "FS", "GM", "HC", "HD", "IO", "IOL", "IVOCT", "IVUS", "KER", "KO", "LEN", "LP", "LS", "M3D", "MA",
    "MG", "MR", "MS", "NM", "OAM", "OCT", "OP", "OPM", "OPR", "OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT",
    "PA", "PLAN", "POS", "PR", "PT", "PX", "REG", "RESP", "RF", "RG", "RTDOSE", "RTIMAGE", "RTINTENT",
    "RTPLAN", "RTRAD", "RTRECORD", "RTSEGANN", "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR", "SRF", "ST",
    "STAIN", "TEXTUREMAP", "TG", "US", "VA", "VF", "XA", "XAPROTOCOL", "XC",
))  # fmt: skip

_NUMBER = re.compile(r"\s*(>=|<=|>|<|==)?\s*(-?[0-9]+)\s*")
_RANGE = re.compile(r"\s*(-?[0-9]+)\s*\.\.\s*(-?[0-9]+)\s*")
TEXT_KEYS = ("series_description", "protocol_name", "image_type")


@dataclass(frozen=True)
class RuleConflict:
    field: str
    values: tuple[tuple[int, str], ...]  # (rule index, value) of every matching rule setting it


@dataclass(frozen=True)
class RuleOutcome:
    fields: Mapping[str, str] = field(default_factory=dict)
    matched: tuple[int, ...] = ()  # indexes into rules.scans, in order
    set_by: Mapping[str, int] = field(default_factory=dict)  # field -> rule index
    conflicts: tuple[RuleConflict, ...] = ()


# ---------------------------------------------------------------- patterns


def _regex_body(pattern: str) -> str | None:
    return pattern[1:-1] if len(pattern) >= 2 and pattern[0] == "/" and pattern[-1] == "/" else None


class RegexError(ValueError):
    pass


def compile_regex(body: str, ignore_case: bool) -> Callable[[str], object]:
    """The `search` of a rule's regular expression, compiled by RE2, which matches in time
    linear in the text: a backtracking engine (Python's re) takes exponential time on patterns
    such as `^(a+)+$` against a crafted series description, and a header is outside the spec
    author's control. RE2 has no look-around or back-references; those are refused at load.
    Imported here, so that a spec without regular expressions does not load it."""
    import re2  # google-re2

    options = re2.Options()
    options.log_errors = False  # errors are reported to the user, not logged to stderr
    options.case_sensitive = not ignore_case
    try:
        search: Callable[[str], object] = re2.compile(body, options).search
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(reason) from None
    return search


@lru_cache(maxsize=4096)
def text_matcher(pattern: str, ignore_case: bool) -> Callable[[str], bool]:
    body = _regex_body(pattern)
    if body is not None:
        search = compile_regex(body, ignore_case)

        def matches(value: str) -> bool:
            try:
                return search(value) is not None
            except UnicodeEncodeError:  # a header value holding a lone surrogate
                return search(value.encode("utf-8", "replace").decode("utf-8")) is not None

        return matches
    if ignore_case:
        folded = pattern.casefold()
        return lambda value: fnmatch.fnmatchcase(value.casefold(), folded)
    return lambda value: fnmatch.fnmatchcase(value, pattern)


@lru_cache(maxsize=1024)
def number_matcher(pattern: str) -> Callable[[int], bool] | None:
    """None when the pattern is not a number, a comparison or a range."""
    m = _RANGE.fullmatch(pattern)
    if m:
        low, high = int(m.group(1)), int(m.group(2))
        return lambda n: low <= n <= high
    m = _NUMBER.fullmatch(pattern)
    if not m:
        return None
    op, k = m.group(1) or "==", int(m.group(2))
    compare: dict[str, Callable[[int], bool]] = {
        "==": lambda n: n == k,
        ">=": lambda n: n >= k,
        "<=": lambda n: n <= k,
        ">": lambda n: n > k,
        "<": lambda n: n < k,
    }
    return compare[op]


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _image_types(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split("\\"))
    return tuple(str(v) for v in value) if isinstance(value, tuple | list) else ()


def rule_matches(rule: ScanRule, attrs: SeriesAttrs) -> bool:
    m, ic = rule.match, rule.ignore_case
    for key in ("series_description", "protocol_name"):
        patterns = getattr(m, key)
        if patterns is not None:
            value = attrs.get(key)
            if not isinstance(value, str) or not any(text_matcher(p, ic)(value) for p in patterns):
                return False
    if m.modality is not None:
        value = attrs.get("modality")
        if not isinstance(value, str) or value.upper() not in {p.upper() for p in m.modality}:
            return False
    if m.series_number is not None:
        number = _as_int(attrs.get("series_number"))
        matchers = [number_matcher(p) for p in m.series_number]
        if number is None or not any(f is not None and f(number) for f in matchers):
            return False
    if m.image_type is not None:
        values = _image_types(attrs.get("image_type"))
        for p in m.image_type:
            if not any(text_matcher(p, ic)(v) for v in values):
                return False
    return True


# ---------------------------------------------------------------- matching


def match_scan_rules(rules: Rules | Sequence[ScanRule], attrs: SeriesAttrs) -> RuleOutcome:
    """What the rules give one local series. `attrs` holds series_description, protocol_name,
    modality (str), series_number (int, or its header text) and image_type (tuple of values)."""
    scan_rules = rules.scans if isinstance(rules, Rules) else rules
    fields: dict[str, str] = {}
    set_by: dict[str, int] = {}
    seen: dict[str, list[tuple[int, str]]] = {}
    matched: list[int] = []
    for index, rule in enumerate(scan_rules):
        if not rule_matches(rule, attrs):
            continue
        matched.append(index)
        for name, value in field_values(rule.set).items():
            seen.setdefault(name, []).append((index, value))
            if name not in fields:
                fields[name] = value
                set_by[name] = index
    conflicts = tuple(
        RuleConflict(name, tuple(pairs)) for name, pairs in seen.items() if len({v for _, v in pairs}) > 1
    )
    return RuleOutcome(fields, tuple(matched), set_by, conflicts)


def resolve_scan_fields(scan: Scan | None, outcome: RuleOutcome | None, defaults: ScanFields) -> dict[str, str]:
    """A scan's managed fields: written on the scan > set by rules > `defaults.scan`."""
    if scan is not None and scan.absent:
        return {}
    merged = field_values(defaults)
    if outcome is not None:
        merged.update(outcome.fields)
    if scan is not None:
        merged.update(field_values(scan))
    return merged


# ---------------------------------------------------------------- static checks


def _pattern_items(match: ScanMatch, key: str) -> list[tuple[Loc, str]]:
    patterns: tuple[str, ...] = getattr(match, key) or ()
    if len(patterns) == 1:
        return [((key,), patterns[0])]
    items: list[tuple[Loc, str]] = [((key, j), p) for j, p in enumerate(patterns)]
    return items


def _empty_range(pattern: str) -> str | None:
    """For a range that holds no number ("10..5"), the same range the right way round."""
    m = _RANGE.fullmatch(pattern)
    low, high = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return f"{high}..{low}" if low > high else None


def _check_match(match: ScanMatch) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for key in ScanMatch.model_fields:
        if getattr(match, key) == ():
            # image_type needs every listed pattern to match, so none means any series; the
            # other keys need one of them to match, so none means no series.
            effect = "would match every series" if key == "image_type" else "can never match"
            problems.append(((key,), f"an empty {key} list {effect}: give at least one pattern, or remove the key"))
    for key in TEXT_KEYS:
        for loc, pattern in _pattern_items(match, key):
            body = _regex_body(pattern)
            if body is not None:
                try:
                    compile_regex(body, False)
                except RegexError as exc:
                    problems.append((loc, f'invalid regular expression "{pattern}": {exc} (RE2 syntax)'))
    for loc, pattern in _pattern_items(match, "modality"):
        if pattern.upper() not in DICOM_MODALITIES:
            hint = did_you_mean(pattern.upper(), sorted(DICOM_MODALITIES))
            problems.append((loc, f'unknown modality "{pattern}"{hint}: this rule can never match'))
    for loc, pattern in _pattern_items(match, "series_number"):
        if number_matcher(pattern) is None:
            problems.append(
                (
                    loc,
                    f'series_number "{pattern}" can never match: write a number, a comparison such as '
                    '">=10" or a range such as "10..20"',
                )
            )
        elif (swapped := _empty_range(pattern)) is not None:
            problems.append(
                (
                    loc,
                    f'series_number "{pattern}" can never match: the range is empty '
                    f'(write the lower bound first: "{swapped}")',
                )
            )
    return problems


def check_rules(rules: Sequence[ScanRule | None], where: Callable[[Loc], str]) -> list[tuple[Loc, str]]:
    """Problems a rule has whatever the DICOM: bad patterns, rules that can never match, empty
    rules, and rules repeating an earlier match. `rules` is `rules.scans` (None where a rule
    did not validate); `where(loc)` names a place for messages."""
    problems: list[tuple[Loc, str]] = []
    first_with: dict[str, ScanRule] = {}
    for i, rule in enumerate(rules):
        if rule is None:
            continue
        base: Loc = ("rules", "scans", i)
        match_keys = rule.match.model_dump(exclude_none=True)
        if not match_keys:
            problems.append(
                ((*base, "match"), "match needs at least one key; to set a value on every scan use defaults.scan")
            )
        if not field_values(rule.set):
            problems.append(((*base, "set"), "set needs at least one field"))
        problems.extend(((*base, "match", *loc), message) for loc, message in _check_match(rule.match))
        signature = repr((sorted(match_keys.items()), rule.ignore_case))
        earlier = first_with.setdefault(signature, rule)
        if earlier is not rule and match_keys:
            j = rules.index(earlier)
            other = f"rules.scans[{j}] ({where(('rules', 'scans', j))})"
            if field_values(earlier.set) == field_values(rule.set):
                problems.append((base, f"this rule repeats {other}"))
            else:
                problems.append((base, f"this rule has the same match as {other} but sets different values"))
    return problems
