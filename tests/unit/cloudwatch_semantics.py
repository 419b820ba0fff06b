"""Small evaluators of the CloudWatch semantics our alarms and filters rely on, for tests.

- `evaluate_metric_math`: the metric-math subset the alarms use (numbers, ids, + - * /, parentheses,
  comparisons, `IF(condition, a, b)`, `SUM(METRICS())`, `FILL(id, constant)`) on one datapoint per
  metric. As in CloudWatch, a division by zero or a missing metric yields no datapoint (None); FILL
  gives its constant for a metric missing in a period where other metrics have data.
- `json_filter_matches`: CloudWatch Logs JSON filter patterns, the subset we use:
  `{ $.a.b = "text" && $.n > 0 || ... }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, parentheses, `&&`
  binding tighter than `||`; string values compare exactly, numbers numerically; a selector that
  does not exist, or has the wrong type for the comparison, does not match.
- `metric_filter_value`: what a metric filter publishes for one log line (its value or default).
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Mapping
from typing import Any

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


class _NoDatapoint(Exception):
    pass


def evaluate_metric_math(expression: str, values: Mapping[str, float | None]) -> float | None:
    """Value of a metric-math expression for one datapoint of each metric (None: no datapoint)."""
    tree = ast.parse(expression, mode="eval")
    metric_values = [v for v in values.values() if v is not None]

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            value = values.get(node.id)
            if value is None:
                raise _NoDatapoint(node.id)
            return float(value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise _NoDatapoint("division by zero")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return _COMPARE[type(node.ops[0])](walk(node.left), walk(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name == "IF" and len(node.args) == 3:
                # Only the chosen branch is evaluated, as a datapoint-by-datapoint IF would.
                return walk(node.args[1]) if walk(node.args[0]) else walk(node.args[2])
            if name == "FILL" and len(node.args) == 2 and isinstance(node.args[0], ast.Name):
                if not metric_values:
                    raise _NoDatapoint("no metric has data")
                value = values.get(node.args[0].id)
                return walk(node.args[1]) if value is None else float(value)
            if name == "SUM" and len(node.args) == 1 and _is_metrics_call(node.args[0]):
                if not metric_values:
                    raise _NoDatapoint("no metric has data")
                return float(sum(metric_values))
        raise ValueError(f"unsupported metric math: {ast.dump(node)}")

    try:
        return float(walk(tree))
    except _NoDatapoint:
        return None


def _is_metrics_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "METRICS"
            and not node.args)


_TOKEN = re.compile(r'\s*(?:(\{|\}|\(|\)|&&|\|\||!=|>=|<=|=|>|<)|("(?:[^"\\]|\\.)*")|(\$[.\w\[\]]+)|(-?\d+(?:\.\d+)?))')


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    pattern = pattern.strip()
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if not match:
            raise ValueError(f"cannot parse filter pattern at {pattern[position:]!r}")
        symbol, string, selector, number = match.groups()
        if symbol:
            tokens.append(("sym", symbol))
        elif string:
            tokens.append(("str", json.loads(string)))
        elif selector:
            tokens.append(("sel", selector))
        else:
            tokens.append(("num", number))
        position = match.end()
    return tokens


def _select(event: Any, selector: str) -> Any:
    current = event
    for part in re.findall(r"\.(\w+)|\[(\d+)\]", selector[1:]):
        key, index = part
        if key:
            if not isinstance(current, Mapping) or key not in current:
                return _MISSING
            current = current[key]
        else:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
    return current


_MISSING = object()


def json_filter_matches(pattern: str, line: str) -> bool:
    """Whether a CloudWatch Logs JSON filter pattern matches one log line."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return False  # JSON patterns only ever match JSON log events
    tokens = _tokens(pattern)
    if tokens[0] != ("sym", "{") or tokens[-1] != ("sym", "}"):
        raise ValueError("a JSON filter pattern is wrapped in { }")
    position = 1

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) - 1 else None

    def take() -> tuple[str, str]:
        nonlocal position
        token = tokens[position]
        position += 1
        return token

    def disjunction() -> bool:
        result = conjunction()
        while peek() == ("sym", "||"):
            take()
            right = conjunction()
            result = result or right
        return result

    def conjunction() -> bool:
        result = comparison()
        while peek() == ("sym", "&&"):
            take()
            right = comparison()
            result = result and right
        return result

    def comparison() -> bool:
        if peek() == ("sym", "("):
            take()
            result = disjunction()
            if take() != ("sym", ")"):
                raise ValueError("unbalanced parentheses")
            return result
        kind, selector = take()
        if kind != "sel":
            raise ValueError(f"expected a $ selector, got {selector!r}")
        _, op = take()
        value_kind, raw = take()
        actual = _select(event, selector)
        if actual is _MISSING:
            return False
        if value_kind == "str":
            if op not in ("=", "!="):
                raise ValueError("strings compare with = or != only")
            equal = isinstance(actual, str) and actual == raw
            return equal if op == "=" else not equal
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        expected = float(raw)
        return {"=": actual == expected, "!=": actual != expected, ">": actual > expected,
                "<": actual < expected, ">=": actual >= expected, "<=": actual <= expected}[op]

    result = disjunction()
    if position != len(tokens) - 1:
        raise ValueError(f"unexpected tokens {tokens[position:-1]}")
    return result


def metric_filter_value(pattern: str, value: str, default_value: str | None, line: str) -> float | None:
    """What a metric filter publishes for a log line: its value when it matches, else its default."""
    if not json_filter_matches(pattern, line):
        return None if default_value is None else float(default_value)
    if value.startswith("$"):
        selected = _select(json.loads(line), value)
        return None if selected is _MISSING else float(selected)
    return float(value)


# ---------------------------------------------------------------------------------------------
# Alarm evaluation: the state an alarm reaches over its evaluation periods.

Datapoints = Mapping[str, Any]


def metric_keys(metric: Any) -> list[str]:
    """Keys a scenario may give a metric's value under, most specific first.

    `<name>@<qualifier>:<stat>`, `<name>@<qualifier>`, `<name>:<stat>`, `<name>`, where the qualifier
    is the metric's Operation, GlobalSecondaryIndexName, `version` for the metrics of one version through
    an alias (ExecutedVersion), or `alias` for alias (Resource) metrics.
    """
    dims = dict(metric.dimensions)
    qualifier = (dims.get("Operation") or dims.get("GlobalSecondaryIndexName")
                 or ("version" if "ExecutedVersion" in dims else "alias" if "Resource" in dims else ""))
    name, stat = metric.metric_name, metric.stat
    if qualifier:
        # A qualified metric never reads the unqualified value (alias errors are not function-wide errors).
        return [f"{name}@{qualifier}:{stat}", f"{name}@{qualifier}"]
    return [f"{name}:{stat}", name]


def _lookup(period: Datapoints, metric: Any) -> float | None:
    for key in metric_keys(metric):
        if key in period:
            value = period[key]
            return None if value is None else float(value)
    return None


def alarm_value(spec: Any, period: Datapoints) -> float | tuple[float, float] | None:
    """The value an alarm computes for one period: its metric, its returned expression, or (for an
    anomaly alarm) the metric with the scenario's band `(low, high)` under the key `band`."""
    if spec.metric is not None:
        return _lookup(period, spec.metric)
    values = {q.id: _lookup(period, q.metric) for q in spec.queries if q.metric is not None}
    if spec.threshold_metric_id:
        (judged,) = [q for q in spec.queries if q.return_data and q.id != spec.threshold_metric_id]
        value = values.get(judged.id)
        return None if value is None or period.get("band") is None else value
    returned = next(q for q in spec.queries if q.return_data)
    return evaluate_metric_math(returned.expression or returned.id, values)


def _breaches(spec: Any, value: float, band: tuple[float, float] | None) -> bool:
    comparison, threshold = spec.comparison, spec.threshold
    if comparison == "GreaterThanThreshold":
        return value > threshold
    if comparison == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if comparison == "LessThanThreshold":
        return value < threshold
    if comparison == "LessThanOrEqualToThreshold":
        return value <= threshold
    assert band is not None, f"{spec.name}: a band comparison needs the scenario's band"
    low, high = band
    if comparison == "GreaterThanUpperThreshold":
        return value > high
    if comparison == "LessThanLowerThreshold":
        return value < low
    if comparison == "LessThanLowerOrGreaterThanUpperThreshold":
        return value < low or value > high
    raise ValueError(f"unknown comparison {comparison}")


def alarm_state(spec: Any, periods: list[Datapoints]) -> str:
    """ALARM, OK or INSUFFICIENT_DATA after the last `evaluation_periods` periods (M out of N).

    Missing datapoints follow `treat_missing_data`: breaching and notBreaching count as such; `missing`
    and `ignore` drop them, and with none left the state is INSUFFICIENT_DATA (missing) or unchanged
    (ignore, reported as OK here: the switch starts closed).
    """
    window = periods[-spec.evaluation_periods:]
    window = [{}] * (spec.evaluation_periods - len(window)) + list(window)
    breaching = evaluated = 0
    for period in window:
        value = alarm_value(spec, period)
        if value is None:
            if spec.treat_missing_data == "breaching":
                breaching, evaluated = breaching + 1, evaluated + 1
            elif spec.treat_missing_data == "notBreaching":
                evaluated += 1
            continue
        evaluated += 1
        breaching += _breaches(spec, float(value), period.get("band"))
    if evaluated == 0:
        return "INSUFFICIENT_DATA" if spec.treat_missing_data == "missing" else "OK"
    return "ALARM" if breaching >= spec.datapoints_to_alarm else "OK"


def composite_state(operator: str, member_states: list[str]) -> str:
    alarms = [state == "ALARM" for state in member_states]
    return "ALARM" if (all(alarms) if operator == "AND" else any(alarms)) else "OK"
