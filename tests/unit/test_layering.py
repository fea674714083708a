"""The pure core stays pure: plan/ and render/ never pull in I/O libraries, not even
indirectly through the modules they import."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("requests", "urllib3", "pydicom", "ruamel", "rich", "pynetdicom", "werkzeug", "sqlite3")


@pytest.mark.parametrize(
    "module",
    ["xsync.plan.build", "xsync.plan.resolve", "xsync.render.text", "xsync.render.markdown", "xsync.render.jsonplan"],
)
def test_pure_modules_import_no_io_libraries(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"
