"""The CodeDeploy BeforeAllowTraffic hook of the API function (`pre_traffic.handler.lambda_handler`).

Packaged on its own: it must not import `service`, which is not part of its code.
"""
