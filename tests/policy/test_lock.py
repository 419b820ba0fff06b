"""The dependency locks: every pin hashed, one resolution for the program, the pack and the dev tools, the
direct pins of requirements*.in honoured, and every installer (make, CI, Pulumi) reading the locks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.plan.harness import PROJECT_DIR

# Each lock and the pins it is compiled from.
LOCKS = {
    "requirements.txt": "requirements.in",
    "policies/requirements.txt": "policies/requirements.in",
    "requirements-dev.txt": "requirements-dev.in",
}
_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]+\])?==(?P<version>[^\s;#]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, tuple[str, int]]:
    """`name -> (version, number of hashes)` of a pip-compile lock; raises on a line it does not expect."""
    entries: dict[str, tuple[str, int]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := _ENTRY.match(line):
            current = _canonical(match["name"])
            entries[current] = (match["version"].rstrip("\\").strip(), 0)
        elif line.startswith("--hash=sha256:") and current:
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        else:
            raise ValueError(f"unexpected lock line: {raw!r}")
    return entries


def direct_pins(path: Path) -> dict[str, str]:
    """The `name==version` pins of a requirements .in file, following its `-r` includes."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins.update(direct_pins(PROJECT_DIR / line[3:].strip()))
            continue
        match = _PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {raw!r}"
        pins[_canonical(match["name"])] = match["version"]
    return pins


def _lock(name: str) -> dict[str, tuple[str, int]]:
    return parse_lock((PROJECT_DIR / name).read_text())


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_package_is_pinned_with_hashes(lock: str):
    entries = _lock(lock)
    assert entries
    assert [name for name, (_, hashes) in entries.items() if hashes == 0] == []


@pytest.mark.parametrize(("lock", "source"), sorted(LOCKS.items()))
def test_each_lock_honours_its_direct_pins(lock: str, source: str):
    entries = _lock(lock)
    pins = direct_pins(PROJECT_DIR / source)
    assert {name: entries.get(name, ("missing",))[0] for name in pins} == pins


def test_the_program_and_the_pack_resolve_as_the_dev_lock_does():
    dev = {name: version for name, (version, _) in _lock("requirements-dev.txt").items()}
    for lock in ("requirements.txt", "policies/requirements.txt"):
        entries = {name: version for name, (version, _) in _lock(lock).items()}
        assert {name: dev.get(name) for name in entries} == entries, lock


def test_botocore_is_declared_by_the_program():
    # Imported directly by components/ (delivery, cost), not only through boto3.
    assert "botocore" in direct_pins(PROJECT_DIR / "requirements.in")


def test_every_installer_reads_the_locks_and_nothing_else():
    assert not (PROJECT_DIR / "constraints.txt").exists()
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.txt" in (
        makefile)
    assert "--require-hashes --no-deps \\\n\t\t-r policies/requirements.txt" in makefile
    for path in [PROJECT_DIR / "Makefile", PROJECT_DIR / ".ci" / "run", *(PROJECT_DIR / ".github").rglob("*.yml")]:
        text = path.read_text()
        assert "constraints.txt" not in text, path.name
        # No unpinned install (`pip install --upgrade pip`, `pip install foo`): only `-r <lock>`.
        for line in text.splitlines():
            if "pip install" in line and "pip install -r" not in line:
                assert "--require-hashes" in line or line.rstrip().endswith("\\"), (path.name, line)


def test_the_lock_parser_refuses_what_it_does_not_know():
    assert parse_lock("a==1 \\\n    --hash=sha256:00\nb==2\n") == {"a": ("1", 1), "b": ("2", 0)}
    with pytest.raises(ValueError, match="unexpected lock line"):
        parse_lock("a>=1\n")
