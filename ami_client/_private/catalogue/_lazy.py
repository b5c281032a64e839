"""The typed classes, each imported the first time it is used.

Building an attrs class costs about a millisecond, and the catalogue has over 300 of them:
importing them all made ``import ami_client`` take 0.3 s or more, most of it for classes a
program never uses. So each generated class lives in a module of its own (``_events/`` and
``_actions/``), and the generated index modules (``_generated_events``, ``_generated_actions``)
only list them. A class is imported the first time it is asked for: as an attribute of
``ami_client.events`` or ``ami_client.actions`` (PEP 562 ``__getattr__``), through the
``EVENT_CLASSES`` / ``ACTION_CLASSES`` mappings, or when the client types a received event of
that name. Type checkers see every class through the index modules' ``TYPE_CHECKING`` imports.

Importing is thread-safe (Python's import lock), and every path gives the one class object
of its module, so ``isinstance`` and identity work whichever way a class was reached.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

__all__ = ["ACTIONS_PACKAGE", "EVENTS_PACKAGE", "LazyClasses", "module_getattr"]

_C = TypeVar("_C", bound=type)


class LazyClasses(Mapping[str, _C]):
    """A read-only mapping of AMI name -> typed class, each class imported when first read.

    Iterating gives the names without importing anything; reading values (``values()``,
    ``items()``, ``[name]``, ``get``) imports the classes read.
    """

    __slots__ = ("_classes", "_loaded", "_modules", "_names", "_package")

    def __init__(self, package: str, classes: Mapping[str, str], modules: Mapping[str, str]):
        self._package = package  # the package holding one module per class
        self._classes = classes  # AMI name -> class name
        self._modules = modules  # class name -> module name (in _package)
        self._names = {cls: name for name, cls in classes.items()}  # class name -> AMI name
        #: AMI name -> class, for the classes imported so far (a plain dict: the client's
        #: per-event look-up reads it directly).
        self._loaded: dict[str, _C] = {}

    @property
    def loaded(self) -> dict[str, _C]:
        """AMI name -> class of the classes imported so far (only ever grows; do not write)."""
        return self._loaded

    def class_named(self, class_name: str) -> _C:
        """The class called ``class_name`` (its Python name), imported if need be.

        Raises:
            KeyError: no generated class has that name.
        """
        module = importlib.import_module(f"{self._package}.{self._modules[class_name]}")
        cls: _C = getattr(module, class_name)
        self._loaded[self._names[class_name]] = cls
        return cls

    def __getitem__(self, name: str) -> _C:
        cls = self._loaded.get(name)
        return self.class_named(self._classes[name]) if cls is None else cls

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __repr__(self) -> str:
        return f"<{len(self)} typed classes, {len(self._loaded)} imported>"


def module_getattr(
    module_name: str, namespace: dict[str, Any], classes: LazyClasses[Any]
) -> Callable[[str], Any]:
    """A PEP 562 ``__getattr__`` for a module whose public names include the classes of
    ``classes``: the first read of one imports it and stores it in ``namespace`` (the module's
    globals), so later reads are plain attribute look-ups."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's own name)
        if name.startswith("__"):  # (dunder probes: __path__, __wrapped__, ...)
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        try:
            cls = classes.class_named(name)
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        namespace[name] = cls
        return cls

    return __getattr__


#: The packages of the generated class modules.
EVENTS_PACKAGE: Final = "ami_client._private.catalogue._events"
ACTIONS_PACKAGE: Final = "ami_client._private.catalogue._actions"
