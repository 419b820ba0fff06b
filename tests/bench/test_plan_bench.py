"""Benchmark: `make plan STACK=prod`, the program under the mocks with the cost estimate, then the pack.

`make bench` runs it (the normal suite skips benchmarks). Each round runs the plan as `make plan`
does, in a fresh interpreter, once with the policy pack and once with `--no-policy`, and records the
CPU time (user + system) of the plan process and every process it waited for: the pack's share is
the difference. CPU time rather than elapsed time, since the elapsed time on a shared machine
measures the other jobs too. Numbers for the notes, never assertions; only the exit status is checked.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

from tools.plan.harness import PROJECT_DIR

STACK = "prod"
ROUNDS = 5


def plan_cpu_seconds(*flags: str, out: Path) -> float:
    """CPU seconds of one `python -m tools.plan --stack prod` and of the processes it waited for."""
    command = [sys.executable, "-m", "tools.plan", "--stack", STACK, "--out", str(out), *flags]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # wait4 reports the child's usage including the children it waited for (the pack process).
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    process.stderr.close()
    assert process.returncode == 0, errors
    return usage.ru_utime + usage.ru_stime


def test_plan_prod_cpu(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    out = tmp_path / f"plan-{STACK}.json"
    totals: list[float] = []
    programs: list[float] = []

    def both() -> None:
        # Alternated, so a change in the machine's load shows in both series alike.
        totals.append(plan_cpu_seconds(out=out))
        programs.append(plan_cpu_seconds("--no-policy", out=out))

    benchmark.pedantic(both, rounds=ROUNDS, iterations=1)
    total, program = statistics.median(totals), statistics.median(programs)
    benchmark.extra_info.update(
        cpu_s=round(total, 2), program_cpu_s=round(program, 2), pack_cpu_s=round(total - program, 2),
        cpu_min_s=round(min(totals), 2),
    )
    print(f"\nmake plan STACK={STACK}: {total:.2f} s CPU (median of {ROUNDS}; min {min(totals):.2f}), "
          f"program and cost {program:.2f} s, policy pack and its client {total - program:.2f} s")
