"""`xsync export --update`: the server's values written into the spec for the fields it already
manages (terraform's refresh-only), in the file and at the place each object is written, every
other byte kept; `--adopt` also adds the subjects, sessions and scans the spec does not name.

What to change comes from the plan itself: each field change it would make is a value the
server holds that the spec does not. A value written on the object is replaced where it stands
(or its key removed when the server holds none); a value the object takes from `defaults:` or a
rule is written on the object, which then overrides them for it alone. The edit is checked
before anything is written: the files are read back (deepdiff) and must differ in exactly the
planned places, else nothing is written (an anchor shared with another object, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsync.errors import InternalError, UsageError
from xsync.export.document import FieldSelection, scan_document, session_document, spec_value, subject_document
from xsync.export.textedit import EditError, YamlText
from xsync.model.address import Address
from xsync.model.fields import FIELDS, Level
from xsync.model.remote import RemoteState
from xsync.plan.ops import FieldChange, UpdateScan, UpdateSession, UpdateSubject
from xsync.plan.plan import Plan
from xsync.spec.model import Spec

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One planned edit: the YAML path of the value and what it becomes (None: removed)."""

    file: Path
    path: Path_
    was: Any  # what the spec says (None: nothing)
    now: Any  # what the server holds (None: nothing, the key is removed)
    action: str  # "set", "add", "remove", "adopt"

    def describe(self, base: Path) -> str:
        where = ".".join(self.path)
        shown = _relative(self.file, base)
        if self.action == "remove":
            return f"{shown}: {where}: removed (the server holds no value)"
        if self.action == "adopt":
            return f"{shown}: {where}: added from the server"
        return f"{shown}: {where}: {_show(self.was)} -> {_show(self.now)}"


def _show(value: Any) -> str:
    return "(unset)" if value is None else str(value)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _object_path(a: Address) -> Path_:
    path: Path_ = ("subjects", a.subject)
    if a.session:
        path += ("sessions", a.session)
    if a.scan:
        path += ("scans", a.scan)
    return path


class Refresh:
    """The edits of one run, file by file."""

    def __init__(self, spec: Spec, main: Path) -> None:
        self.spec = spec
        self.main = main
        self.files: dict[Path, YamlText] = {}
        self.changes: list[Change] = []

    def text(self, path: Path) -> YamlText:
        if path not in self.files:
            self.files[path] = YamlText.read(path)
        return self.files[path]

    def file_of(self, subject: str) -> Path:
        where = self.spec.locate(("subjects", subject))
        return where.file if where is not None else self.main

    # -- managed values --------------------------------------------------------------------

    def field(self, op: UpdateSubject | UpdateSession | UpdateScan, change: FieldChange) -> None:
        level = Level.SUBJECT if isinstance(op, UpdateSubject) else Level.SESSION if isinstance(op, UpdateSession) \
            else Level.SCAN  # fmt: skip
        definition = None if change.custom else FIELDS[level].get(change.name)
        server = change.before
        value = server if definition is None or server is None else spec_value(definition, server)
        owner = _object_path(op.address) + (("fields",) if change.custom else ())
        path = (*owner, change.name)
        file = self.file_of(op.address.subject)
        y = self.text(file)
        mapping = y.mapping(owner)
        written = change.source == "spec"
        if server is None:
            if written and mapping is not None and y.remove_key(mapping, change.name):
                self.changes.append(Change(file, path, change.after, None, "remove"))
            return  # a default or a rule's value the server lacks: nothing to write on the object
        if mapping is None:
            self._add_nested(y, file, owner, {change.name: value}, change.after)
            return
        y.set_value(mapping, change.name, value)
        self.changes.append(Change(file, path, change.after, value, "set" if written else "add"))

    def _add_nested(self, y: YamlText, file: Path, owner: Path_, value: dict[str, Any], was: Any) -> None:
        """Create the mappings down to `owner` (a scan or `fields:` the spec does not write)."""
        for cut in range(len(owner) - 1, 1, -1):
            parent = y.mapping(owner[:cut])
            if parent is None:
                continue
            nested: dict[str, Any] = value
            for key in reversed(owner[cut + 1 :]):
                nested = {key: nested}
            y.add_key(parent, owner[cut], nested)
            name = next(iter(value))
            self.changes.append(Change(file, (*owner, name), was, value[name], "add"))
            return
        raise EditError(f"{file}: {'.'.join(owner)} is not written in the spec")

    # -- adopted objects -------------------------------------------------------------------

    def adopt(self, address: Address, remote: RemoteState, selection: FieldSelection) -> None:
        subject = remote.subjects.get(address.subject)
        if subject is None:
            return
        if not address.session:
            self._adopt_subject(address.subject, subject_document(subject, selection))
            return
        session = subject.sessions.get(address.session)
        if session is None:
            return
        file = self.file_of(address.subject)
        y = self.text(file)
        if not address.scan:
            self._add_under(y, file, ("subjects", address.subject, "sessions"), address.session,
                            session_document(session, selection))  # fmt: skip
            return
        scan = session.scans.get(address.scan)
        if scan is not None:
            self._add_under(y, file, ("subjects", address.subject, "sessions", address.session, "scans"),
                            address.scan, scan_document(scan, selection))  # fmt: skip

    def _adopt_subject(self, label: str, document: dict[str, Any]) -> None:
        y = self.text(self.main)
        self._add_under(y, self.main, ("subjects",), label, document)

    def _add_under(self, y: YamlText, file: Path, parent: Path_, key: str, document: dict[str, Any]) -> None:
        mapping = y.mapping(parent)
        if mapping is None:
            self._add_nested(y, file, parent, {key: document}, None)
            self.changes[-1] = Change(file, (*parent, key), None, document, "adopt")
            return
        y.add_key(mapping, key, document)
        self.changes.append(Change(file, (*parent, key), None, document, "adopt"))

    # -- results ---------------------------------------------------------------------------

    def results(self) -> dict[Path, str]:
        """The new text of every file that changes, checked: it must read as the old one with
        exactly the planned values changed."""
        from deepdiff import DeepDiff
        from ruamel.yaml import YAML

        out: dict[Path, str] = {}
        loader = YAML(typ="safe")
        for file, y in self.files.items():
            new = y.result()
            if new == y.text:
                continue
            before, after = loader.load(y.text), loader.load(new)
            diff = DeepDiff(before, after, view="tree")
            touched = {tuple(str(p) for p in item.path(output_format="list")) for items in diff.values()
                       for item in items}  # fmt: skip
            planned = {c.path for c in self.changes if c.file == file}
            stray = {t for t in touched if not any(t[: len(p)] == p for p in planned)}
            if stray:
                shown = ", ".join(".".join(t) for t in sorted(stray))
                raise InternalError(f"{file}: updating the spec would also change {shown} (a shared anchor?); "
                                    "nothing was written")  # fmt: skip
            out[file] = new
        return out


def refresh(spec: Spec, main: Path, plan: Plan, remote: RemoteState, *, adopt: bool,
            selection: FieldSelection) -> Refresh:  # fmt: skip
    """The edits that bring `spec` to what `remote` holds."""
    r = Refresh(spec, main)
    try:
        for op in plan.operations:
            if isinstance(op, UpdateSubject | UpdateSession | UpdateScan) and not getattr(op, "after_import", False):
                for change in op.changes:
                    r.field(op, change)
        if adopt:
            for address in plan.unmanaged:
                r.adopt(address, remote, selection)
    except EditError as e:
        raise UsageError(str(e)) from None
    return r
