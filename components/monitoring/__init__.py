"""The operations layer that watches the service: alarms, SLOs, dashboard, log signals, tracing, canary."""
