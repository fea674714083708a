"""The project lock: one `xsync apply` at a time per XNAT project, across machines.

XNAT has no lock service, so the lock is a project resource labelled `xsync-lock`, created by
`PUT /data/projects/P/resources/xsync-lock?content=<record>`. CatalogResource.handlePost answers
409 "Specified resource already exists." when a resource of that label exists, so the create is
the only way in, and the owner travels in the same request (see `lockrecord`).

The check and the insert are two steps in XNAT (the existing resources are loaded when the
request is set up; the insert comes later in handlePost, with no lock between), so two runs that
PUT at the same moment can both get 200 and leave two resources with one label. Every run
therefore lists the project's resources after its create: the lock resource with the lowest
`xnat_abstractresource_id` holds, and a run whose own resource is not the lowest deletes it (by
numeric id: a DELETE by label removes every resource of that label) and reports the lock as
held. A lower id can still be committed after a listing (a slow insert that drew its id first),
so the run that finds itself lowest lists once more after `settle` seconds, and the heartbeat
checks again at every beat; `ensure_held()` reports a lock lost that way.

Expired locks are never broken automatically: expiry says that a run stopped renewing, not
that it stopped writing. `force_unlock` breaks a lock given its id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from xsync.apply.lockrecord import (
    LOCK_FILE,
    LOCK_LABEL,
    LockInfo,
    LockRow,
    clean_name,
    encode_content,
    encode_file,
    held_message,
    lock_rows,
    new_lock,
    with_file,
)
from xsync.errors import ConflictError, LockError, NotFoundError, XsyncError
from xsync.xnat.client import XnatClient

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- reading -----------------------------------------------------------------------------------------
def _resources_path(project: str) -> str:
    return f"/data/projects/{project}/resources"


def list_locks(client: XnatClient, project: str) -> list[LockRow]:
    """Every lock resource of `project`, oldest (the holder) first. One request."""
    return lock_rows(client.listing(_resources_path(project)))


def _with_current_expiry(client: XnatClient, project: str, row: LockRow) -> LockInfo:
    info = row.info()
    if row.file_count == 0 or not info.readable:
        return info
    try:
        body = client.request("GET", f"{_resources_path(project)}/{row.resource_id}/files/{LOCK_FILE}").content
    except NotFoundError:  # released meanwhile, or its file not written yet
        return info
    return with_file(info, body)


def read_lock(client: XnatClient, project: str) -> LockInfo | None:
    """The lock that holds `project`, or None when it is not locked."""
    rows = list_locks(client, project)
    return _with_current_expiry(client, project, rows[0]) if rows else None


def _delete(client: XnatClient, project: str, resource_id: int) -> None:
    with contextlib.suppress(NotFoundError):  # already gone: the outcome wanted
        client.request("DELETE", f"{_resources_path(project)}/{resource_id}")


def force_unlock(client: XnatClient, project: str, lock_id: str, *, clock: Clock = _utcnow) -> LockInfo:
    """Delete the lock of `project` if its id is `lock_id`; the broken lock is returned. Raises
    LockError when the project is not locked or another lock holds it."""
    info = read_lock(client, project)
    if info is None:
        raise LockError(f"project {project} is not locked")
    if info.id != lock_id:
        summary, detail = held_message(project, info, clock())
        raise LockError(f"not unlocked: the lock of {project} is {info.id}, not {lock_id}", f"{summary}\n{detail}")
    _delete(client, project, info.resource_id)
    return info


def _gone_from_this_machine(holder: LockInfo) -> bool:
    """The holder ran here (same host name) and its process is no more: it was killed or crashed.
    A live process, whoever's, or this one (another lock in the same run) is never taken over."""
    if holder.host != clean_name(socket.gethostname()) or holder.pid <= 0 or holder.pid == os.getpid():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


# -- holding -----------------------------------------------------------------------------------------
class ProjectLock:
    """`with ProjectLock(client, "P", user="alice"):` — held while the block runs (to wait for
    it, call `acquire(timeout)` before the `with`; entering keeps a lock already held).

    `acquire()` refuses at once when another run holds the lock, or polls every `poll_interval`
    seconds for up to `timeout`. While held, a daemon thread renews the expiry every `ttl/3`
    seconds through the same client (XnatClient's pool is sized for concurrent use) and checks
    that the lock is still ours; `ensure_held()` raises once it is not, so a long apply should
    call it between steps. `release()` deletes the lock only if it is still ours. `user` is the
    XNAT user name recorded as owner: never a secret.
    """

    def __init__(
        self,
        client: XnatClient,
        project: str,
        *,
        user: str,
        ttl: float = 900.0,
        poll_interval: float = 2.0,
        settle: float = 1.0,
        clock: Clock = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        take_over_dead: bool = True,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.client = client
        self.project = project
        self.user = user
        self.ttl = ttl
        self.lock_id = uuid.uuid4().hex
        self.info: LockInfo | None = None
        self._poll = poll_interval
        self._settle = settle
        self._clock = clock
        self._sleep = sleep
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._lost = ""  # why the heartbeat found the lock no longer ours
        # A lock whose run is certainly gone — it ran on this machine and its process is not
        # alive — is taken over (`took_over` says whose); any other lock needs force-unlock.
        self.take_over_dead = take_over_dead
        self.took_over: LockInfo | None = None

    # -- acquire -------------------------------------------------------------------------------------
    def acquire(self, timeout: float = 0.0) -> LockInfo:
        if self.info is not None:
            return self.info
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            holder = self._attempt()
            if holder is None:
                assert self.info is not None
                return self.info
            if self.take_over_dead and holder.readable and _gone_from_this_machine(holder):
                with contextlib.suppress(LockError):  # somebody else may break it first: try again
                    self.took_over = force_unlock(self.client, self.project, holder.id, clock=self._clock)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary, detail = held_message(self.project, holder, self._clock(), waited=timeout)
                raise LockError(summary, detail)
            log.info("project %s is locked by %s; waiting", self.project, holder.id)
            self._sleep(min(self._poll, remaining))

    def _attempt(self) -> LockInfo | None:
        """One try: None when the lock is now ours, else the lock that holds. A try that fails
        half-way (the server, an interrupt) removes what it created before passing the error on,
        so a failed start leaves no lock for somebody to force-unlock."""
        try:
            return self._create_and_settle()
        except BaseException:
            with contextlib.suppress(XsyncError):
                for row in list_locks(self.client, self.project):
                    if row.info().id == self.lock_id:
                        _delete(self.client, self.project, row.resource_id)
            self._stop_heartbeat()
            self.info = None
            raise

    def _create_and_settle(self) -> LockInfo | None:
        """Create the lock resource and settle who holds (see the module's docstring). Loops only
        when a lock vanished between two of its requests."""
        while True:
            mine = new_lock(
                self.lock_id,
                owner=self.user,
                host=socket.gethostname(),
                pid=os.getpid(),
                now=self._clock(),
                ttl=self.ttl,
            )
            # 409: held; or a retry of our own PUT whose first try landed (the listing tells).
            with contextlib.suppress(ConflictError):
                self.client.request("PUT", self._lock_path(LOCK_LABEL), params={"content": encode_content(mine)})
            rows = list_locks(self.client, self.project)
            ours = next((r for r in rows if r.info().id == self.lock_id), None)
            if ours is None:
                if not rows:  # the holder released between our PUT and the listing
                    continue
                return _with_current_expiry(self.client, self.project, rows[0])
            if rows[0] is ours and self._settle > 0:
                self._sleep(self._settle)
                rows = list_locks(self.client, self.project)
            others = [r for r in rows if r.resource_id != ours.resource_id]
            if others and others[0].resource_id < ours.resource_id:
                _delete(self.client, self.project, ours.resource_id)
                return _with_current_expiry(self.client, self.project, others[0])
            if len(others) == len(rows):  # ours was deleted while we settled (force-unlock)
                continue
            self.info = ours.info()
            self._write_file(self.info)
            self._start_heartbeat()
            return None

    def _lock_path(self, ref: str | int) -> str:
        return f"{_resources_path(self.project)}/{ref}"

    def _write_file(self, info: LockInfo) -> None:
        """The current expiry, in the lock file of our resource (addressed by id: if the resource
        is gone, XNAT would create a new resource of that name, so callers check first)."""
        self.client.request(
            "PUT",
            f"{self._lock_path(info.resource_id)}/files/{LOCK_FILE}",
            params={"inbody": "true", "overwrite": "true"},
            data=encode_file(info, self._clock()),
            headers={"Content-Type": "application/json"},
        )

    # -- heartbeat -----------------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._lost = ""
        self._beat = threading.Thread(target=self._heartbeat, name=f"xsync-lock-{self.project}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        interval = self.ttl / 3
        while not self._stop.wait(interval):
            try:
                if not self._renew():
                    return
            except XsyncError as e:  # a failed beat is retried at the next one; expiry has slack
                log.warning("could not renew the lock of %s: %s", self.project, e)

    def _renew(self) -> bool:
        """Extend our expiry; False (and `_lost` set) when the lock is no longer ours."""
        info = self.info
        if info is None:
            return False
        rows = list_locks(self.client, self.project)
        if not any(r.resource_id == info.resource_id for r in rows):
            self._lost = f"the lock {info.id} of {self.project} was removed (xsync force-unlock?)"
        elif rows[0].resource_id != info.resource_id:
            self._lost = (
                f"the lock {info.id} of {self.project} is not the oldest: another run's lock "
                f"{rows[0].info().id} was created at the same moment and holds"
            )
        if self._lost:
            log.error("%s", self._lost)
            return False
        renewed = info.renewed(self._clock(), self.ttl)
        if self._stop.is_set():  # released meanwhile: do not write into a resource being deleted
            return False
        self._write_file(renewed)
        self.info = renewed
        return True

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join()
        self._beat = None

    def ensure_held(self) -> None:
        """Raise LockError if the lock is not held, or the heartbeat found it lost."""
        if self.info is None:
            raise LockError(f"the lock of {self.project} is not held")
        if self._lost:
            raise LockError(self._lost, "Stop and check the project: another run may be writing to it.")

    # -- release -------------------------------------------------------------------------------------
    def release(self) -> None:
        """Delete our lock, if it is still ours; a lock that was broken meanwhile is left alone."""
        self._stop_heartbeat()
        info, self.info = self.info, None
        if info is None:
            return
        rows = list_locks(self.client, self.project)
        if any(r.resource_id == info.resource_id and r.info().id == info.id for r in rows):
            _delete(self.client, self.project, info.resource_id)
        else:
            log.warning("the lock %s of %s was already gone at release", info.id, self.project)

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.release()
            return
        try:  # keep the error that ended the block, not one from cleaning up after it
            self.release()
        except XsyncError as e:
            log.warning("could not release the lock of %s: %s", self.project, e)
