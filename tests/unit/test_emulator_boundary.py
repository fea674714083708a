"""The emulator is an independent witness of XNAT's behaviour: no module of `xsync.emulator`
imports the client's code (`xsync.dicom`, `xsync.inventory`, `xsync.model` ...), so a wrong
rule in the client cannot be confirmed by the emulator sharing it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import xsync.emulator

EMULATOR = Path(xsync.emulator.__file__).parent
# The literal check the task states, comments and docstrings included.
CLIENT_IMPORT_TEXT = re.compile(r"from xsync\.(model|spec|plan|dicom|inventory|xnat)")


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of everything imported by a module of `package`; `from M
    import N` gives `M.N`, so `from xsync import dicom` is seen as `xsync.dicom`."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return out


def _crosses_boundary(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "xsync" and (len(parts) == 1 or parts[1] != "emulator")


def test_every_emulator_module_imports_only_the_emulator_stdlib_and_third_parties() -> None:
    modules = sorted(EMULATOR.rglob("*.py"))
    assert len(modules) > 30  # the walk found the package
    offending = [
        f"{path.relative_to(EMULATOR.parent)}:{line}: {module}"
        for path in modules
        for line, module in _imported_modules(ast.parse(path.read_text(), str(path)), "xsync.emulator")
        if _crosses_boundary(module)
    ]
    assert offending == []


def test_the_boundary_check_sees_every_kind_of_import() -> None:
    tree = ast.parse(
        "import xsync.dicom.sop\nfrom xsync.model import x\nfrom .. import errors\nfrom ..inventory import group\n"
        "from . import builder\nimport xsync.emulator.xsd\nfrom xsync import emulator, spec\nimport pydicom\n"
        "from xsync.emulator.fields import evaluate\nimport xsync\n"
    )
    crossing = [m for _, m in _imported_modules(tree, "xsync.emulator") if _crosses_boundary(m)]
    expected = ["xsync.dicom.sop", "xsync.model.x", "xsync.errors", "xsync.inventory.group", "xsync.spec", "xsync"]
    assert crossing == expected


def test_no_emulator_file_even_mentions_importing_client_modules() -> None:
    hits = [
        f"{path.name}:{n}"
        for path in sorted(EMULATOR.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if CLIENT_IMPORT_TEXT.search(line)
    ]
    assert hits == []
