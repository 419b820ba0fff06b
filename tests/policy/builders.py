"""Small synthetic stacks for policy tests, in the plan's own shape (`Plan` of `PlannedResource`).

A `StackBuilder` registers resources the way the recording monitor would: URNs in the engine's
format, the explicit aws provider with default tags as JSON text, inputs and outputs, dependencies
and property dependencies. Values may be `UNKNOWN` (the engine's sentinel) to model a preview.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from prodready_policy.values import ResourceView

from tools.plan.harness import Plan, PlannedResource
from tools.plan.policy import UNKNOWN

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TAGS = {
    "Project": "prodready",
    "Environment": "dev",
    "Service": "catalog",
    "Owner": "platform-team@example.com",
    "CostCenter": "CC-1042",
    "ManagedBy": "pulumi",
}
RUNBOOK = "https://github.com/example/prodready/blob/main/docs/runbooks"


class StackBuilder:
    def __init__(self, stack: str = "dev", tags: Mapping[str, str] | None = TAGS) -> None:
        self.stack = stack
        self.resources: list[PlannedResource] = []
        self.arns: dict[str, str] = {}
        self.provider_ref: str | None = None
        self.provider("aws", tags)

    def urn(self, type_: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::prodready::{type_}::{name}"

    def provider(self, name: str, tags: Mapping[str, str] | None, region: str = REGION) -> str:
        inputs: dict[str, Any] = {"region": region, "version": "7.51.1"}
        if tags is not None:
            # The SDK sends object-typed provider inputs as JSON text.
            inputs["defaultTags"] = json.dumps({"tags": dict(tags)})
        urn = self.urn("pulumi:providers:aws", name)
        self.resources.append(PlannedResource(
            urn=urn, type="pulumi:providers:aws", name=name, custom=True, id=f"{name}-id", parent=None,
            provider=None, inputs=inputs, outputs=dict(inputs),
        ))
        ref = f"{urn}::{name}-id"
        if self.provider_ref is None:
            self.provider_ref = ref
        return ref

    def add(
        self,
        type_: str,
        name: str,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Any] | None = None,
        *,
        deps: Mapping[str, Sequence[str]] | None = None,
        depends_on: Sequence[str] = (),
        provider: str | None = None,
        custom: bool = True,
    ) -> str:
        urn = self.urn(type_, name)
        property_deps = {k: set(v) for k, v in (deps or {}).items()}
        # As the SDK records it: an input holding another resource's ARN output depends on that resource.
        for key, value in inputs.items():
            for text in _strings(value):
                if text in self.arns:
                    property_deps.setdefault(key, set()).add(self.arns[text])
        property_deps = {k: sorted(v) for k, v in property_deps.items()}
        all_deps = sorted({*depends_on, *(u for v in property_deps.values() for u in v)})
        state = {**copy.deepcopy(dict(inputs)), **copy.deepcopy(dict(outputs or {}))}
        self.resources.append(PlannedResource(
            urn=urn, type=type_, name=name, custom=custom, id=name if custom else None, parent=None,
            provider=(provider or self.provider_ref) if custom else None, inputs=copy.deepcopy(dict(inputs)),
            outputs=state, dependencies=all_deps, property_dependencies=property_deps,
        ))
        if isinstance(state.get("arn"), str):
            self.arns[state["arn"]] = urn
        return urn

    def plan(self) -> Plan:
        return Plan("prodready", self.stack, {}, copy.deepcopy(self.resources), {})

    # -- common resources ------------------------------------------------------------------------

    def function(self, name: str = "api", *, log_group: str | None = "default", tracing: str = "Active",
                 extra: Mapping[str, Any] | None = None) -> str:
        inputs: dict[str, Any] = {"name": name, "tracingConfig": {"mode": tracing}}
        deps: dict[str, list[str]] = {}
        if log_group == "default":
            group = self.log_group(f"/aws/lambda/{name}", 7.0)
            inputs["loggingConfig"] = {"logFormat": "JSON", "logGroup": f"/aws/lambda/{name}"}
            deps["loggingConfig"] = [group]
        elif log_group is not None:
            inputs["loggingConfig"] = {"logFormat": "JSON", "logGroup": log_group}
        inputs.update(extra or {})
        return self.add("aws:lambda/function:Function", f"{name}-lambda", inputs,
                        {"arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"}, deps=deps)

    def log_group(self, name: str, retention: Any, *, kms: Any = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/logs") -> str:
        inputs: dict[str, Any] = {"name": name}
        if retention is not None:
            inputs["retentionInDays"] = retention
        if kms is not None:
            inputs["kmsKeyId"] = kms
        return self.add("aws:cloudwatch/logGroup:LogGroup", f"lg{name.replace('/', '-')}", inputs,
                        {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"})

    def table(self, name: str = "items", *, pitr: bool = True, protected: bool = True) -> str:
        return self.add("aws:dynamodb/table:Table", f"{name}-table",
                        {"name": name, "pointInTimeRecovery": {"enabled": pitr},
                         "deletionProtectionEnabled": protected},
                        {"arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"})

    def api_and_stage(self, api_id: str = "a1b2c3d4e5", *, stage_inputs: Mapping[str, Any] | None = None,
                      routes: Sequence[str] = ("GET /items",)) -> tuple[str, str]:
        api = self.add("aws:apigatewayv2/api:Api", f"api-{api_id}", {"name": "catalog", "protocolType": "HTTP"},
                       {"apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com"})
        for key in routes:
            self.add("aws:apigatewayv2/route:Route", f"route-{api_id}-{key.replace(' ', '').replace('/', '-')}",
                     {"apiId": api_id, "routeKey": key}, deps={"apiId": [api]})
        stage = self.add("aws:apigatewayv2/stage:Stage", f"stage-{api_id}", {
            "apiId": api_id, "name": "$default",
            "accessLogSettings": {"destinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:access",
                                  "format": '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                                            '"status":"$context.status"}'},
            "defaultRouteSettings": {"throttlingRateLimit": 20.0, "throttlingBurstLimit": 40.0},
            **(stage_inputs or {}),
        }, deps={"apiId": [api]})
        return api, stage

    def topic(self, name: str = "alerts", *, kms: Any = "arn:aws:kms:eu-west-1:123456789012:key/k",
              subscriptions: int = 1) -> tuple[str, str]:
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
        inputs: dict[str, Any] = {"name": name}
        if kms is not None:
            inputs["kmsMasterKeyId"] = kms
        urn = self.add("aws:sns/topic:Topic", f"{name}-topic", inputs, {"arn": arn})
        for index in range(subscriptions):
            self.add("aws:sns/topicSubscription:TopicSubscription", f"{name}-sub{index}",
                     {"topic": arn, "protocol": "email", "endpoint": "oncall@example.com"}, deps={"topic": [urn]})
        return urn, arn

    def alarm(self, name: str, *, namespace: str | None = None, metric: str | None = None,
              dimensions: Any = None, queries: Sequence[Mapping[str, Any]] | None = None,
              actions: Any = None, description: str | None = None, deps: Mapping[str, Sequence[str]] | None = None,
              extra: Mapping[str, Any] | None = None) -> str:
        inputs: dict[str, Any] = {"name": name, "comparisonOperator": "GreaterThanThreshold", "threshold": 0.0,
                                  "evaluationPeriods": 1.0,
                                  "alarmDescription": description if description is not None
                                  else f"{name} is firing. Runbook: {RUNBOOK}/{name}.md"}
        if queries is not None:
            inputs["metricQueries"] = queries if isinstance(queries, str) else list(queries)
        else:
            inputs.update(namespace=namespace, metricName=metric, dimensions=dimensions or {}, statistic="Sum",
                          period=300.0)
        if actions is not None:
            inputs["alarmActions"] = actions
        inputs.update(extra or {})
        return self.add("aws:cloudwatch/metricAlarm:MetricAlarm", f"{name}-alarm", inputs,
                        {"arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"}, deps=deps)

    def composite(self, name: str, rule: Any, *, actions: Any = None, deps: Mapping[str, Sequence[str]] | None = None,
                  description: str | None = None) -> str:
        inputs: dict[str, Any] = {"alarmName": name, "alarmRule": rule,
                                  "alarmDescription": description if description is not None
                                  else f"{name}. Runbook: {RUNBOOK}/{name}.md"}
        if actions is not None:
            inputs["alarmActions"] = actions
        return self.add("aws:cloudwatch/compositeAlarm:CompositeAlarm", f"{name}-composite", inputs,
                        {"arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"}, deps=deps)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def stack_views(plan: Plan) -> list[ResourceView]:
    """The plan's resources as a stack policy sees them in AnalyzeStack (outputs, links by URN)."""
    return [
        ResourceView(r.urn, r.type, r.name, r.outputs, tuple(r.dependencies), r.property_dependencies, r.parent)
        for r in plan.resources
    ]


def mutate(plan: Plan, urn_suffix: str, change: Callable[[PlannedResource], None]) -> Plan:
    """A deep copy of `plan` with `change` applied to the one resource whose URN ends with `urn_suffix`."""
    copied = replace(plan, resources=copy.deepcopy(plan.resources))
    matches = [r for r in copied.resources if r.urn.endswith(urn_suffix)]
    assert len(matches) == 1, f"expected one resource ending with {urn_suffix!r}, found {[r.urn for r in matches]}"
    change(matches[0])
    return copied


def remove(plan: Plan, urn_suffix: str) -> Plan:
    """A deep copy of `plan` without the resource whose URN ends with `urn_suffix` (and links to it)."""
    copied = replace(plan, resources=copy.deepcopy(plan.resources))
    matches = [r for r in copied.resources if r.urn.endswith(urn_suffix)]
    assert len(matches) == 1, f"expected one resource ending with {urn_suffix!r}, found {[r.urn for r in matches]}"
    gone = matches[0].urn
    copied.resources = [r for r in copied.resources if r.urn != gone]
    for resource in copied.resources:
        resource.dependencies = [d for d in resource.dependencies if d != gone]
        resource.property_dependencies = {
            k: [d for d in v if d != gone] for k, v in resource.property_dependencies.items()
        }
    return copied


__all__ = ["UNKNOWN", "StackBuilder", "mutate", "remove", "stack_views"]
