"""The bootstrap program's config (`prodready-bootstrap:<key>` in `bootstrap/Pulumi.<stack>.yaml`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, field_validator

from components.config import ConfigError
from components.settings import Settings

NAMESPACE = "prodready-bootstrap"
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


class CiStack(Settings):
    """One stack of the program the pipeline previews and deploys."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    """The stack's name (its `Pulumi.<name>.yaml` in the project root)."""
    environment: str = Field(default="", pattern=r"^$|^[A-Za-z0-9_.-]{1,255}$")
    """The GitHub environment its deploy jobs run in (default: the stack's name)."""
    regions: list[str] = Field(min_length=1)
    """Every region the stack puts resources in: its `aws:region`, the backup copy region, us-east-1 for
    billing alerts and the edge."""

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        import re

        bad = [r for r in value if not re.match(REGION_PATTERN, r)]
        if bad:
            raise ValueError(f"not AWS region names: {bad}")
        return sorted(set(value))

    @property
    def github_environment(self) -> str:
        return self.environment or self.name


class BootstrapConfig(Settings):
    """What the bootstrap stack is told; everything else is derived."""

    region: str = Field(pattern=REGION_PATTERN)
    """The region of the state bucket and the keys (`aws:region`)."""
    account_id: str = Field(pattern=r"^\d{12}$")
    """The AWS account the stacks deploy into; the provider refuses any other (allowedAccountIds)."""
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """The GitHub repository `owner/name` whose workflows may assume the roles."""
    project: str = Field(default="prodready", pattern=r"^[A-Za-z0-9_.-]+$")
    """The Pulumi project the stacks belong to (its state lives under `.pulumi/stacks/<project>/`)."""
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{1,23}$")
    """The stacks' `prodready:service`: their buckets' names start with it."""
    owner: str = Field(min_length=1)
    """Owning team (Owner tag)."""
    cost_center: str = Field(min_length=1)
    """Cost centre (CostCenter tag)."""
    stacks: list[CiStack] = Field(min_length=1)
    """The stacks that get a preview and a deploy role."""
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650)
    """How long the state bucket keeps a replaced or deleted state file's older versions."""

    @field_validator("stacks")
    @classmethod
    def _unique(cls, value: list[CiStack]) -> list[CiStack]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError(f"stack names repeat: {names}")
        return value

    def tags(self, stack: str) -> dict[str, str]:
        """The tags every taggable resource of the bootstrap stack carries (provider default tags)."""
        return {"Project": self.project, "Environment": stack, "Service": f"{self.service}-ci",
                "Owner": self.owner, "CostCenter": self.cost_center, "ManagedBy": "pulumi"}


def _value(raw: Any) -> Any:
    import json

    # The engine passes objects and lists as JSON text, everything else as the string it was written as.
    if isinstance(raw, str) and raw.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def load_bootstrap_config(stack: str, raw: Mapping[str, Any]) -> BootstrapConfig:
    """Validate the raw config map (`"ns:key" -> value`); a ConfigError names the stack and every bad key."""
    prefix = f"{NAMESPACE}:"
    unknown_namespaces = sorted(k for k in raw if ":" in k and not k.startswith((prefix, "aws:")))
    if unknown_namespaces:
        raise ConfigError(stack, [f"{k}: not a key of this program (namespaces: {NAMESPACE}, aws)"
                                  for k in unknown_namespaces])
    document: dict[str, Any] = {k.removeprefix(prefix): _value(v) for k, v in raw.items() if k.startswith(prefix)}
    region = raw.get("aws:region")
    if region is None:
        raise ConfigError(stack, ["aws:region: required (the state bucket's and the keys' region)"])
    document["region"] = region
    try:
        return BootstrapConfig.model_validate(document)
    except ValidationError as error:
        problems = []
        for e in error.errors():
            where = ".".join(str(p) for p in e["loc"])
            key = "aws:region" if where == "region" else f"{NAMESPACE}:{where}"
            problems.append(f"{key}: {e['msg']} (got {e.get('input')!r})")
        raise ConfigError(stack, problems) from None
