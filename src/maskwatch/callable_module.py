"""Make a sub-module callable as the function it is named after.

`maskwatch.detect(...)` and `maskwatch.classify(...)` are functions of the package, and also
sub-modules. Importing a sub-module sets the package attribute of the same name to the module,
which would hide the function; a module whose class forwards calls keeps `maskwatch.detect(...)`
working after `import maskwatch.detect` too.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(module_name: str, function_module: str, function_name: str) -> None:
    """Calling module `module_name` calls `function_module.function_name` (imported on first call)."""

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(importlib.import_module(function_module), function_name)(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule


def lazy_exports(module_name: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], Any], list[str]]:
    """A package's public names, imported on first use: its module `__getattr__` and its `__all__`.

    `exports` maps each module to the names it gives the package. Packages list their public names
    this way so `import maskwatch.x` stays cheap (no OpenCV, LiteRT or Ray until a name is used):

        __getattr__, __all__ = lazy_exports(__name__, {"maskwatch.x.api": ["run"], ...})
    """
    home = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name in home:
            return getattr(importlib.import_module(home[name]), name)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__, sorted(home)
