"""The listing engine behind `/projects/P/subjects`, `/projects/P/experiments`, `/experiments`,
the scans of a session and friends: XNAT's QueryOrganizer as far as REST-CONTRACT.md §2
describes it.

A listing has a root type (`xnat:subjectData`, `xnat:subjectAssessorData`, ...). `xsiType=`
replaces it; without it, a column or filter of a more specific type of the same family switches
the root to that type, which restricts the rows to it. Columns are shortcut names or xpaths;
output keys are the shortcut name, else the lower-cased xpath.

Join columns give one row per joined child (SQL LEFT JOIN: a parent without children still gives
one row with empty cells):
  * `<type>/fields/field/name|field`: one row per custom variable of the subject/experiment;
  * `xnat:imageScanData/<field>` (any scan type): one row per scan of the session. A column of a
    more specific scan type (`xnat:mrScanData/ID`) joins only scans of that type and drops the
    sessions without one (an inner join, as pyxnat's `scans(scan_type=...)` relies on);
  * `<scan type>/file/<field>`: one row per resource of each scan; `file_count` and `file_size`
    are computed from the stored files [inferred: XNAT reads them from the catalog].
Several joins at once give their cross product per parent row (custom fields x scans x resources),
which is what the SQL would return; only the xsync client's combinations are tested against it.

A predicate other than `[@xsi:type=...]` changes nothing, as in XFT (`xft_paths.py`):
`fields/field[name=site]/field` is the custom-variable join of `fields/field/field` (one row per
variable, each with its own value) under its own key, the lower-cased xpath as written.

Filters (any shortcut but `xsiType`, or any `type/path` key) apply to the level of their field
with the value semantics of `filters.py`; a filter on a joined level keeps only the parents with
a matching child.
An unknown type or field in `columns` is a 400; unknown parameters are ignored. In strict mode
(`EmulatorConfig.strict`) an xpath column is checked as XFT resolves it instead: an unknown data
type is left out (XNAT logs it and drops the column), a field XFT cannot resolve raises
`UnresolvedColumn` (the listing answers as its XNAT resource does, `listings.py`), a field XFT
resolves but the emulator does not store gives empty cells, and a filter XFT cannot resolve is
ignored. An unknown `xsiType=` fails the query the same way; a comma-separated one is not read
(QueryOrganizerResource.getRootElementName).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

from xsync.emulator import shortcuts, xsd
from xsync.emulator.filters import value_matcher
from xsync.emulator.http import XnatHTTPError
from xsync.emulator.store import Experiment, Resource, Scan, Store, Subject
from xsync.emulator.xft_paths import Resolution, resolve

Row = dict[str, str]
Getter = Callable[[Any], str]

SCAN_ROOT = "xnat:imageScanData"
RESOURCE_ROOT = "xnat:abstractResource"


class Level(Enum):
    BASE = "base"
    SUBJECT = "subject"  # the subject of an experiment row
    CUSTOM = "custom"
    SCAN = "scan"
    RESOURCE = "resource"


@dataclass(frozen=True)
class Column:
    key: str
    xpath: str
    level: Level
    owner: str  # canonical type; objects not of this type give ""
    get: Getter


class UnresolvedColumn(Exception):
    """A column XFT cannot resolve (strict mode): XNAT's query fails with FieldNotFoundException
    (or, for an unknown `xsiType=`, ElementNotFoundException), which the resource handles."""

    def __init__(self, xpath: str) -> None:
        super().__init__(xpath)
        self.xpath = xpath


@dataclass(frozen=True)
class Listing:
    """What kind of table is asked for."""

    family: str  # xnat:subjectData, xnat:experimentData or xnat:imageScanData: what the rows are
    root: str  # default root type
    table: dict[str, shortcuts.Shortcut]
    defaults: tuple[str, ...]
    root_key: bool = False  # add `<root>/id` (ProjSubExptList does)
    # The root's primary key, which XNAT's QueryOrganizer selects whatever `columns` says. Under
    # the listing's own root it is this shortcut's column; under a narrower root (`xsiType=`, a
    # more specific column) it comes back as `<root>/<key>` [inferred, as `<root>/id` does].
    key: str = "ID"


SUBJECTS = Listing(
    "xnat:subjectData", "xnat:subjectData", shortcuts.SUBJECT, ("ID", "project", "label", "insert_date", "insert_user")
)
PROJECT_EXPERIMENTS = Listing(
    "xnat:experimentData",
    "xnat:subjectAssessorData",
    shortcuts.EXPERIMENT,
    ("ID", "project", "date", "xsiType", "label", "insert_date"),
    root_key=True,
)
EXPERIMENTS = Listing(
    "xnat:experimentData",
    "xnat:experimentData",
    shortcuts.EXPERIMENT,
    ("ID", "project", "date", "xsiType", "label", "insert_date"),
)
# ScanList (web/.../restlet/resources/ScanList.java): root xnat:imageScanData, the scan shortcuts,
# these default columns; its key is the generated `xnat_imagescandata_id` (the scan's `ID` is
# not unique), so `ID` is there only when asked for.
SCANS = Listing(
    "xnat:imageScanData",
    "xnat:imageScanData",
    shortcuts.SCAN,
    ("xnat_imagescandata_id", "ID", "type", "quality", "xsiType", "note", "series_description"),
    key="xnat_imagescandata_id",
)
RESERVED = frozenset({"xsiType", "columns", "format", "limit", "offset", "sortBy", "sortOrder", "fields"})


# -- value getters -----------------------------------------------------------------------------
def _attr_getters(kind: str) -> dict[str, Getter]:
    if kind == "subject":
        return {
            "ID": lambda s: s.id,
            "label": lambda s: s.label,
            "project": lambda s: s.project,
            "meta/insert_date": lambda s: s.insert_date,
            "meta/insert_user": lambda s: s.insert_user,
            "meta/insert_user/login": lambda s: s.insert_user,
            "meta/last_modified": lambda s: s.last_modified or s.insert_date,
            "extension_item/element_name": lambda s: "xnat:subjectData",
        }
    if kind == "experiment":
        return {
            "ID": lambda e: e.id,
            "label": lambda e: e.label,
            "project": lambda e: e.project,
            "subject_ID": lambda e: e.subject_id,
            "meta/xsi_type": lambda e: e.xsi_type,
            "extension_item/element_name": lambda e: e.xsi_type,
            "meta/insert_date": lambda e: e.insert_date,
            "meta/insert_user": lambda e: e.insert_user,
            "meta/insert_user/login": lambda e: e.insert_user,
            "meta/last_modified": lambda e: e.last_modified or e.insert_date,
        }
    if kind == "scan":
        return {
            "ID": lambda s: s.id,
            "meta/pk": lambda s: str(s.pk),
            "xnat_imagescandata_id": lambda s: str(s.pk),
            "meta/xsi_type": lambda s: s.xsi_type,
            "extension_item/element_name": lambda s: s.xsi_type,
            "meta/insert_date": lambda s: s.insert_date,
            "meta/insert_user": lambda s: s.insert_user,
            "meta/insert_user/login": lambda s: s.insert_user,
            "meta/last_modified": lambda s: s.last_modified or s.insert_date,
        }
    return {
        "label": lambda r: r.label,
        "format": lambda r: r.format,
        "content": lambda r: r.content,
        "file_count": lambda r: str(len(r.files)),
        "file_size": lambda r: str(sum(f.size for f in r.files.values())),
        "xnat_abstractresource_id": lambda r: str(r.id),
    }


_GETTERS = {kind: _attr_getters(kind) for kind in ("subject", "experiment", "scan", "resource")}


def _field_getter(path: str) -> Getter:
    return lambda o: o.fields.get(path, "")


def _getter(kind: str, type_name: str, path: str) -> Getter | None:
    """How to read relative `path` of an object of `type_name`; None if the type has no such field."""
    fixed = {k.lower(): g for k, g in _GETTERS[kind].items()}
    p = xsd.strip_predicates(path).strip("/")
    if p.lower() in fixed:
        return fixed[p.lower()]
    spec = xsd.field(type_name, p)
    if spec is None:
        return None
    # Resources keep no other fields: a schema field of theirs (`note`, `description`) is empty.
    return _empty if kind == "resource" else _field_getter(spec.path)


def _split(xpath: str) -> tuple[str | None, str]:
    type_part, _, path = xpath.partition("/")
    return xsd.canonical(type_part), path


_CUSTOM = re.compile(r"^fields/field/(name|field)$", re.IGNORECASE)
_OTHER_PREDICATE = re.compile(r"\[(?!@?xsi:type)[^\]]*\]", re.IGNORECASE)


def _custom_part(path: str) -> str | None:
    """`name` or `field` for a custom-variable column, predicates other than xsi:type dropped
    (XFT ignores `[name=X]`), else None."""
    m = _CUSTOM.match(_OTHER_PREDICATE.sub("", path))
    return m.group(1).lower() if m else None


class Query:
    """One parsed listing request: its root, columns, joins and filters."""

    def __init__(
        self,
        listing: Listing,
        params: Mapping[str, str],
        columns_param: str | None,
        xsi_type: str | None,
        *,
        strict: bool = False,
    ) -> None:
        self.listing = listing
        self.strict = strict
        requested = self._requested(columns_param)
        filter_xpaths = self._filter_xpaths(params)
        self.root = self._root(xsi_type, [xp for _, xp in requested] + [xp for xp, _ in filter_xpaths])
        self.root_key = self._root_key()
        self.columns: list[Column] = []
        seen: set[str] = set()
        forced = [] if self.root_key and listing.key != "ID" else [(listing.key, self._xpath_of(listing.key))]
        for key, xpath in forced + requested:
            if key not in seen:
                seen.add(key)
                self.columns.append(self._column(key, xpath))
        self.filters: list[tuple[Column, str]] = []
        for xpath, value in filter_xpaths:
            if strict and resolve(xpath) is not Resolution.RESOLVED:
                continue  # XNAT's processQueryCriteria logs it and adds no criterion
            try:
                self.filters.append((self._column(xpath, xpath), value))
            except XnatHTTPError:
                continue  # a filter naming nothing real is just an unknown parameter
        self.scan_type = self._scan_type()

    # -- parsing -------------------------------------------------------------------------------
    def _xpath_of(self, shortcut: str) -> str:
        sc = self.listing.table[shortcut]
        return shortcuts.xpath_for(sc, self.listing.root)

    def _requested(self, columns_param: str | None) -> list[tuple[str, str]]:
        names = [c.strip() for c in (columns_param or "DEFAULT").split(",") if c.strip()]
        out: list[tuple[str, str]] = []
        for name in names:
            if name == "DEFAULT":
                out.extend((d, self._xpath_of(d)) for d in self.listing.defaults)
            elif "/" in name:
                if self.strict:
                    found = resolve(name)
                    if found is Resolution.UNKNOWN_TYPE:
                        continue  # QueryOrganizerResource.populateQuery drops it
                    if found is Resolution.UNKNOWN_FIELD:
                        raise UnresolvedColumn(name)
                out.append((shortcuts.key_for_xpath(self.listing.table, name), name))
            elif name in self.listing.table:
                out.append((name, self._xpath_of(name)))
            # Unknown names without `/` are silently ignored, as XNAT does.
        return out

    def _filter_xpaths(self, params: Mapping[str, str]) -> list[tuple[str, str]]:
        out = []
        for key, value in params.items():
            if key in RESERVED:
                continue
            if key in self.listing.table:
                out.append((self._xpath_of(key), value))
            elif "/" in key and ":" in key.split("/", 1)[0]:
                out.append((key, value))
        return out

    def _root(self, xsi_type: str | None, xpaths: Iterable[str]) -> str:
        if xsi_type and self.strict and "," in xsi_type:
            xsi_type = None  # getRootElementName takes a single type only; a list is not read
        if xsi_type:
            root = xsd.canonical(xsi_type)
            if root is None and self.strict:
                raise UnresolvedColumn(xsi_type)  # the query organizer's ElementNotFoundException
            if root is None:
                raise XnatHTTPError(400, f"Unknown data type: {xsi_type}")
            return root
        root = self.listing.root
        for xpath in xpaths:
            t, _ = _split(xpath)
            if t and t != root and xsd.is_a(t, root) and xsd.is_a(t, self.listing.family):
                root = t  # a more specific type of the rows' family narrows the listing to it
        return root

    def _root_key(self) -> str | None:
        """The key of the root's primary-key column when it is not a shortcut's."""
        if self.listing.root_key:
            return f"{self.root.lower()}/id"
        if self.root != self.listing.root:
            return f"{self.root.lower()}/{self.listing.key.lower()}" if self.listing.key != "ID" else None
        return None

    def _column(self, key: str, xpath: str) -> Column:
        t, path = _split(xpath)
        if t is None or not path:
            raise XnatHTTPError(400, f"Invalid column or filter: {xpath}")
        family = self.listing.family
        owner = t
        getter: Getter | None
        custom = _custom_part(path)
        if custom and xsd.child(t, "fields/field"):
            getter = (lambda c: c[0]) if custom == "name" else (lambda c: c[1])
            level = Level.CUSTOM
            if not xsd.is_a(t, family):  # e.g. subject variables asked of an experiment listing
                level, getter = Level.SUBJECT, (lambda s: "")
        elif xsd.is_a(t, SCAN_ROOT):
            level = Level.BASE if family == SCAN_ROOT else Level.SCAN
            getter = _getter("scan", t, path)
            plain = xsd.strip_predicates(path)
            if getter is None and plain.lower().startswith("file/"):
                level, getter = Level.RESOURCE, _getter("resource", "xnat:resourceCatalog", plain[5:])
                owner = RESOURCE_ROOT  # the scan type only narrows the scan join
        elif xsd.is_a(t, family):
            level = Level.BASE
            getter = _getter("subject" if family == "xnat:subjectData" else "experiment", t, path)
        elif xsd.is_a(t, "xnat:subjectData") and family == "xnat:experimentData":
            level = Level.SUBJECT
            getter = _getter("subject", t, path)
        else:  # a type unrelated to the rows: XNAT's joins to it are not modelled
            raise XnatHTTPError(400, f"Invalid column or filter: {xpath}")
        if getter is None and self.strict and resolve(xpath) is Resolution.RESOLVED:
            getter = _empty  # XFT has the column; the emulator stores nothing for it
        if getter is None:
            raise XnatHTTPError(400, f"Invalid column or filter: {xpath}")
        return Column(key, xpath, level, owner, getter)

    def _scan_type(self) -> str | None:
        """The scan type joined (None: no scan join); a specific type makes it an inner join."""
        scan_cols = [c for c in self._all_columns() if c.level in (Level.SCAN, Level.RESOURCE)]
        if not scan_cols or self.listing.family == SCAN_ROOT:
            return None
        chosen = SCAN_ROOT
        for c in scan_cols:
            t = _split(c.xpath)[0] or SCAN_ROOT
            if t != chosen and xsd.is_a(t, chosen):
                chosen = t
        return chosen

    def _all_columns(self) -> list[Column]:
        return self.columns + [c for c, _ in self.filters]

    # -- evaluation ----------------------------------------------------------------------------
    def rows(
        self, objects: Iterable[Subject | Experiment | Scan], store: Store, uri: Callable[[Any], str] | None = None
    ) -> list[Row]:
        """The table's rows; `uri` makes each row's URI (default: the accession-ID URI)."""
        return _Evaluation(self).rows(objects, store, uri or _uri_function(self.listing.family))

    def header(self) -> list[str]:
        keys = [c.key for c in self.columns]
        if self.root_key:
            keys.append(self.root_key)
        return [*keys, "URI"]


def _type_of(obj: Subject | Experiment | Scan | Resource) -> str:
    if isinstance(obj, Subject):
        return "xnat:subjectData"
    if isinstance(obj, Resource):
        return "xnat:resourceCatalog"
    return obj.xsi_type


@cache
def _applies(type_name: str, owner: str) -> bool:
    return xsd.is_a(type_name, owner)


def _passes(obj: Any, filters: list[tuple[Column, Callable[[str], bool]]]) -> bool:
    return all(test(c.get(obj)) for c, test in filters)


def _empty(_: Any) -> str:
    return ""


class _Evaluation:
    """One listing's rows. Cell plans are cached per (level, data type): which getter fills
    which key, "" where the row's object is not of the column's type."""

    def __init__(self, query: Query) -> None:
        self.q = query
        self.cols: dict[Level, list[Column]] = {lv: [] for lv in Level}
        for c in query.columns:
            self.cols[c.level].append(c)
        self.filters: dict[Level, list[tuple[Column, Callable[[str], bool]]]] = {lv: [] for lv in Level}
        for c, value in query.filters:
            self.filters[c.level].append((c, _matcher(c, value)))
        self._plans: dict[tuple[Level, str], list[tuple[str, Getter]]] = {}
        self.scan_type = query.scan_type
        self.resource_join = bool(self.cols[Level.RESOURCE] or self.filters[Level.RESOURCE])
        self.custom_join = bool(self.cols[Level.CUSTOM] or self.filters[Level.CUSTOM])
        self.inner_scans = self.scan_type not in (None, SCAN_ROOT) or bool(
            self.filters[Level.SCAN] or self.filters[Level.RESOURCE]
        )

    def cells(self, obj: Any, level: Level, type_name: str) -> Row:
        plan = self._plans.get((level, type_name))
        if plan is None:
            plan = [(c.key, c.get if _applies(type_name, c.owner) else _empty) for c in self.cols[level]]
            self._plans[(level, type_name)] = plan
        return {key: get(obj) for key, get in plan}

    def blank(self, *levels: Level) -> Row:
        return {c.key: "" for lv in levels for c in self.cols[lv]}

    def rows(
        self, objects: Iterable[Subject | Experiment | Scan], store: Store, uri: Callable[[Any], str]
    ) -> list[Row]:
        root, root_key = self.q.root, self.q.root_key
        base_filters, subject_filters = self.filters[Level.BASE], self.filters[Level.SUBJECT]
        subject_cols = bool(self.cols[Level.SUBJECT])
        out: list[Row] = []
        for obj in objects:
            obj_type = _type_of(obj)
            if not _applies(obj_type, root) or (base_filters and not _passes(obj, base_filters)):
                continue
            subject = store.subjects.get(obj.subject_id) if isinstance(obj, Experiment) else None
            if subject_filters and (subject is None or not _passes(subject, subject_filters)):
                continue
            base = self.cells(obj, Level.BASE, obj_type)
            if subject_cols:
                base.update(
                    self.cells(subject, Level.SUBJECT, "xnat:subjectData") if subject else self.blank(Level.SUBJECT)
                )
            if root_key:
                base[root_key] = str(obj.pk) if isinstance(obj, Scan) else obj.id
            base["URI"] = uri(obj)
            customs = self.custom_rows(obj, obj_type) if self.custom_join and not isinstance(obj, Scan) else [{}]
            if not customs:
                continue
            scans: list[Row] = [{}]
            if isinstance(obj, Scan):
                scans = self.resource_rows(obj) if self.resource_join else [{}]
            elif self.scan_type is not None:
                scans = self.scan_rows(obj, self.scan_type)
                if not scans:
                    if self.inner_scans:
                        continue
                    scans = [self.blank(Level.SCAN, Level.RESOURCE)]
            if len(customs) == 1 and len(scans) == 1:
                base.update(customs[0])
                base.update(scans[0])
                out.append(base)
                continue
            for custom in customs:
                for scan in scans:
                    out.append({**base, **custom, **scan})
        return out

    def resource_rows(self, scan: Scan) -> list[Row]:
        """A scan listing's resource join: one row per resource, one blank row without any."""
        rows = [self.cells(r, Level.RESOURCE, "xnat:resourceCatalog") for r in scan.resources.values()]
        return rows or [self.blank(Level.RESOURCE)]

    def custom_rows(self, obj: Subject | Experiment, obj_type: str) -> list[Row]:
        filters = self.filters[Level.CUSTOM]
        rows = [
            self.cells(item, Level.CUSTOM, obj_type)
            for item in obj.custom.items()
            if not filters or _passes(item, filters)
        ]
        if not rows and not filters:
            rows.append(self.blank(Level.CUSTOM))
        return rows

    def scan_rows(self, obj: Subject | Experiment | Scan, scan_type: str) -> list[Row]:
        if not isinstance(obj, Experiment):
            return []
        scan_filters, resource_filters = self.filters[Level.SCAN], self.filters[Level.RESOURCE]
        rows: list[Row] = []
        for scan in obj.scans.values():
            if not _applies(scan.xsi_type, scan_type) or (scan_filters and not _passes(scan, scan_filters)):
                continue
            cells = self.cells(scan, Level.SCAN, scan.xsi_type)
            if not self.resource_join:
                rows.append(cells)
                continue
            res_rows = [
                self.cells(r, Level.RESOURCE, "xnat:resourceCatalog")
                for r in scan.resources.values()
                if not resource_filters or _passes(r, resource_filters)
            ]
            if not res_rows:
                if resource_filters:
                    continue
                res_rows = [self.blank(Level.RESOURCE)]
            rows.extend({**cells, **r} for r in res_rows)
        return rows


def _uri_function(family: str) -> Callable[[Any], str]:
    if family == "xnat:subjectData":
        return lambda s: f"/data/subjects/{s.id}"
    return lambda e: f"/data/experiments/{e.id}"


def _matcher(column: Column, value: str) -> Callable[[str], bool]:
    _, path = _split(column.xpath)
    spec = xsd.field(column.owner, path) if column.level in (Level.BASE, Level.SCAN, Level.SUBJECT) else None
    kind = spec.xsd_type if spec else "string"
    alternatives = [v for v in value.split(",")]
    tests = [value_matcher(kind, v) for v in alternatives]
    return lambda cell: any(t(cell) for t in tests)


def shortcut_table(listing: Listing) -> tuple[list[str], list[Row]]:
    """`?fields=...`: the shortcut names a listing understands and their xpaths."""
    rows = [{"key": sc.key, "xpath": shortcuts.xpath_for(sc, listing.root)} for sc in listing.table.values()]
    return ["key", "xpath"], rows
