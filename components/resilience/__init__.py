"""Resilience: backups of the stack's tables, their copy in a second region, and what watches them."""
