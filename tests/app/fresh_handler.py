"""Run the handler in a fresh interpreter: `python fresh_handler.py EVENT.json...`.

Settings that Powertools reads once at cold start (POWERTOOLS_LOGGER_LOG_EVENT, the debug
sample rate, the namespace, OPENAPI_ENABLED) can only be tested in a new process. DynamoDB is
moto in-process, with both tables; the function's stdout (logs and EMF) is passed through, and
each response is printed as one more line (`response_status`, `response_headers`, `response_body`),
so the caller can inspect it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
from catalog_testkit import IDEMPOTENCY_TABLE_NAME, REGION, TABLE_NAME, FakeLambdaContext
from moto import mock_aws


def main(event_paths: list[str]) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for table_name in (TABLE_NAME, IDEMPOTENCY_TABLE_NAME):
            # Both tables are keyed by a string `id` (service.schema.TABLE_HASH_KEY, Powertools' default).
            client.create_table(
                TableName=table_name,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        from service.handler import lambda_handler

        for path in event_paths:
            response = lambda_handler(json.loads(Path(path).read_text()), FakeLambdaContext())
            print(
                json.dumps(
                    {
                        "response_status": response["statusCode"],
                        "response_headers": response.get("headers") or {},
                        "response_body": response.get("body"),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
