"""Forward hooks that act only for the thread that registered them, and only until closed.

The GUI shares one loaded model between panels, and their jobs may run forward passes or deep-copy
the model at the same time. A hook registered here ignores forward passes of other threads, and
once closed it does nothing, even on a deep copy of the model made while it was registered.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from torch import nn


class ScopedHooks:
    """Registers guarded forward hooks; use as a context manager that removes them on exit."""

    def __init__(self) -> None:
        self._owner = threading.get_ident()
        self._active = True
        self._handles: list = []

    def _guard(self, hook: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any) -> Any:
            if self._active and threading.get_ident() == self._owner:
                return hook(*args)
            return None

        return guarded

    def add_forward(self, module: nn.Module, hook: Callable[..., Any], *, with_kwargs: bool = False) -> None:
        """Register ``hook(module, args, output)``, or ``hook(module, args, kwargs, output)`` with kwargs."""
        self._handles.append(module.register_forward_hook(self._guard(hook), with_kwargs=with_kwargs))

    def add_forward_pre(self, module: nn.Module, hook: Callable[..., Any]) -> None:
        """Register ``hook(module, args)``, run before ``module.forward``."""
        self._handles.append(module.register_forward_pre_hook(self._guard(hook)))

    def close(self) -> None:
        self._active = False
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "ScopedHooks":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
