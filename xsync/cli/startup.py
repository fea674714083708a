"""Start-up cost that xsync does not need to pay: pydantic's plugin lookup.

xsync uses no pydantic plugins, so `main()` sets PYDANTIC_DISABLE_PLUGINS=__all__ (pydantic's
documented switch) unless the user set it. With that switch pydantic's `get_plugins()` returns
`()` without looking, but its module `pydantic.plugin._loader` still imports
`importlib.metadata` (and with it email, zipfile and csv) on the first validation: about 12 ms,
a tenth of `xsync validate` (bench/bench_startup.py). When the switch is `__all__`, this puts in
its place a module whose `get_plugins()` answers what the real one answers then.

tests/unit/test_startup.py checks both halves against the installed pydantic: the real
`get_plugins()` returns `()` under the switch, and pydantic imports nothing else from the module.
Should a later pydantic want anything else from it, the stand-in hands over to the real module
(PEP 562's module `__getattr__`): slower, never wrong.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable
from typing import Any

PLUGIN_SWITCH = "PYDANTIC_DISABLE_PLUGINS"
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


def _real_loader_attribute(name: str) -> Any:
    """Anything but `get_plugins`: from the real module, which then replaces the stand-in. (Dunder
    names are the import system probing, `__path__` and the like: not pydantic's business.)"""
    if name.startswith("__"):
        raise AttributeError(name)
    del sys.modules[LOADER]
    return getattr(importlib.import_module(LOADER), name)


def skip_plugin_lookup() -> None:
    """Disable pydantic plugins (unless the user chose otherwise) and skip the module that would
    look for them. Call before anything validates; harmless after."""
    os.environ.setdefault(PLUGIN_SWITCH, "__all__")
    if os.environ[PLUGIN_SWITCH] != "__all__" or LOADER in sys.modules:
        return
    loader = types.ModuleType(LOADER, "pydantic plugins are disabled (PYDANTIC_DISABLE_PLUGINS=__all__)")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    loader.__getattr__ = _real_loader_attribute  # type: ignore[method-assign]
    sys.modules[LOADER] = loader
