"""The DynamoDB key schema of the items table.

Pure data on purpose: the Table component and the local server both build the table from it.
"""

from __future__ import annotations

# String attribute holding the item id (a UUID assigned by the service).
TABLE_HASH_KEY = "id"
