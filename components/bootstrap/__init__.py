"""What the stacks' pipeline needs before the first stack exists: GitHub's OIDC provider, each stack's preview
and deploy roles, and a state backend for teams (an S3 bucket and a KMS key for Pulumi secrets). The
`bootstrap/` program composes these."""
