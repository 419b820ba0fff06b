"""The stack config's reference, generated from the models: a JSON Schema for editors and CI, and a table.

`python -m tools.config_reference --write` writes `docs/stack-config.schema.json` (stack files name it for
editors: `# yaml-language-server: $schema=docs/stack-config.schema.json`) and `docs/config.md` (every
key, what it means, and each profile's value). A test fails when either is stale, and checks every
committed stack file against the schema.

Every key is optional in the schema: a profile supplies what a stack file leaves out. The program's
own validation (`components.config.load_stack_config`) stays the authority: cross-field rules and prod's
protections are not expressible here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from components.config import (
    AWS_PROVIDER_SETTINGS,
    NAMESPACE,
    PROFILES,
    StackConfig,
    _model_in,
    load_stack_config,
)

PROJECT_DIR = Path(__file__).resolve().parents[1]
SCHEMA_PATH = PROJECT_DIR / "docs" / "stack-config.schema.json"
REFERENCE_PATH = PROJECT_DIR / "docs" / "config.md"
# Filled in by the loader, not keys of a stack file.
NOT_KEYS = ("stack", "region", "aws_provider")
# A stack file's own top-level keys besides `config` (Pulumi's stack settings and ESC environments).
STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def _optional(node: Any) -> Any:
    """`node` with every `required` list dropped: profiles fill what a stack file leaves out."""
    if isinstance(node, dict):
        return {key: _optional(value) for key, value in node.items() if key != "required"}
    if isinstance(node, list):
        return [_optional(value) for value in node]
    return node


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema of a `Pulumi.<stack>.yaml` of this project."""
    model = _optional(StackConfig.model_json_schema(by_alias=True))
    fields = {info.alias or name: name for name, info in StackConfig.model_fields.items()}
    config_properties: dict[str, Any] = {
        f"{NAMESPACE}:{key}": schema for key, schema in model["properties"].items() if fields[key] not in NOT_KEYS
    }
    config_properties["aws:region"] = {"type": "string", "description": "AWS region of the stack's resources."}
    for key, argument in AWS_PROVIDER_SETTINGS.items():
        config_properties[f"aws:{key}"] = {"description": f"Passed to the AWS provider as `{argument}`."}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Pulumi.<stack>.yaml of the {NAMESPACE} project",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config_properties,
                # Other namespaces (secrets such as alerting:criticalWebhookUrl) are the program's to read.
                "patternProperties": {f"^(?!{NAMESPACE}:|aws:)[A-Za-z0-9_-]+:.+$": {}},
                "additionalProperties": False,
            },
            **{key: {} for key in STACK_FILE_KEYS},
        },
        "additionalProperties": False,
        "$defs": model.get("$defs", {}),
    }


def profile_values() -> dict[str, dict[str, Any]]:
    """Each profile's effective config (its defaults over the models'), with placeholders where a stack
    file must say something."""
    values = {}
    for profile in PROFILES:
        raw = {
            "aws:region": "eu-west-1", f"{NAMESPACE}:profile": profile, f"{NAMESPACE}:service": "svc",
            f"{NAMESPACE}:owner": "owner", f"{NAMESPACE}:costCenter": "cc",
            f"{NAMESPACE}:monitoring": json.dumps({"alertEmails": {"critical": ["a@example.com"],
                                                                  "warning": ["a@example.com"]}}),
            f"{NAMESPACE}:cost": json.dumps({"budgetEmails": ["a@example.com"]}),
            "aws:allowedAccountIds": json.dumps(["111111111111"]),
        }
        values[profile] = load_stack_config(profile, raw).model_dump(by_alias=True, mode="json")
    return values


def _rows(model: type[BaseModel], prefix: str, values: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    rows = []
    for name, info in model.model_fields.items():
        if name in NOT_KEYS:
            continue
        key = f"{prefix}{info.alias or name}"
        inner = _model_in(info.annotation)
        field_values = [v.get(info.alias or name) if isinstance(v, dict) else None for v in values.values()]
        description = " ".join((info.description or "").split())
        if inner is not None and not str(info.annotation).startswith(("dict", "list", "tuple")) and all(
                isinstance(v, dict) or v is None for v in field_values):
            nested = dict(zip(values, [v if isinstance(v, dict) else {} for v in field_values], strict=True))
            rows += _rows(inner, f"{key}.", nested)
        else:
            rows.append((key, description, field_values))
    return rows


def _cell(value: Any) -> str:
    if value is None or value == {} or value == []:
        return "—"
    text = json.dumps(value) if not isinstance(value, str) else value
    return f"`{text}`".replace("|", "\\|")


USER_KEYS = ("service", "owner", "costCenter")


def reference_markdown() -> str:
    """docs/config.md: every key, its meaning, and each profile's value."""
    values = profile_values()
    lines = [
        "# Stack configuration reference",
        "",
        "Generated from the models in `components/config.py` by `python -m tools.config_reference --write`; a",
        "test fails when it is stale. Keys live under `prodready:` in `Pulumi.<stack>.yaml` (camelCase,",
        "sections as YAML maps), beside the AWS provider's `aws:` settings. A stack file holds only what",
        "differs from its profile; prod's protections cannot be turned off. Editors check stack files",
        "against [stack-config.schema.json](stack-config.schema.json).",
        "",
        f"| key | meaning | {' | '.join(f'{p} profile' for p in PROFILES)} |",
        f"| --- | --- | {' | '.join('---' for _ in PROFILES)} |",
        f"| `aws:region` | AWS region of the stack's resources | {' | '.join('required' for _ in PROFILES)} |",
        "| `aws:allowedAccountIds` | the only accounts the provider may deploy to | optional | required |",
        f"| `aws:profile`, `aws:assumeRoles`, … | passed to the AWS provider: "
        f"{', '.join(sorted(AWS_PROVIDER_SETTINGS))} | {' | '.join('optional' for _ in PROFILES)} |",
    ]
    for key, description, given in _rows(StackConfig, "", values):
        if key in USER_KEYS:
            cells = ["required" for _ in PROFILES]
        elif key == "environment":
            cells = ["the stack's name" for _ in PROFILES]
        elif key == "profile":
            cells = [f"`{p}`" for p in PROFILES]
        else:
            cells = [_cell(v) for v in given]
        lines.append(f"| `{key}` | {description} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.config_reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the files (default: check they are fresh)")
    args = parser.parse_args(argv)
    expected = {SCHEMA_PATH: json.dumps(stack_file_schema(), indent=1) + "\n", REFERENCE_PATH: reference_markdown()}
    stale = [path for path, text in expected.items() if not path.exists() or path.read_text() != text]
    if args.write:
        for path in stale:
            path.write_text(expected[path])
            print(f"wrote {path.relative_to(PROJECT_DIR)}")
        return 0
    for path in stale:
        print(f"{path.relative_to(PROJECT_DIR)} is stale: python -m tools.config_reference --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
