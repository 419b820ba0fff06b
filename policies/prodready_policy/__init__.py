"""Rules of the prodready CrossGuard policy pack.

Each module holds pure rule functions (plain data in, findings out) and the `Policy` objects that
adapt them to the pulumi_policy SDK. `pack.POLICIES` lists every policy; `policies/__main__.py`
only serves them.
"""
