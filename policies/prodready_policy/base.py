"""Glue between pure rules and the pulumi_policy SDK.

A rule is a function from plain data to findings. `resource_policy` and `stack_policy` wrap it in
the SDK's policy classes: they filter by type token, turn the SDK's proxied props into plain data
(`values.plain`), fill the policy's config with its schema defaults (the CLI does that too, but
direct callers and older engines may not), and report each finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from prodready_policy.types import CHATBOT_SLACK_CHANNEL_CONFIGURATION, CHATBOT_TEAMS_CHANNEL_CONFIGURATION
from prodready_policy.values import ResourceView, from_policy_resources

Config = Mapping[str, Any]
# A resource rule yields messages about the one resource; a stack rule yields (urn, message).
ResourceCheck = Callable[[ResourceView, Config], Iterable[str]]
StackCheck = Callable[[list[ResourceView], Config], Iterable[tuple[str | None, str]]]


@dataclass(frozen=True)
class PolicySpec:
    """What every policy of the pack declares: identity, impact, remedy and configurable thresholds."""

    name: str
    description: str
    severity: Severity
    remediation_steps: str
    config_properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required_config: tuple[str, ...] = ()

    def schema(self) -> PolicyConfigSchema:
        return PolicyConfigSchema(
            properties={key: dict(value) for key, value in self.config_properties.items()},
            required=list(self.required_config) or None,
        )

    def defaults(self) -> dict[str, Any]:
        return {key: value["default"] for key, value in self.config_properties.items() if "default" in value}

    def effective_config(self, given: Config | None) -> dict[str, Any]:
        return {**self.defaults(), **(given or {})}

    def policy_fields(self) -> dict[str, Any]:
        """What every policy of the pack declares, whatever it validates."""
        return {
            "name": self.name,
            "description": self.description,
            "config_schema": self.schema(),
            "severity": self.severity,
            "remediation_steps": self.remediation_steps,
        }


def resource_policy(spec: PolicySpec, types: Callable[[str], bool], check: ResourceCheck) -> ResourceValidationPolicy:
    """A per-resource policy running `check` on resources whose type token `types` accepts."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not types(args.resource_type):
            return
        provider = args.provider
        view = ResourceView(
            urn=args.urn,
            type=args.resource_type,
            name=args.name,
            raw_props=args.props,
            raw_provider_props=provider.props if provider is not None else None,
        )
        for message in check(view, spec.effective_config(args.get_config())):
            report_violation(message, None)

    return ResourceValidationPolicy(validate=validate, **spec.policy_fields())


class StackRulePolicy(StackValidationPolicy):
    """A stack policy that runs one pure stack rule; keeps the rule and its spec for callers that run
    the rule without the SDK (the benchmark times every stack rule this way)."""

    def __init__(self, spec: PolicySpec, check: StackCheck) -> None:
        self.spec = spec
        self.check = check

        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            resources = from_policy_resources(args.resources)
            for urn, message in check(resources, spec.effective_config(args.get_config())):
                report_violation(message, urn)

        super().__init__(validate=validate, **spec.policy_fields())


def stack_policy(spec: PolicySpec, check: StackCheck) -> StackRulePolicy:
    """A policy over the whole stack (outputs after create/update, dependencies, providers)."""
    return StackRulePolicy(spec, check)


# Chat channel configurations (Amazon Q Developer in chat applications): the IAM rule reads their guardrails,
# the subscription rule their topics (Chatbot subscribes itself to each topic a configuration lists).
CHAT_CONFIGURATIONS: tuple[str, ...] = (
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CHATBOT_TEAMS_CHANNEL_CONFIGURATION,
)


def of_types(*tokens: str) -> Callable[[str], bool]:
    accepted = frozenset(tokens)
    return accepted.__contains__


def string_list(description: str, default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "description": description,
            "default": default}
