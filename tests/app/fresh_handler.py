"""Run the handler in a fresh interpreter: `python fresh_handler.py EVENT.json...`.

Settings that Powertools reads once at cold start (POWERTOOLS_LOGGER_LOG_EVENT, the debug
sample rate, the namespace) can only be tested in a new process. DynamoDB is moto in-process;
the function's stdout (logs and EMF) is passed through, so the caller can inspect it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
from catalog_testkit import REGION, TABLE_NAME, FakeLambdaContext
from moto import mock_aws


def main(event_paths: list[str]) -> None:
    with mock_aws():
        from service.schema import TABLE_HASH_KEY

        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE_NAME,
            AttributeDefinitions=[{"AttributeName": TABLE_HASH_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": TABLE_HASH_KEY, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        from service.handler import lambda_handler

        for path in event_paths:
            response = lambda_handler(json.loads(Path(path).read_text()), FakeLambdaContext())
            print(json.dumps({"response_status": response["statusCode"]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
