"""Find the files under the inventory roots: every regular file, once, with what the cache
keys on (size, mtime_ns, inode).

Symbolic links are followed, but a directory already visited (by device and inode) is not
entered again, so link loops end; a file reached twice (hard or symbolic link) is listed once,
under the first path met in sorted order. (A file system that reports inode 0 for everything
gives no such identity; its links are listed under each name.) Hidden files and directories (a leading `.`) are
skipped, which also keeps xsync's own `.xsync/` cache out of the inventory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from operator import attrgetter
from typing import NamedTuple

from xsync.errors import Diagnostic, InventoryError, Severity


class FoundFile(NamedTuple):
    path: str
    root: int  # index into the roots
    size: int
    mtime_ns: int
    inode: int


_new_found = partial(tuple.__new__, FoundFile)
_name = attrgetter("name")


def resolve_roots(roots: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    """Absolute, symlink-free, de-duplicated roots; a root that does not exist is an error."""
    out: list[str] = []
    for root in roots:
        path = os.path.realpath(root)
        if not os.path.exists(path):
            raise InventoryError(f"DICOM root not found: {os.fspath(root)}")
        if path not in out:
            out.append(path)
    return tuple(out)


def walk(roots: Sequence[str]) -> tuple[list[FoundFile], list[Diagnostic]]:
    """Every file under `roots` (absolute paths from `resolve_roots`), and the problems met."""
    found: list[FoundFile] = []
    problems: list[Diagnostic] = []
    visited_dirs: set[tuple[int, int]] = set()
    linked_files: set[tuple[int, int]] = set()  # files with several names: (device, inode)
    new = _new_found

    for index, root in enumerate(roots):
        st = os.stat(root)
        if not os.path.isdir(root):
            found.append(new((root, index, st.st_size, st.st_mtime_ns, st.st_ino)))
            continue
        visited_dirs.add((st.st_dev, st.st_ino))
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=_name)
            except OSError as e:
                problems.append(_problem(directory, f"cannot list the directory: {e.strerror}", Severity.ERROR))
                continue
            subdirs: list[str] = []
            for entry in entries:
                if entry.name[0] == ".":
                    continue
                try:
                    if entry.is_file():
                        st = entry.stat()
                        # A file reached by a second name (a link) is listed once.
                        if (st.st_nlink > 1 or entry.is_symlink()) and st.st_ino:
                            key = (st.st_dev, st.st_ino)
                            if key in linked_files:
                                continue
                            linked_files.add(key)
                        found.append(new((entry.path, index, st.st_size, st.st_mtime_ns, st.st_ino)))
                    elif entry.is_dir():
                        dst = entry.stat()
                        key = (dst.st_dev, dst.st_ino)
                        if key not in visited_dirs:
                            visited_dirs.add(key)
                            subdirs.append(entry.path)
                    elif entry.is_symlink():
                        problems.append(_problem(entry.path, "a broken symbolic link", Severity.WARNING))
                except OSError as e:
                    problems.append(_problem(entry.path, f"cannot stat: {e.strerror}", Severity.ERROR))
            stack.extend(reversed(subdirs))
    return found, problems


def _problem(path: str, message: str, severity: Severity) -> Diagnostic:
    return Diagnostic(file=path, message=message, severity=severity)
