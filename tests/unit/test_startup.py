"""What `xsync` imports to start, and the pydantic plugin-lookup skip (xsync/cli/startup.py)
checked against the installed pydantic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pydantic

HEAVY = ["deepdiff", "pynetdicom", "werkzeug", "requests", "pydicom", "rich", "numpy", "pandas", "pydantic"]


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, env={**os.environ, **(env or {})},
    ).stdout  # fmt: skip
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    loaded = _modules_after("import xsync.cli.main")
    assert {m for m in HEAVY if m in loaded} == set()


def test_validate_loads_neither_network_nor_dicom_libraries() -> None:
    spec = Path(__file__).resolve().parents[2] / "examples" / "ccf_test" / "xsync.yaml"
    loaded = _modules_after(f"from xsync.cli.main import main\nassert main(['validate', '--spec', {str(spec)!r}]) == 0")
    assert {m for m in ("deepdiff", "pynetdicom", "werkzeug", "requests", "pydicom", "rich") if m in loaded} == set()
    assert "importlib.metadata" not in loaded  # the plugin lookup was skipped


def test_the_real_plugin_loader_finds_nothing_under_the_switch() -> None:
    """The stand-in answers `()`; so does pydantic's own loader when plugins are disabled."""
    code = "from pydantic.plugin._loader import get_plugins\nprint(list(get_plugins()))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "__all__"},
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_pydantic_takes_nothing_but_get_plugins_from_the_loader() -> None:
    package = Path(pydantic.__file__).parent
    imported: set[str] = set()
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for names in re.findall(r"from (?:pydantic\.plugin)?\.?_loader import ([\w, ]+)", text):
            imported |= {n.strip() for n in names.split(",")}
        assert not re.search(r"\b_loader\.(?!get_plugins\b)\w+", text.replace("importlib._bootstrap", "")), source
    assert imported == {"get_plugins"}


def test_a_user_choice_of_plugins_is_left_alone() -> None:
    loaded = _modules_after(
        "from xsync.cli.startup import skip_plugin_lookup\nskip_plugin_lookup()\n"
        "import pydantic.plugin._loader as l\nassert hasattr(l, 'PYDANTIC_ENTRY_POINT_GROUP')",
        env={"PYDANTIC_DISABLE_PLUGINS": "some_plugin"},
    )
    assert "importlib.metadata" in loaded  # the real loader ran


def test_anything_else_asked_of_the_stand_in_comes_from_the_real_module() -> None:
    code = (
        "import os; os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
        "from xsync.cli.startup import skip_plugin_lookup\nskip_plugin_lookup()\n"
        "from pydantic.plugin._loader import get_plugins, PYDANTIC_ENTRY_POINT_GROUP\n"
        "import sys\nloader = sys.modules['pydantic.plugin._loader']\n"
        "print(list(get_plugins()), PYDANTIC_ENTRY_POINT_GROUP, hasattr(loader, '_plugins'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "pydantic", "True"]  # the real module answered, and now stands in place
