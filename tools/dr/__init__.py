"""Disaster-recovery drill: restore a stack's table to a scratch table and measure RTO and RPO."""
