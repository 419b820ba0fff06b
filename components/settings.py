"""What every component's settings share: the model base (camelCase keys, frozen, no unknown keys) and
the checks more than one section needs. Pure pydantic; components and the stack config import it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# The stack file's namespace of this project's keys (`prodready:<key>`).
NAMESPACE = "prodready"

# The only values CloudWatch Logs accepts for RetentionInDays (0/"never expire" is deliberately
# absent: we never keep logs forever by accident).
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)

# An ACM certificate ARN; its region (group 1) is checked against the stack's where that matters.
CERTIFICATE_ARN_PATTERN = r"^arn:aws[a-z-]*:acm:([a-z]{2}(-gov)?-[a-z]+-\d):\d{12}:certificate/[0-9a-f-]{36}$"

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Settings(BaseModel):
    """Base for every config section: camelCase keys as in the YAML, frozen, no unknown keys."""

    # Field docstrings become descriptions: the generated reference and JSON Schema read them.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid", use_attribute_docstrings=True
    )


def check_retention(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        raise ValueError(
            f"{value} is not a retention CloudWatch Logs accepts; use one of {list(CLOUDWATCH_RETENTION_DAYS)}"
        )
    return value
