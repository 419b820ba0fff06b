"""What a serialized dynamic provider is made of, read from its pickle without loading it: how the tests
tell a provider kept by reference (today's) from one kept by value (bytecode, the earlier form)."""

from __future__ import annotations

import base64
import pickletools


def references(serialized: str) -> list[tuple[str, str]]:
    """The globals a serialized provider refers to, read from the pickle without loading it.

    A provider pickled by reference refers to its own class only; one pickled by value (an older
    release of this program, or a class marked for dill to copy) refers to dill's code builders.
    """
    found: list[tuple[str, str]] = []
    strings: list[str] = []
    for opcode, arg, _position in pickletools.genops(base64.b64decode(serialized)):
        if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(str(arg))
        elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append((strings[-2], strings[-1]))
        elif opcode.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            found.append((module, name))
    return found


def holds_code(serialized: str) -> bool:
    """True when a serialized provider carries code (pickled by value): only the Python minor version that
    wrote it can load it, and it runs that old code."""
    return any(module.split(".")[0] == "dill" for module, _name in references(serialized))
