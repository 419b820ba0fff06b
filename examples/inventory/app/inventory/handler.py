"""Stock levels by SKU: GET and PUT /stock/{sku} on an HTTP API (payload format 2.0), one DynamoDB table."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import boto3

_SKU = re.compile(r"^[A-Z0-9-]{3,32}$")
_table = boto3.resource("dynamodb").Table(os.environ.get("TABLE_NAME", "inventory"))


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    route = event.get("routeKey", "")
    if route in ("GET /health/live", "GET /health/ready"):
        return _answer(200, {"status": "ok"})
    sku = (event.get("pathParameters") or {}).get("sku", "")
    if not _SKU.match(sku):
        return _answer(400, {"error": "sku must be 3-32 of A-Z, 0-9 and -"})
    if route == "GET /stock/{sku}":
        item = _table.get_item(Key={"sku": sku}).get("Item")
        return _answer(200, {"sku": sku, "quantity": int(item["quantity"])}) if item else _answer(404, {"sku": sku})
    if route == "PUT /stock/{sku}":
        try:
            quantity = int(json.loads(event.get("body") or "{}")["quantity"])
        except (KeyError, TypeError, ValueError):
            return _answer(400, {"error": "body must be {\"quantity\": <whole number>}"})
        if quantity < 0:
            return _answer(400, {"error": "quantity must not be negative"})
        _table.put_item(Item={"sku": sku, "quantity": quantity})
        return _answer(200, {"sku": sku, "quantity": quantity})
    return _answer(404, {"error": f"no route {route}"})
