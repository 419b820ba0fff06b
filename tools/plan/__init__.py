"""Offline plan: the real program for a stack under Pulumi's mocks (see docs/plan-format.md)."""
