"""lambda.tracing: the provider switch and the OpenTelemetry layer it needs, validated per stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, load_stack_config
from components.service.function import opentelemetry_layer_arn, tracing_environment
from components.service.settings import OPENTELEMETRY_LAYER_ACCOUNTS
from tools.plan.harness import stack_config

LAYER = "arn:aws:lambda:eu-west-1:615299751070:layer:AWSOpenTelemetryDistroPython:21"


def _load(stack: str, tracing: dict[str, Any] | None = None, **raw_overrides: str) -> Any:
    raw, _ = stack_config(stack)
    if tracing is not None:
        function = json.loads(raw.get("prodready:lambda", "{}"))
        raw["prodready:lambda"] = json.dumps({**function, "tracing": tracing})
    raw.update(raw_overrides)
    return load_stack_config(stack, raw)


def _problems(stack: str, tracing: dict[str, Any], **raw_overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(stack, tracing, **raw_overrides)
    assert caught.value.stack == stack
    return "\n".join(caught.value.problems)


def test_dev_runs_opentelemetry_and_prod_the_sdk_until_it_switches() -> None:
    assert _load("dev").lambda_.tracing.provider == "opentelemetry"
    assert _load("staging").lambda_.tracing.provider == "xray-sdk"
    assert _load("prod").lambda_.tracing.provider == "xray-sdk"
    assert _load("prod", {"provider": "opentelemetry"}).lambda_.tracing.provider == "opentelemetry"


def test_an_unknown_provider_is_refused_by_key() -> None:
    problems = _problems("dev", {"provider": "jaeger"})
    assert "lambda.tracing.provider" in problems and "xray-sdk" in problems and "opentelemetry" in problems


def test_a_layer_arn_without_the_opentelemetry_provider_is_refused() -> None:
    problems = _problems("prod", {"provider": "xray-sdk", "openTelemetryLayerArn": LAYER})
    assert "openTelemetryLayerArn applies to provider opentelemetry only" in problems


def test_a_layer_arn_of_another_region_is_refused() -> None:
    other = LAYER.replace("eu-west-1", "us-east-1")
    problems = _problems("dev", {"provider": "opentelemetry", "openTelemetryLayerArn": other})
    assert "lambda.tracing.openTelemetryLayerArn: the layer is in us-east-1" in problems
    assert "eu-west-1" in problems


def test_a_malformed_layer_arn_or_version_is_refused_by_key() -> None:
    problems = _problems("dev", {"openTelemetryLayerArn": "arn:aws:lambda:eu-west-1:615299751070:function:x"})
    assert "lambda.tracing.openTelemetryLayerArn" in problems
    assert "lambda.tracing.openTelemetryLayerVersion" in _problems("dev", {"openTelemetryLayerVersion": 0})


def test_a_region_without_a_known_publisher_needs_the_arn() -> None:
    problems = _problems("dev", {"provider": "opentelemetry"}, **{"aws:region": "xx-nowhere-1"})
    assert "set lambda.tracing.openTelemetryLayerArn" in problems
    own = LAYER.replace("eu-west-1", "xx-nowhere-1")
    config = _load("dev", {"provider": "opentelemetry", "openTelemetryLayerArn": own},
                   **{"aws:region": "xx-nowhere-1"})
    assert config.lambda_.tracing.open_telemetry_layer_arn == own


def test_outside_the_regions_of_a_known_version_the_version_is_required() -> None:
    problems = _problems("dev", {"provider": "opentelemetry"}, **{"aws:region": "us-east-1"})
    assert "lambda.tracing.openTelemetryLayerVersion: required in us-east-1" in problems
    config = _load("dev", {"provider": "opentelemetry", "openTelemetryLayerVersion": 11}, **{"aws:region": "us-east-1"})
    assert config.lambda_.tracing.layer_version("us-east-1") == 11
    # In eu-west-1 the known version applies unless the stack names another.
    assert _load("dev", {"provider": "opentelemetry"}).lambda_.tracing.layer_version("eu-west-1") == 16
    assert _load("dev", {"provider": "opentelemetry", "openTelemetryLayerVersion": 17}).lambda_.tracing.layer_version(
        "eu-west-1") == 17


def test_layer_arns_follow_the_published_pattern() -> None:
    assert opentelemetry_layer_arn("eu-west-1", 16) == (
        "arn:aws:lambda:eu-west-1:615299751070:layer:AWSOpenTelemetryDistroPython:16"
    )
    assert opentelemetry_layer_arn("eu-south-1", 13).split(":")[4] == "257394471194"
    assert len(set(OPENTELEMETRY_LAYER_ACCOUNTS.values())) > 1
    with pytest.raises(ValueError, match="xx-nowhere-1"):
        opentelemetry_layer_arn("xx-nowhere-1", 1)


def test_each_provider_sets_its_own_environment() -> None:
    assert tracing_environment("xray-sdk") == {"TRACING_PROVIDER": "xray-sdk"}
    otel = tracing_environment("opentelemetry")
    assert otel["TRACING_PROVIDER"] == "opentelemetry"
    assert otel["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
    assert otel["OTEL_AWS_APPLICATION_SIGNALS_ENABLED"] == "false"
    # The layer names the service after the function, which the sampling rule and faults group match.
    assert "OTEL_SERVICE_NAME" not in otel
    with pytest.raises(ValueError, match="jaeger"):
        tracing_environment("jaeger")
