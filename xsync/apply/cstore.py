"""Sending a session's instances over DICOM C-STORE (`upload.method: cstore`): one association
per session (more only past 128 presentation contexts), each object's bytes with the session's
header edits, the routing comment among them.

An association that breaks is opened again for the objects it did not store, never for those
the receiver answered as stored; objects the receiver refuses are collected and reported
together. Whether XNAT then holds them is read back by the caller, as for REST.
"""

from __future__ import annotations

from dataclasses import dataclass

from xsync.apply.context import ApplyContext
from xsync.apply.files import Instance
from xsync.apply.sent import SentObject, element_edits
from xsync.errors import RemoteError, TransportError
from xsync.spec.remap import HeaderChange
from xsync.xnat.storescu import (
    MAX_CONTEXTS,
    AssociationRejected,
    Outgoing,
    Refused,
    StoreAssociation,
    StoreTarget,
)

ASSOCIATIONS = 3  # the first, and two more for what a broken one left unsent


@dataclass(frozen=True)
class _Item:
    out: Outgoing
    size: int


def send_cstore(
    chosen: list[Instance], changes: tuple[HeaderChange, ...], target: StoreTarget, ctx: ApplyContext, name: str
) -> int:
    """Store `chosen`; the bytes sent. Raises RemoteError naming what was refused or unsent."""
    edits = element_edits(changes)
    items = []
    for i in chosen:
        sent = SentObject(i, edits)
        f = i.file
        out = Outgoing(f.sop_class_uid, f.sop_instance_uid, f.transfer_syntax_uid, sent.dataset_size, sent.open_dataset)
        items.append(_Item(out, sent.dataset_size))
    pending, refused, sent_bytes = items, list[Refused](), 0
    ctx.progress.start(name, sum(i.size for i in items))
    try:
        for attempt in range(ASSOCIATIONS):
            done: set[str] = set()
            try:
                for batch in _batches(pending):
                    contexts = {(i.out.sop_class_uid, i.out.transfer_syntax_uid) for i in batch}
                    with StoreAssociation(target, contexts) as association:
                        for item in batch:
                            if ctx.runner.interrupted.is_set():
                                raise TransportError("interrupted")
                            problem = association.store(item.out)
                            done.add(item.out.sop_instance_uid)
                            sent_bytes += item.size
                            ctx.count_bytes(item.size)
                            ctx.progress.advance(name, item.size)
                            if problem is not None:
                                refused.append(problem)
                pending = []
                break
            except TransportError as e:
                pending = [i for i in pending if i.out.sop_instance_uid not in done]
                if attempt + 1 == ASSOCIATIONS or ctx.runner.interrupted.is_set() or isinstance(e, AssociationRejected):
                    raise TransportError(
                        f"{e.summary}; {len(items) - len(pending)} of {len(items)} objects were sent"
                    ) from None
                if not done:  # nothing got through: give the receiver a moment before asking again
                    ctx.sleep(float(attempt + 1))
    finally:
        ctx.progress.finish(name)
    if refused:
        first = refused[0]
        raise RemoteError(f"the DICOM receiver refused {len(refused)} of {len(items)} objects (first: "
                          f"{first.sop_instance_uid}, {first.reason})")  # fmt: skip
    return sent_bytes


def _batches(items: list[_Item]) -> list[list[_Item]]:
    """Items grouped so that no association needs more than MAX_CONTEXTS contexts."""
    batches: list[list[_Item]] = []
    contexts: list[set[tuple[str, str]]] = []
    for item in items:
        key = (item.out.sop_class_uid, item.out.transfer_syntax_uid)
        for batch, held in zip(batches, contexts, strict=True):
            if key in held or len(held) < MAX_CONTEXTS:
                batch.append(item)
                held.add(key)
                break
        else:
            batches.append([item])
            contexts.append({key})
    return batches
