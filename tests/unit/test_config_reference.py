"""The generated config reference and JSON Schema: fresh, and right about the committed stack files."""

from __future__ import annotations

import copy
import re

import jsonschema
import pytest
import yaml

from tests.conftest import COMMITTED_STACKS
from tools import config_reference
from tools.plan.harness import PROJECT_DIR


def _stack_file(stack: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())


def test_the_generated_reference_and_schema_are_fresh(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_reference.main([]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_committed_stack_file_matches_the_schema_and_names_it(stack: str) -> None:
    jsonschema.validate(_stack_file(stack), config_reference.stack_file_schema())
    first_line = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=docs/stack-config.schema.json"


@pytest.mark.parametrize(("where", "value", "complaint"), [
    (("prodready:lambda", "memroyMb"), 512, "'memroyMb' was unexpected"),
    (("prodready:tabel",), {"billingMode": "PROVISIONED"}, "'prodready:tabel' does not match any of the regexes"),
    (("prodready:lambda", "memoryMb"), "lots", "'lots' is not of type 'integer'"),
    (("aws:allowedAccountId",), ["123456789012"], "'aws:allowedAccountId' does not match any of the regexes"),
])
def test_the_schema_refuses_what_an_editor_should_underline(where: tuple[str, ...], value: object,
                                                            complaint: str) -> None:
    document = copy.deepcopy(_stack_file("prod"))
    node = document["config"]
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    with pytest.raises(jsonschema.ValidationError, match=re.escape(complaint)):
        jsonschema.validate(document, config_reference.stack_file_schema())


def test_other_namespaces_and_secrets_stay_the_program_s_to_read() -> None:
    document = copy.deepcopy(_stack_file("prod"))
    document["config"]["alerting:criticalWebhookUrl"] = {"secure": "v1:AAAA"}
    jsonschema.validate(document, config_reference.stack_file_schema())


def test_the_reference_shows_each_profile_s_values_from_the_models() -> None:
    text = config_reference.reference_markdown()
    assert "| `lambda.memoryMb` | Function memory in MB (128-10240); CPU scales with it. | `256` | `512` |" in text
    assert "| `delivery.maxReleaseMinutes` |" in text and "| `pipeline.approval` |" in text
    assert "| `profile` |" in text and "| `environment` |" in text
