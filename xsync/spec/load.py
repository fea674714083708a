"""`load_spec`: YAML files -> a validated `Spec`, or a `SpecError` holding every problem found.

Order of work: the main file is parsed and its `version:` checked first (an unknown version
stops there); includes are expanded depth-first in the order written; the project settings,
then each subject (with defaults applied) are validated; then checks across objects run.
Problems from all files are collected and reported together, in file order. Reads the spec's
files and nothing else: no network, no DICOM.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from xsync.dicom.labels import LABEL_RE
from xsync.errors import Diagnostic, SpecError
from xsync.model.fields import FIELDS, Level
from xsync.spec.checks import check_bindings, check_moves, check_remaps, check_session_labels, check_subjects
from xsync.spec.messages import did_you_mean, translate
from xsync.spec.model import SPEC_VERSION, Defaults, DicomConfig, Location, Move, ScanRule, Spec, Subject
from xsync.spec.rules import check_rules
from xsync.spec.values import LABEL_RULE, kind_of
from xsync.spec.xsitypes import DEFAULT_SESSION_TYPE, resolve_session_type
from xsync.spec.yamlsrc import Document, Mark, PathKey, Problem, parse

INCLUDED_FILE_KEYS = ("include", "subjects")
# A key left empty is almost always an unfinished edit; "unmanaged" is spelled by leaving it out.
EMPTY_VALUE = "empty value: give a value or remove the key"


def strip_empty_values(data: Any, loc: PathKey = ()) -> list[PathKey]:
    """Remove every mapping key whose value is empty (YAML null) and return where they were, so
    each is reported once, at its key, and validation sees the rest. `version` is left to its
    own check, which says what it must be."""
    found: list[PathKey] = []
    if isinstance(data, dict):
        for key in list(data):
            here = (*loc, key)
            if data[key] is None and here != ("version",):
                del data[key]
                found.append(here)
            else:
                found += strip_empty_values(data[key], here)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found += strip_empty_values(item, (*loc, i))
    return found


_AGE_CHOICE = frozenset({"dob", "yob", "age"})

# A spec file is read whole, then held as nodes several times its size: 16 MiB is some 100,000
# subjects written out, far beyond any site, and keeps a wrong path (a disk image, /dev/zero)
# from taking the machine's memory. Files read from a pipe are cut off at the same size.
MAX_SPEC_FILE_BYTES = 16 * 2**20


class _TooLarge(Exception):
    pass


def read_text(path: Path) -> str:
    """The file's text, refusing more than MAX_SPEC_FILE_BYTES without reading them."""
    with path.open("rb") as f:
        data = f.read(MAX_SPEC_FILE_BYTES + 1)
    if len(data) > MAX_SPEC_FILE_BYTES:
        raise _TooLarge
    return data.decode("utf-8")


def _byte_mark(exc: UnicodeDecodeError) -> Mark:
    """Where the first byte that is not UTF-8 is, as a line and a column in characters."""
    before = exc.object[: exc.start]
    line_start = before.rfind(b"\n") + 1
    return Mark(before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1)


def format_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_spec(path: Path, *, relative_to: Path | None = None, pure_python: bool = False) -> Spec:
    """Load and validate the spec at `path` (and its includes).

    File names in messages are relative to `relative_to` (default: the current directory)
    when the file lies below it. `pure_python` forces ruamel's pure-Python parser (for
    benchmarks; the result is the same). A spec read from a pipe or device (`/dev/stdin`,
    a FIFO, `<(git show HEAD:xsync.yaml)`) has no folder of its own: its relative paths and
    includes are taken from the current directory.
    """
    root = Path(os.path.abspath(path))
    base_dir = Path.cwd() if _is_stream(root) else root.parent
    return _Loader(root, base_dir, relative_to or Path.cwd(), pure_python).run()


def _is_stream(path: Path) -> bool:
    # /dev/stdin redirected from a file is that file to stat(), but its folder is still /dev.
    return path.exists() and (not path.is_file() or path.is_relative_to("/dev") or path.is_relative_to("/proc"))


class _Loader:
    def __init__(self, root: Path, base_dir: Path, relative_to: Path, pure_python: bool) -> None:
        self.root = root
        self.base_dir = base_dir  # what the main spec's relative paths and includes are relative to
        self.relative_to = Path(os.path.abspath(relative_to))
        self.pure_python = pure_python
        self.docs: list[Document] = []
        self.diagnostics: list[tuple[int, Diagnostic]] = []
        self.included_by: dict[Path, tuple[Document, PathKey]] = {}
        self.order: dict[int, int] = {}  # id(doc) -> position in self.docs

    # ------------------------------------------------------------ reporting

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.relative_to).as_posix()
        except ValueError:
            return str(path)

    def report(self, doc: Document, loc: PathKey, message: str, *, at_key: bool = True) -> None:
        mark = self.place(doc, loc, at_key)
        order = self.order.get(id(doc), len(self.docs))
        diagnostic = Diagnostic(self.display(doc.path), mark.line, mark.col, format_path(loc), message)
        self.diagnostics.append((order, diagnostic))

    def report_at(self, doc: Document, mark: Mark, message: str) -> None:
        order = self.order.get(id(doc), len(self.docs))
        self.diagnostics.append((order, Diagnostic(self.display(doc.path), mark.line, mark.col, "", message)))

    @staticmethod
    def place(doc: Document, loc: PathKey, at_key: bool) -> Mark:
        """The mark of `loc`, or of the nearest enclosing key written in `doc`."""
        first = doc.key_at if at_key else doc.value_at
        for end in range(len(loc), 0, -1):
            mark = first(loc[:end]) or doc.key_at(loc[:end])
            if mark is not None:
                return mark
            first = doc.key_at
        return doc.value_at(()) or Mark(1, 1)

    def where(self, doc: Document, loc: PathKey) -> str:
        mark = self.place(doc, loc, True)
        return f"{self.display(doc.path)}:{mark.line}:{mark.col}"

    def fail_if_any(self) -> None:
        if self.diagnostics:
            ordered = sorted(self.diagnostics, key=lambda od: (od[0], od[1].line, od[1].col))
            raise SpecError(d for _, d in ordered)

    def report_validation(self, doc: Document, error: ValidationError, model: type[BaseModel], prefix: PathKey) -> None:
        for detail in error.errors(include_url=False):
            t = translate(detail, model)
            self.report(doc, (*prefix, *t.loc), t.message, at_key=t.at_key)

    # ------------------------------------------------------------ files

    def read(self, path: Path) -> Document:
        doc = Document(path=path)
        try:
            text = read_text(path)
        except (OSError, UnicodeDecodeError, _TooLarge) as exc:
            self.order[id(doc)] = len(self.docs)
            self.docs.append(doc)
            if isinstance(exc, UnicodeDecodeError):
                byte = exc.object[exc.start]
                self.report_at(doc, _byte_mark(exc), f"cannot read: the file is not UTF-8 text (byte 0x{byte:02x})")
            elif isinstance(exc, _TooLarge):
                limit = f"{MAX_SPEC_FILE_BYTES // 2**20} MiB"
                self.report(doc, (), f"cannot read: the file is larger than {limit} (split it with include:)")
            else:
                self.report(doc, (), f"cannot read: {exc.strerror or exc}")
            doc.problems.append(Problem(Mark(1, 1), (), "unreadable"))  # marks the document as not parsed
            return doc
        doc = parse(path, text, pure_python=self.pure_python)
        self.order[id(doc)] = len(self.docs)
        self.docs.append(doc)
        for problem in doc.problems:
            self.diagnostics.append(
                (len(self.docs) - 1, Diagnostic(self.display(path), problem.mark.line, problem.mark.col,
                                                format_path(problem.path), problem.message))
            )  # fmt: skip
        for loc in strip_empty_values(doc.data):
            self.report(doc, loc, EMPTY_VALUE)
        return doc

    def run(self) -> Spec:
        if not self.root.exists():
            raise SpecError([Diagnostic(self.display(self.root), message="spec file not found (use --spec PATH)")])
        root = self.read(self.root)
        if root.data is None and self.diagnostics:
            self.fail_if_any()  # a syntax error: nothing else can be trusted
        data = root.data
        if not isinstance(data, dict):
            self.report(root, (), "the spec must be a mapping of keys (version:, project:, subjects:, ...)")
            self.fail_if_any()
        self.check_version(root, data)
        raw_subjects = self.collect_subjects([root, *self.expand_includes(root, [self.root])])

        # `include` was checked while expanding; `dicom` defaults resolve against the spec's folder.
        head_data = {k: v for k, v in data.items() if k not in INCLUDED_FILE_KEYS}
        head_data.setdefault("dicom", {})
        context = {"base_dir": self.base_dir}
        head: Spec | None = None
        # Subjects are validated on their own too: building Subject's schema first lets Spec's
        # reuse it instead of building a second copy (the models build on first use).
        Subject.model_rebuild()
        try:
            head = Spec.model_validate(head_data, context=context)
        except ValidationError as exc:
            self.report_validation(root, exc, Spec, ())
        # When the settings are invalid, their valid parts still serve the checks below.
        defaults = head.defaults if head else _quietly(Defaults, head_data.get("defaults", {}), context)
        dicom = head.dicom if head else _quietly(DicomConfig, head_data["dicom"], context)
        rules = list(head.rules.scans) if head else _rules_quietly(head_data.get("rules"), context)

        subjects, owner = self.validate_subjects(raw_subjects, defaults, context)
        self.cross_check(root, subjects, owner, dicom.roots if dicom else (), rules, head.moved if head else ())
        if head is not None:
            for loc, message, at_key in check_remaps(head.project, head.upload.method, head.remap, subjects):
                doc = owner[str(loc[1])] if loc[:1] == ("subjects",) else root
                self.report(doc, loc, message, at_key=at_key)
        self.fail_if_any()
        assert head is not None
        spec = head.model_copy(update={"subjects": subjects, "include": _include_list(data.get("include"))})
        spec._base_dir = self.base_dir
        spec._locations = functools.cache(self.locations)
        for doc in self.docs:
            doc.data = None  # the spec keeps only the marks, for Spec.locate
        return spec

    def check_version(self, root: Document, data: dict[str, Any]) -> None:
        """Checked before anything else, and alone: a newer spec may use keys this version
        does not know, so nothing else said about it would help."""
        version = data.get("version")
        if "version" not in data:
            message = f'missing "version: {SPEC_VERSION}" (this xsync reads spec version {SPEC_VERSION})'
        elif not isinstance(version, int) or isinstance(version, bool) or version != SPEC_VERSION:
            shown = f'"{version}"' if isinstance(version, str) else repr(version)
            message = f"unsupported spec version {shown} (this xsync reads spec version {SPEC_VERSION})"
        else:
            return
        loc: PathKey = ("version",) if "version" in data else ()
        mark = self.place(root, loc, at_key=False)
        raise SpecError([Diagnostic(self.display(root.path), mark.line, mark.col, format_path(loc), message)])

    def validate_subjects(
        self, raw_subjects: list[tuple[str, Any, Document]], defaults: Defaults | None, context: dict[str, Any]
    ) -> tuple[dict[str, Subject], dict[str, Document]]:
        """Each subject on its own, defaults applied: one bad subject does not hide another's errors."""
        subjects: dict[str, Subject] = {}
        owner: dict[str, Document] = {}
        for label, raw, doc in raw_subjects:
            try:
                subjects[label] = Subject.model_validate(apply_defaults(raw, defaults), context=context)
            except ValidationError as exc:
                self.report_validation(doc, exc, Subject, ("subjects", label))
                continue
            owner[label] = doc
        return subjects, owner

    def cross_check(
        self,
        root: Document,
        subjects: dict[str, Subject],
        owner: dict[str, Document],
        roots: tuple[Path, ...],
        rules: Sequence[ScanRule | None],
        moves: Sequence[Move] = (),
    ) -> None:
        """Checks across fields and objects, run on what validated."""

        def doc_of(loc: PathKey) -> Document:
            return owner[str(loc[1])] if loc[:1] == ("subjects",) else root

        def where(loc: PathKey) -> str:
            return self.where(doc_of(loc), loc)

        for loc, message, at_key in check_subjects(subjects):
            self.report(doc_of(loc), loc, message, at_key=at_key)
        for loc, message, at_key in check_session_labels(subjects, where):
            self.report(doc_of(loc), loc, message, at_key=at_key)
        for loc, message, at_key in check_bindings(subjects, roots, where, self.display):
            self.report(doc_of(loc), loc, message, at_key=at_key)
        for loc, message in check_rules(rules, where):
            self.report(root, loc, message)
        for loc, message, at_key in check_moves(moves, subjects, where):
            self.report(root, loc, message, at_key=at_key)

    # ------------------------------------------------------------ includes

    def expand_includes(self, doc: Document, chain: list[Path]) -> Iterator[Document]:
        raw = doc.data.get("include") if isinstance(doc.data, dict) else None
        if raw is None:
            return
        items: list[tuple[PathKey, Any]] = [(("include",), raw)] if isinstance(raw, str) else []
        if isinstance(raw, list):
            items = [(("include", j), item) for j, item in enumerate(raw)]
        elif not isinstance(raw, str):
            self.report(doc, ("include",), f"expected a list of file names or globs, got {kind_of(raw)}", at_key=False)
            return
        for loc, pattern in items:
            if not isinstance(pattern, str):
                self.report(doc, loc, f"expected a file name or glob, got {kind_of(pattern)}", at_key=False)
                continue
            for path in self.include_targets(doc, loc, pattern):
                if path in chain:
                    cycle = " -> ".join(self.display(p) for p in [*chain, path])
                    self.report(doc, loc, f"include cycle: {cycle}", at_key=False)
                elif path in self.included_by:
                    first_doc, first_loc = self.included_by[path]
                    self.report(
                        doc,
                        loc,
                        f'"{self.display(path)}" is already included by {self.where(first_doc, first_loc)}',
                        at_key=False,
                    )
                else:
                    self.included_by[path] = (doc, loc)
                    child = self.read(path)
                    if self.check_included(child):
                        yield child
                        yield from self.expand_includes(child, [*chain, path])

    def include_targets(self, doc: Document, loc: PathKey, pattern: str) -> list[Path]:
        base = self.base_dir if doc.path == self.root else doc.path.parent
        full = os.path.join(base, os.path.expanduser(pattern))
        if glob.has_magic(pattern):
            found = sorted(Path(os.path.abspath(p)) for p in glob.glob(full, recursive=True) if os.path.isfile(p))
            if not found:
                self.report(doc, loc, f'include "{pattern}" matches no file', at_key=False)
            return found
        if os.path.exists(full) and not os.path.isfile(full):
            # a folder, device or FIFO: reading one could block or never end
            self.report(doc, loc, f'include "{pattern}": not a regular file', at_key=False)
            return []
        if not os.path.isfile(full):
            self.report(doc, loc, f'include "{pattern}": file not found', at_key=False)
            return []
        return [Path(os.path.abspath(full))]

    def check_included(self, doc: Document) -> bool:
        if doc.problems and doc.data is None:
            return False  # a syntax error, already reported
        if doc.data is None:
            return True  # an empty file holds nothing, which is fine
        if not isinstance(doc.data, dict):
            self.report(doc, (), 'an included file must be a mapping with "subjects:"')
            return False
        for key in doc.data:
            if key in INCLUDED_FILE_KEYS:
                continue
            if key in Spec.model_fields:
                message = f'"{key}" belongs in the main spec; an included file holds only "subjects" and "include"'
            else:
                message = f'unknown key "{key}"{did_you_mean(key, INCLUDED_FILE_KEYS)}'
            self.report(doc, (key,), message)
        return True

    # ------------------------------------------------------------ subjects

    def collect_subjects(self, docs: list[Document]) -> list[tuple[str, Any, Document]]:
        found: list[tuple[str, Any, Document]] = []
        first: dict[str, tuple[str, Document]] = {}  # lower-cased label -> (label, its file)
        for doc in docs:
            raw = doc.data.get("subjects") if isinstance(doc.data, dict) else None
            if raw is None:
                continue
            if not isinstance(raw, dict):
                self.report(doc, ("subjects",), f"expected a mapping, got {kind_of(raw)}", at_key=False)
                continue
            for label, value in raw.items():
                if not LABEL_RE.fullmatch(label):
                    self.report(doc, ("subjects", label), f'"{label}" is not a valid label: {LABEL_RULE}')
                    continue
                earlier = first.setdefault(label.lower(), (label, doc))
                if earlier != (label, doc):
                    self.report(doc, ("subjects", label), self.subject_again(label, *earlier))
                    continue
                found.append((label, value, doc))
        return found

    def subject_again(self, label: str, first_label: str, first_doc: Document) -> str:
        other = self.where(first_doc, ("subjects", first_label))
        if first_label == label:
            return f'subject "{label}" is already defined at {other}'
        # The archiver files DICOM under the subject whose label matches in any case
        # (REST-CONTRACT §6.3, §8.5): two such subjects would be one on the server.
        return (
            f'subject "{label}" differs only in case from subject "{first_label}" at {other}: '
            "XNAT matches subject labels in any case"
        )

    def locations(self) -> dict[tuple[str, ...], Location]:
        out: dict[tuple[str, ...], Location] = {(): Location(self.root, 1, 1)}
        for doc in self.docs:
            for loc, raw in doc.keys.items():
                out.setdefault(tuple(map(str, loc)), Location(doc.path, raw.line + 1, raw.column + 1))
        return out


def _include_list(raw: Any) -> tuple[str, ...]:
    return (raw,) if isinstance(raw, str) else tuple(raw or ())


def _quietly(model: type[Any], data: Any, context: dict[str, Any]) -> Any:
    """A part of the settings validated on its own; None when invalid (already reported)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError:
        return None


def _rules_quietly(raw: Any, context: dict[str, Any]) -> list[ScanRule | None]:
    """Each scan rule validated on its own, so that the valid ones can still be checked."""
    scans = raw.get("scans") if isinstance(raw, dict) else None
    return [_quietly(ScanRule, r, context) for r in scans] if isinstance(scans, list) else []


# ---------------------------------------------------------------- defaults


def _merge(raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """raw over defaults; `fields:` merged name by name (names compared as XNAT does, lower-cased)."""
    merged = {**{k: v for k, v in defaults.items() if k != "fields"}, **raw}
    default_fields = defaults.get("fields") or {}
    raw_fields = raw.get("fields")
    if default_fields and (raw_fields is None or isinstance(raw_fields, dict)):
        written = {str(k).lower() for k in raw_fields or {}}
        merged["fields"] = {**{k: v for k, v in default_fields.items() if k not in written}, **(raw_fields or {})}
    return merged


def apply_defaults(raw: Any, defaults: Defaults | None) -> Any:
    """The raw subject with `defaults.subject` and `defaults.session` filled in where the spec
    leaves a field out. Absent objects get nothing; a subject that gives one of dob/yob/age gets
    none of them (they are alternatives); session fields go only to sessions of their type."""
    if defaults is None or not isinstance(raw, dict) or raw.get("absent") is True:
        return raw
    subject_defaults = defaults.subject.model_dump(exclude_unset=True)
    if _AGE_CHOICE & raw.keys():
        subject_defaults = {k: v for k, v in subject_defaults.items() if k not in _AGE_CHOICE}
    out = _merge(raw, subject_defaults)
    sessions = raw.get("sessions")
    if isinstance(sessions, dict):
        out["sessions"] = {label: _session_defaults(s, defaults) for label, s in sessions.items()}
    return out


def _session_defaults(raw: Any, defaults: Defaults) -> Any:
    if not isinstance(raw, dict) or raw.get("absent") is True:
        return raw
    given_type = raw.get("xsi_type", defaults.session.xsi_type or DEFAULT_SESSION_TYPE)
    xsi_type = resolve_session_type(given_type) if isinstance(given_type, str) else None
    session_defaults = defaults.session.model_dump(exclude_unset=True)
    fields = FIELDS[Level.SESSION]
    applicable = {
        k: v
        for k, v in session_defaults.items()
        if xsi_type is None or k not in fields or fields[k].applies_to(xsi_type)
    }
    return _merge(raw, applicable)
