"""Dynamic providers run in a process of their own that cannot import this project.

Pulumi serializes a dynamic provider with dill, which pickles classes and functions of importable
modules by reference: the provider process would then fail with ModuleNotFoundError. Classes marked
here are pickled by value instead (dill does so for `__main__`), so each must be self-contained:
its helpers are its own methods, and what it imports it imports inside them.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T", bound=type)


def by_value(cls: T) -> T:
    """Mark a class (and every function defined on it) to be pickled by value."""
    cls.__module__ = "__main__"
    for value in vars(cls).values():
        function = getattr(value, "__func__", value)
        if callable(function) and hasattr(function, "__code__"):
            function.__module__ = "__main__"
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                if accessor is not None:
                    accessor.__module__ = "__main__"
    return cls
