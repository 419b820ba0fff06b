"""The CodeDeploy AfterAllowTraffic hook of the API function (`post_traffic.handler.lambda_handler`).

Packaged with `traffic_hooks` only: it must not import `service`, which is not part of its code.
"""
