"""Acknowledge-and-drop: test knobs under which an item write (subject, session or scan PUT or
POST) answers exactly as it otherwise would, validation included, but stores nothing for the
parameters a rule names. A test of `xsync apply` uses them to play a server that loses data
without saying so.

A rule matches by HTTP method (None: any), by a regular expression the request path must match
in full (the path as sent, without the context path: `/data/experiments/[^/]+` targets the
accession-ID URL form and not `/data/projects/P/subjects/S/experiments/E`), and by a regular
expression the parameter name must match in full (`note`, `xnat:mrSessionData/note`,
`.*/fields/field\\[name=.*\\]/field`). Names are matched as sent (query parameter, form field,
or the xpath of an XML body's field; an unencoded custom-variable key is put back together
first). Identity parameters (`label`, `ID`, `project`, `subject_ID`) are never dropped: they
decide the answer itself.

Quirks are presets of such behaviour named after a server's reported behaviour:

  put-by-id-ignored   XNAT 1.9 as users report it: a PUT to `/data/experiments/{id}` answers
                      as usual and saves none of its fields or custom variables; a session's
                      custom variable sticks only when its key carries the session's own xsi
                      type (`xnat:mrSessionData/fields/field[name=x]/field=v`) on a
                      project-scoped URL (`/data/projects/P/subjects/S/experiments/E`,
                      `/data/projects/P/experiments/E`); other spellings
                      (`xnat:experimentData/fields/...`) are acknowledged and dropped.

The rules in force for a request are resolved once, by the app, into a predicate
`(parameter name, item type) -> drop?` that the write code reads with `predicate(ctx)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from xsync.emulator import xsd
from xsync.emulator.http import Ctx
from xsync.emulator.params import is_custom_key

Predicate = Callable[[str, str], bool]
ENVIRON_KEY = "xsync.emulator.drop"
PUT_BY_ID_IGNORED = "put-by-id-ignored"
QUIRKS = (PUT_BY_ID_IGNORED,)
_BY_ID = re.compile(r"/(?:data|REST)(?:/archive)?/experiments/[^/]+/?")


@dataclass(frozen=True)
class DropRule:
    path: str = ".*"  # regular expression, full match on the request path
    param: str = ".*"  # regular expression, full match on the parameter name
    method: str | None = None  # "PUT", "POST", ...; None for any

    def __post_init__(self) -> None:
        re.compile(self.path)  # fail at once on a bad pattern, not at the first request
        re.compile(self.param)

    def applies_to(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and re.fullmatch(self.path, path) is not None

    def drops(self, name: str) -> bool:
        return re.fullmatch(self.param, name) is not None


def check_quirks(quirks: Iterable[str]) -> tuple[str, ...]:
    unknown = [q for q in quirks if q not in QUIRKS]
    if unknown:
        raise ValueError(f"unknown quirk(s): {', '.join(unknown)} (known: {', '.join(QUIRKS)})")
    return tuple(quirks)


def for_request(rules: Iterable[DropRule], quirks: Iterable[str], method: str, path: str) -> Predicate | None:
    """The drop predicate for one request, None when nothing applies."""
    applicable = [r for r in rules if r.applies_to(method, path)]
    tests: list[Predicate] = []
    if applicable:
        tests.append(lambda name, _type: any(r.drops(name) for r in applicable))
    if PUT_BY_ID_IGNORED in quirks and method == "PUT":
        if _BY_ID.fullmatch(path):
            tests.append(lambda _name, _type: True)
        else:
            tests.append(_foreign_custom_spelling)
    if not tests:
        return None
    return lambda name, item_type: any(t(name, item_type) for t in tests)


def _foreign_custom_spelling(name: str, item_type: str) -> bool:
    """A session custom variable keyed with another type than the session's own."""
    if not is_custom_key(name) or not xsd.is_a(item_type, "xnat:experimentData"):
        return False
    return xsd.canonical(name.split("/", 1)[0]) != xsd.canonical(item_type)


def predicate(ctx: Ctx) -> Predicate | None:
    """The drop predicate the app attached to this request."""
    found: Predicate | None = ctx.request.environ.get(ENVIRON_KEY)
    return found
