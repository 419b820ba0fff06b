"""What a dynamic provider leaves in the state: a reference to its class, never its code.

Pulumi keeps a dynamic resource's provider in the state (`__provider`, dill, base64) and `pulumi refresh`
and `destroy` load it from there, without running the program. Pickled by value, that is bytecode of the
Python that last ran Create or Update: another minor version cannot load it (3.11's state crashes 3.12's
and 3.13's interpreter) and the state runs old code forever. Pickled by reference, it is the two strings
"module, class name": any Python loads it, and it runs the code checked out today.

The reference resolves because the engine starts the provider (`python -u -m pulumi.dynamic`, with the
program's virtual environment) in the program's directory, and `-m` puts that directory on `sys.path`:
the same `components` package the program imports. So each provider class named in `STATE_REFERENCES`
is a contract with every deployed stack: moving or renaming it needs a class left at the old name.
"""

from __future__ import annotations

import sys
from typing import Any

# (module, qualified name) of each provider class whose instances deployed stacks hold.
STATE_REFERENCES: tuple[tuple[str, str], ...] = (
    ("components.delivery.release", "ReleaseProvider"),
    ("components.cost.allocation_tags", "CostAllocationTagsProvider"),
)

PROVIDER_KEY = "__provider"


def state_is_current(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether the state's provider is the one the program serializes today.

    A difference is an update of its own (which calls no API): it replaces a provider pickled by value,
    which a refresh or destroy under another Python could not load, by today's reference.
    """
    old, new = olds.get(PROVIDER_KEY), news.get(PROVIDER_KEY)
    return not isinstance(new, str) or old == new


def in_provider_process() -> bool:
    """Whether this interpreter is the engine's dynamic-provider host (`python -m pulumi.dynamic`)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", "") in ("pulumi.dynamic.__main__", "pulumi.dynamic")


def summaries_without_tracebacks() -> None:
    """In the provider host, make a failure read as its message only.

    The host reports an exception as `traceback.format_exc()`, which the engine prints as the resource's
    error: a Python traceback before the summary a person needs. Our failures carry their whole story in
    the message; a defect is wrapped with its traceback as text after its summary (see `explained`).
    """
    if in_provider_process():
        sys.tracebacklimit = 0


class ProviderDefect(RuntimeError):
    """An unexpected error inside a provider: its summary first, then its traceback as text."""


def explained(error: BaseException, doing: str) -> ProviderDefect:
    """`error` (not one of ours) as a ProviderDefect whose message starts with what failed."""
    import traceback

    # An explicit limit: the host's tracebacklimit of 0 must not empty this one; negative keeps the innermost
    # frames, where the error happened.
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__, limit=-64))
    return ProviderDefect(f"{doing} failed: {type(error).__name__}: {error}\n\n{detail}")
