"""Start-up cost that xsync does not need to pay: pydantic's plugin lookup.

xsync uses no pydantic plugins, so `main()` sets PYDANTIC_DISABLE_PLUGINS=__all__ (pydantic's
documented switch) unless the user set it. With that switch pydantic's `get_plugins()` returns
`()` without looking, but its module `pydantic.plugin._loader` still imports
`importlib.metadata` (and with it email, zipfile and csv) on the first validation: about 12 ms,
a tenth of `xsync validate` (bench/bench_startup.py). When the switch is `__all__`, this puts in
its place a module whose `get_plugins()` answers what the real one answers then.

tests/unit/test_startup.py checks both halves against the installed pydantic: the real
`get_plugins()` returns `()` under the switch, and pydantic imports nothing else from the module.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable

PLUGIN_SWITCH = "PYDANTIC_DISABLE_PLUGINS"
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


def skip_plugin_lookup() -> None:
    """Disable pydantic plugins (unless the user chose otherwise) and skip the module that would
    look for them. Call before anything validates; harmless after."""
    os.environ.setdefault(PLUGIN_SWITCH, "__all__")
    if os.environ[PLUGIN_SWITCH] != "__all__" or LOADER in sys.modules:
        return
    loader = types.ModuleType(LOADER, "pydantic plugins are disabled (PYDANTIC_DISABLE_PLUGINS=__all__)")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = loader
