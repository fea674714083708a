"""Creating, updating and deleting subjects and experiments (REST-CONTRACT.md §4.4, §4.5):
PUT with query parameters, form fields or an XML document; POST to a listing; DELETE.

Every request is validated completely before anything changes, so a refused request leaves the
state as it was. Status codes and bodies:
  subject PUT      201 + accession (new), 200 + accession (update), 200 "" (`?label=`: a rename
                   and nothing else, see `relabel.py`; 409 when the folder is taken)
                   422 unknown project; 409 label in use; 417 bad label; 400 invalid values;
                   a new one of another type: 422 "Only xnat:Subject documents can be PUT to
                   this address.", of a type XNAT does not know: 400
  experiment PUT   same codes; 404 unknown project on the long path, 422 on /projects/P/experiments/E;
                   417 "Need PUT Contents" for a new one without a type; the subject is created
                   when missing
  scans            `scan_writes.py`
  POST to a list   200 + Location + absolute URL; 409 when it exists
  DELETE           200 ""; 404 when missing; a subject takes its experiments with it
Without a project in the path only accession IDs identify: `DELETE /subjects/ID`,
`PUT|DELETE /experiments/ID` (a PUT naming no experiment creates one labelled with the path
segment in the project `project=` names, else 422, as ExperimentResource does).

An experiment PUT under another existing subject's path (or with `subject_ID=` naming one)
moves it to that subject; a subject that does not exist leaves an existing experiment where it
is and creates nothing, as XNAT's handlePut does (read in SubjAssessmentResource and
ExperimentResource); only a new experiment gets a missing subject created.

Choices the contract leaves open [inferred]: labels must match `[A-Za-z0-9_-]+` (417 otherwise,
the contract's suggestion); `removeFiles=true` on DELETE removes the files from disk (default keeps them, as XNAT does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Response

from xsync.emulator import access, drops, params, relabel, resources, shortcuts, xmlbody, xsd
from xsync.emulator.http import Ctx, RouteTable, XnatHTTPError, empty, text
from xsync.emulator.params import Changes
from xsync.emulator.store import Experiment, Project, Scan, Store, Subject, now_timestamp

routes = RouteTable()
LABEL = re.compile(r"^[A-Za-z0-9_-]+$")
SUBJECT_ROOT = "xnat:subjectData"
EXPERIMENT_ROOT = "xnat:subjectAssessorData"
# XNAT's text for an item of the wrong family, on the subject and (copied there verbatim) the
# experiment resources alike.
WRONG_DOCUMENT = "Only xnat:Subject documents can be PUT to this address."


@dataclass
class Outcome:
    id: str
    created: bool
    renamed: bool = False


# -- shared steps ------------------------------------------------------------------------------
def request_pairs(ctx: Ctx) -> tuple[str | None, list[tuple[str, str]]]:
    """The document's pairs (if an XML body was sent), then the parameters, which win."""
    doc_type: str | None = None
    pairs: list[tuple[str, str]] = []
    if xmlbody.wants_xml(ctx):
        body = xmlbody.read_document(ctx)
        if body.strip():
            doc_type, pairs = xmlbody.parse(body)
    pairs.extend(ctx.params.items())
    return doc_type, pairs


def _writable(ctx: Ctx, ref: str, *, status: int, message: str, what: str) -> Project:
    p = ctx.store.project(ref)
    if p is None:
        raise XnatHTTPError(status, message)
    if not access.can_read(ctx, p):
        raise XnatHTTPError(
            403, f"Specified user account has insufficient create privileges for {what} in this project."
        )
    return p


def new_item_type(hint: str, family: str) -> str:
    """The data type a new subject or experiment is created with (`xsiType=` or the first typed
    key): 400 for a type XNAT does not know (PopulateItem's ElementNotFoundException), 422 for
    one outside the resource's family ("Only xnat:Subject documents can be PUT to this
    address."). An existing item keeps its type whatever is sent: XNAT populates the stored
    item as a template and never looks at the type again (SubjectResource/SubjAssessmentResource
    .handlePut with PopulateItem). Types the emulator does not model count as unknown."""
    item_type = xsd.canonical(hint)
    if item_type is None:
        raise XnatHTTPError(400, f"Unknown data type: {hint}")
    if not xsd.is_a(item_type, family):
        raise XnatHTTPError(422, WRONG_DOCUMENT)
    return item_type


def _check_label(label: str, what: str) -> str:
    if not LABEL.match(label):
        raise XnatHTTPError(417, f"Invalid character in {what} label.")
    return label


def apply_changes(fields: dict[str, str], custom: dict[str, str], changes: Changes, replace: bool = False) -> bool:
    """Whether the item changed."""
    before = (dict(fields), dict(custom)) if replace else None
    if replace:
        fields.clear()
        custom.clear()
    changed = params.apply(changes, fields, custom)
    return changed or (before is not None and before != (fields, custom))


def record_change(store: Store, item: Subject | Experiment | Scan) -> None:
    """A new version of `item` was saved: a new change event, now (the item JSON's meta)."""
    item.event_id = store.next_event_id()
    item.last_modified = now_timestamp()


def _identity_checks(changes: Changes, current_id: str, project: str) -> None:
    new_id = changes.identity.get("id")
    if new_id and new_id != current_id:
        raise XnatHTTPError(400, "ID cannot be modified")
    new_project = changes.identity.get("project")
    if new_project and new_project != project:
        raise XnatHTTPError(409, "Project must be modified through separate URI.")


def _put_response(outcome: Outcome) -> Response:
    if outcome.renamed:
        return empty()
    return text(outcome.id, 201 if outcome.created else 200)


def created_from_list(ctx: Ctx, outcome: Outcome) -> Response:
    url = f"{ctx.request.base_url.rstrip('/')}/{outcome.id}"
    r = text(url)
    r.headers["Location"] = url
    return r


# -- subjects ------------------------------------------------------------------------------------
def save_subject(ctx: Ctx, p: Project, ref: str, *, must_be_new: bool = False) -> Outcome:
    doc_type, pairs = request_pairs(ctx)
    if doc_type and not xsd.is_a(doc_type, SUBJECT_ROOT):
        raise XnatHTTPError(422, WRONG_DOCUMENT)
    changes = params.collect(SUBJECT_ROOT, shortcuts.SUBJECT, pairs, drops.predicate(ctx))
    store = ctx.store
    with store.lock:
        label = changes.identity.get("label") or ref
        existing = store.subject(p.id, ref)
        if must_be_new and (existing or store.subject(p.id, label)):
            raise XnatHTTPError(409, "Subject already exists.")
        if existing is None and label != ref:
            # XNAT looks the item up by the label it was sent too (SubjectResource.handlePut): a
            # rename repeated after it landed finds the renamed subject and changes nothing.
            existing = store.subject(p.id, label)
        if existing is None:
            hint = params.type_hint(pairs)
            if hint:
                new_item_type(hint, SUBJECT_ROOT)
            _identity_checks(changes, changes.identity.get("id", ""), p.id)
            s = Subject(id="", project=p.id, label=_check_label(label, "subject"), insert_user=ctx.user)
            apply_changes(s.fields, s.custom, changes)
            s.id = store.next_subject_id()
            store.add_subject(s)
            return Outcome(s.id, created=True)
        _identity_checks(changes, existing.id, p.id)
        if ctx.param("label"):
            return _rename(store, existing, ctx.param("label") or "", store.subject)
        changed = apply_changes(existing.fields, existing.custom, changes, replace=ctx.flag("allowDataDeletion"))
        if changed:
            record_change(store, existing)
        return Outcome(existing.id, created=False)


def _rename(
    store: Store, item: Subject | Experiment, label: str, lookup: Callable[[str, str], Subject | Experiment | None]
) -> Outcome:
    """`?label=` on an existing item: XNAT renames it (when the label is new) and returns, saving
    nothing else sent with it (SubjectResource, SubjAssessmentResource, ExperimentResource)."""
    if label != item.label:
        _check_label(label, "subject" if isinstance(item, Subject) else "experiment")
        if lookup(item.project, label) is not None:
            raise XnatHTTPError(409, "Specified label is already in use.")
        relabel.check(store, item, label)
        relabel.move_files(store, item, label)
        if isinstance(item, Subject):
            store.relabel_subject(item, label)
        else:
            store.relabel_experiment(item, label)
        record_change(store, item)
    return Outcome(item.id, created=False, renamed=True)


@routes.route("/projects/<project>/subjects/<subject>", ("PUT",), archive=True)
def put_subject(ctx: Ctx, project: str, subject: str) -> Response:
    p = _writable(
        ctx,
        project,
        status=422,
        message="Submitted subject record must include the project attribute.",
        what="subjects",
    )
    return _put_response(save_subject(ctx, p, subject))


@routes.route("/projects/<project>/subjects", ("POST",), archive=True)
def post_subject(ctx: Ctx, project: str) -> Response:
    p = _writable(ctx, project, status=404, message=f"Unable to find project {project}.", what="subjects")
    doc_type, pairs = request_pairs(ctx)
    label = params.collect(SUBJECT_ROOT, shortcuts.SUBJECT, pairs).identity.get("label", "")
    if not label:
        raise XnatHTTPError(400, "Submitted subject record must include a label.")
    return created_from_list(ctx, save_subject(ctx, p, label, must_be_new=True))


@routes.route("/projects/<project>/subjects/<subject>", ("DELETE",), archive=True)
def delete_project_subject(ctx: Ctx, project: str, subject: str) -> Response:
    p = access.project(ctx, project, write=True)
    return _delete_subject(ctx, ctx.store.subject(p.id, subject))


@routes.route("/subjects/<subject>", ("DELETE",), archive=True)
def delete_subject(ctx: Ctx, subject: str) -> Response:
    """By accession ID only (SubjectResource.handleDelete without a project)."""
    s = ctx.store.subjects.get(subject)
    owner = ctx.store.projects.get(s.project) if s is not None else None
    if owner is not None and not access.can_read(ctx, owner):
        raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
    return _delete_subject(ctx, s)


def _delete_subject(ctx: Ctx, s: Subject | None) -> Response:
    with ctx.store.lock:
        if s is None:
            raise XnatHTTPError(404, "Unable to find the specified subject.")
        doomed = [s.resources, *(e.resources for e in ctx.store.experiments_of(subject_id=s.id))]
        doomed += [sc.resources for e in ctx.store.experiments_of(subject_id=s.id) for sc in e.scans.values()]
        ctx.store.remove_subject(s.id)
    if ctx.flag("removeFiles"):
        for group in doomed:
            resources.discard_files(ctx.store, group.values())
    return empty()


# -- experiments ---------------------------------------------------------------------------------
def save_experiment(ctx: Ctx, p: Project, subject_ref: str | None, ref: str, *, must_be_new: bool = False) -> Outcome:
    doc_type, pairs = request_pairs(ctx)
    store = ctx.store
    with store.lock:
        existing = store.experiment(p.id, ref)
        sent_label = ctx.param("label")
        if existing is None and sent_label and not must_be_new:
            # As for subjects: the item is looked up by the label it was sent too
            # (getExistingExperiment), so a repeated rename finds the renamed experiment.
            existing = store.experiment(p.id, sent_label)
        if existing is not None:
            item_type = existing.xsi_type  # another type's parameters are ignored; the type stays
        else:
            hint = params.type_hint(pairs) or doc_type
            if not hint:
                raise XnatHTTPError(417, "Need PUT Contents")
            item_type = new_item_type(hint, EXPERIMENT_ROOT)
        changes = params.collect(item_type, shortcuts.EXPERIMENT, pairs, drops.predicate(ctx))
        label = changes.identity.get("label") or ref
        if must_be_new and (existing or store.experiment(p.id, label)):
            raise XnatHTTPError(409, "Specified experiment already exists.")
        subject_ref = subject_ref or changes.identity.get("subject_id")
        subject = store.subject(p.id, subject_ref) if subject_ref else None
        if subject is None and existing is not None:
            # A subject that does not exist names no new home for an existing experiment: XNAT
            # falls back to the stored subject and creates nothing (SubjAssessmentResource and
            # ExperimentResource: `subject == null && existing != null`). Only a new experiment
            # gets its subject created.
            subject_ref = None
        if subject is None and not subject_ref and existing is None:
            raise XnatHTTPError(422, "Submitted experiment record must include the subject.")
        if subject is None and subject_ref:
            _check_label(subject_ref, "subject")
        if existing is None:
            _identity_checks(changes, changes.identity.get("id", ""), p.id)
            _check_label(label, "experiment")
        else:
            _identity_checks(changes, existing.id, p.id)
        if existing is not None and ctx.param("label"):
            return _rename(store, existing, ctx.param("label") or "", store.experiment)
        # Validated: from here on nothing can fail.
        if subject is None and subject_ref:
            subject = store.add_subject(
                Subject(id=store.next_subject_id(), project=p.id, label=subject_ref, insert_user=ctx.user)
            )
        if existing is None:
            assert subject is not None
            e = Experiment(
                id=store.next_experiment_id(),
                project=p.id,
                subject_id=subject.id,
                label=label,
                xsi_type=item_type,
                insert_user=ctx.user,
            )
            apply_changes(e.fields, e.custom, changes)
            store.add_experiment(e)
            return Outcome(e.id, created=True)
        moved = subject is not None and existing.subject_id != subject.id
        if subject is not None:
            existing.subject_id = subject.id
        changed = apply_changes(existing.fields, existing.custom, changes, replace=ctx.flag("allowDataDeletion"))
        if changed or moved:
            record_change(store, existing)
        return Outcome(existing.id, created=False)


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>", ("PUT",), archive=True)
def put_subject_experiment(ctx: Ctx, project: str, subject: str, experiment: str) -> Response:
    p = _writable(ctx, project, status=404, message=f"Unable to find project {project}.", what="experiments")
    return _put_response(save_experiment(ctx, p, subject, experiment))


def _put_experiment_resource(ctx: Ctx, project: str, experiment: str) -> Response:
    """ExperimentResource: no constructor check, so an unknown project is handlePut's 422."""
    p = _writable(
        ctx,
        project,
        status=422,
        message="Submitted experiment record must include the project attribute.",
        what="experiments",
    )
    return _put_response(save_experiment(ctx, p, None, experiment))


@routes.route("/projects/<project>/experiments/<experiment>", ("PUT",), archive=True)
def put_project_experiment(ctx: Ctx, project: str, experiment: str) -> Response:
    return _put_experiment_resource(ctx, project, experiment)


@routes.route("/experiments/<experiment>", ("PUT",), archive=True)
def put_experiment(ctx: Ctx, experiment: str) -> Response:
    """Without a project: an accession ID names an existing experiment; anything else is a new
    one labelled with the path segment, in the project `project=` names (422 without one)."""
    e = ctx.store.experiments.get(experiment)
    return _put_experiment_resource(ctx, e.project if e is not None else ctx.param("project") or "", experiment)


def _post_experiment(ctx: Ctx, project: str, subject: str | None) -> Response:
    p = _writable(ctx, project, status=404, message=f"Unable to find project {project}.", what="experiments")
    if subject is not None:
        access.subject(ctx, p, subject)
    doc_type, pairs = request_pairs(ctx)
    hint = params.type_hint(pairs) or doc_type
    if not hint:
        raise XnatHTTPError(417, "Need PUT Contents")
    identity = params.collect(xsd.canonical(hint) or "xnat:experimentData", shortcuts.EXPERIMENT, pairs).identity
    label = identity.get("label", "")
    if not label:
        raise XnatHTTPError(400, "Submitted experiment record must include a label.")
    return created_from_list(ctx, save_experiment(ctx, p, subject, label, must_be_new=True))


@routes.route("/projects/<project>/subjects/<subject>/experiments", ("POST",), archive=True)
def post_subject_experiment(ctx: Ctx, project: str, subject: str) -> Response:
    return _post_experiment(ctx, project, subject)


@routes.route("/projects/<project>/experiments", ("POST",), archive=True)
def post_project_experiment(ctx: Ctx, project: str) -> Response:
    return _post_experiment(ctx, project, None)


def _delete_experiment(ctx: Ctx, e: Experiment) -> Response:
    p = ctx.store.projects.get(e.project)
    if p is not None and not access.can_read(ctx, p):
        raise XnatHTTPError(403, "User account doesn't have permission to edit this project.")
    with ctx.store.lock:
        ctx.store.remove_experiment(e.id)
    if ctx.flag("removeFiles"):
        resources.discard_files(ctx.store, e.resources.values())
        for sc in e.scans.values():
            resources.discard_files(ctx.store, sc.resources.values())
    return empty()


def _find_experiment(ctx: Ctx, project: str | None, subject: str | None, experiment: str) -> Experiment:
    p = access.project(ctx, project, write=True) if project else None
    s = ctx.store.subject(p.id, subject) if p and subject else None
    e = ctx.store.experiment(p.id if p else None, experiment)
    if e is None or (subject and (s is None or e.subject_id != s.id)):
        raise XnatHTTPError(404, "Unable to find the specified experiment.")
    return e


@routes.route("/projects/<project>/subjects/<subject>/experiments/<experiment>", ("DELETE",), archive=True)
def delete_subject_experiment(ctx: Ctx, project: str, subject: str, experiment: str) -> Response:
    return _delete_experiment(ctx, _find_experiment(ctx, project, subject, experiment))


@routes.route("/projects/<project>/experiments/<experiment>", ("DELETE",), archive=True)
def delete_project_experiment(ctx: Ctx, project: str, experiment: str) -> Response:
    return _delete_experiment(ctx, _find_experiment(ctx, project, None, experiment))


@routes.route("/experiments/<experiment>", ("DELETE",), archive=True)
def delete_experiment(ctx: Ctx, experiment: str) -> Response:
    return _delete_experiment(ctx, _find_experiment(ctx, None, None, experiment))
