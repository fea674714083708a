"""Find the files under the inventory roots: every directory once, with the names of its
regular files. Files are not stat-ed here: the workers do that (`examine`), in parallel.

Symbolic links are followed, but a directory already visited (by device and inode) is not
entered again, so link loops end. A file reached twice (a hard link, or a symbolic link to a
file) is listed under each name; the scan keeps the first in walk order once every file has
been stat-ed. Hidden files and directories (a leading `.`) are skipped, which also keeps
xsync's own `.xsync/` cache out of the inventory.

What is neither a file nor a directory is reported as what it is (a FIFO, a device, a socket,
a broken symbolic link, a symbolic link loop) and never opened: opening a FIFO blocks.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

from xsync.errors import Diagnostic, InventoryError, Severity
from xsync.inventory.read import file_kind

_name = attrgetter("name")


class Directory(NamedTuple):
    """One directory and the names of its regular files (symbolic links to files included),
    sorted."""

    path: str
    root: int  # index into the roots
    names: list[str]
    links: frozenset[str]  # those of the names that are symbolic links


def resolve_roots(roots: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    """Absolute, symlink-free, de-duplicated roots; a root that does not exist is an error."""
    out: list[str] = []
    for root in roots:
        path = os.path.realpath(root)
        try:
            st = os.stat(path)
        except OSError as e:
            what = "not found" if e.errno == errno.ENOENT and not os.path.lexists(root) else _unreachable(e)
            raise InventoryError(f"DICOM root {what}: {os.fspath(root)}") from None
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise InventoryError(f"DICOM root is {file_kind(st.st_mode)}, not a file or folder: {os.fspath(root)}")
        if path not in out:
            out.append(path)
    return tuple(out)


def list_tree(roots: Sequence[str]) -> tuple[list[Directory], list[Diagnostic]]:
    """Every directory under `roots` (absolute paths from `resolve_roots`) holding files, in
    walk order (depth first, entries by name), and the problems met. A root that is a file is
    listed as its directory holding that one name."""
    found: list[Directory] = []
    problems: list[Diagnostic] = []
    visited: set[tuple[int, int]] = set()

    for index, root in enumerate(roots):
        if not os.path.isdir(root):
            directory, name = os.path.split(root)
            found.append(Directory(directory, index, [name], frozenset()))
            continue
        st = os.stat(root)
        visited.add((st.st_dev, st.st_ino))
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=_name)
            except OSError as e:
                problems.append(_problem(directory, f"cannot list the directory: {e.strerror}", Severity.ERROR))
                continue
            names: list[str] = []
            links: list[str] = []
            subdirs: list[str] = []
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                try:
                    if entry.is_file():
                        names.append(name)
                        if entry.is_symlink():
                            links.append(name)
                    elif entry.is_dir():
                        dst = entry.stat()
                        key = (dst.st_dev, dst.st_ino)
                        if key not in visited:
                            visited.add(key)
                            subdirs.append(entry.path)
                    else:
                        problems.append(_neither(entry.path))
                except OSError as e:
                    problems.append(_not_stated(entry.path, e))
            if names:
                found.append(Directory(directory, index, names, frozenset(links)))
            stack.extend(reversed(subdirs))
    return found, problems


def _unreachable(e: OSError) -> str:
    """Why a path could not be stat-ed, in words."""
    if e.errno == errno.ELOOP:
        return "is a symbolic link loop"
    if e.errno == errno.ENOENT:
        return "is a broken symbolic link"
    return f"cannot be stat-ed ({e.strerror})"


def _not_stated(path: str, e: OSError) -> Diagnostic:
    """A link that leads nowhere is a warning, like a file that is not DICOM; else an error."""
    severity = Severity.WARNING if e.errno in (errno.ELOOP, errno.ENOENT) else Severity.ERROR
    return _problem(path, _unreachable(e).removeprefix("is "), severity)


def _neither(path: str) -> Diagnostic:
    """An entry that is neither a file nor a directory: said what it is, never opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return _not_stated(path, e)
    return _problem(path, f"{file_kind(mode)}, not a file: not read", Severity.WARNING)


def _problem(path: str, message: str, severity: Severity) -> Diagnostic:
    return Diagnostic(file=path, message=message, severity=severity)
