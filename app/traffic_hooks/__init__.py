"""What the CodeDeploy traffic hooks of the API function share (`traffic_hooks.lifecycle`).

Shipped with each hook's own package (`pre_traffic`, `post_traffic`); like them it must not import
`service`, which is not part of a hook's code.
"""
