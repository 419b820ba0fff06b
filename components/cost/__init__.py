"""The stack's watch over its own spend: budget, cost anomaly alerts, cost allocation tags, billing alarm."""
