"""Validation of AWS Backup restore tests: is the restored table the stack's table, with its data?"""
