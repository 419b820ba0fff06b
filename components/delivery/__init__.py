"""How a new version reaches traffic: CodeDeploy shifts the live alias after a pre-traffic check,
watched by the release alarms, and `pulumi up` waits for it."""
