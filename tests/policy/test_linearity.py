"""The stack rules grow linearly with the stack: 4x the resources may not cost anything near 16x."""

from __future__ import annotations

from tools.bench_policy import stack_rules_seconds, synthetic_plan


def test_stack_rules_are_linear_not_quadratic():
    small, large = synthetic_plan(2_000), synthetic_plan(8_000)
    assert len(large.resources) >= 3.9 * len(small.resources)
    # Best of three with the collector paused (see stack_rules_seconds); linear is ~4x, quadratic 16x.
    ratio = stack_rules_seconds(large) / stack_rules_seconds(small)
    assert ratio < 8, f"stack rules took {ratio:.1f}x as long on 4x the resources"
