"""prodready: one serverless service and its operations layer, per stack.

Reads and validates the stack config once, then composes the components. Nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from app.service.routes import ROUTE_KEYS
from app.service.schema import TABLE_HASH_KEY
from components.config import load_stack_config, raw_pulumi_config
from components.service import ServerlessService, ServerlessServiceArgs

ROOT = Path(__file__).resolve().parent

# Validated before anything is registered: a bad stack file creates no resources at all.
config = load_stack_config(pulumi.get_stack(), raw_pulumi_config())

# Every resource goes through this provider; its default tags tag everything taggable.
provider = aws.Provider(
    "aws",
    region=config.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags),
)
with_provider = pulumi.ResourceOptions(providers=[provider])

service = ServerlessService(
    config.service,
    ServerlessServiceArgs(
        service_name=config.service,
        name_prefix=config.prefix,
        region=config.region,
        code_dir=ROOT / "app",
        handler="service.handler.lambda_handler",
        route_keys=ROUTE_KEYS,
        table_hash_key=TABLE_HASH_KEY,
        function=config.lambda_,
        api=config.api,
        logs=config.logs,
        table=config.table,
        data_protection=config.data_protection,
        environment=config.environment,
    ),
    opts=with_provider,
)

pulumi.export("apiUrl", service.api_url)
pulumi.export("functionName", service.function_name)
pulumi.export("tableName", service.table_name)
pulumi.export("logGroupNames", {"function": service.log_group_name, "apiAccess": service.access_log_group_name})
