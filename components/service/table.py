"""DynamoDB table with backups, encryption and data protection switched by environment."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.service import keys
from components.service.settings import GsiConfig
from components.types import TABLE


@dataclass(frozen=True)
class TableArgs:
    hash_key: str
    """Partition key attribute name (string type)."""
    billing_mode: str = "PAY_PER_REQUEST"
    """PAY_PER_REQUEST (on-demand) or PROVISIONED."""
    read_capacity: int | None = None
    """Provisioned read capacity (PROVISIONED only)."""
    write_capacity: int | None = None
    """Provisioned write capacity (PROVISIONED only)."""
    ttl_attribute: str | None = None
    """Attribute with an epoch-seconds expiry; None leaves TTL off."""
    global_secondary_indexes: tuple[GsiConfig, ...] = ()
    """Global secondary indexes (string-typed keys)."""
    stream_enabled: bool = False
    """Emit a NEW_AND_OLD_IMAGES stream."""
    point_in_time_recovery: bool = True
    """Continuous backups (PITR)."""
    deletion_protection: bool = False
    """DynamoDB deletion protection: the API refuses DeleteTable while on."""
    customer_managed_key_alias: str | None = None
    """Alias (without `alias/`) of a customer-managed KMS key created for this table; None uses the
    AWS-managed `aws/dynamodb` key."""
    protect: bool = False
    """Pulumi `protect` and `retain_on_delete` on the table and its key: a destroy or a replacement
    cannot remove data."""
    region: str | None = None
    """Region of the table; its key may only be used through DynamoDB in this region (customer-managed
    key only)."""
    key_attributes: tuple[str, ...] = field(init=False, default=())
    """Every attribute used in a key (derived)."""

    def __post_init__(self) -> None:
        names = [self.hash_key]
        for gsi in self.global_secondary_indexes:
            names += [gsi.hash_key] + ([gsi.range_key] if gsi.range_key else [])
        object.__setattr__(self, "key_attributes", tuple(dict.fromkeys(names)))


class Table(pulumi.ComponentResource):
    """A DynamoDB table; exposes its name, ARN, index names, stream ARN and key ARN."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None
    kms_key_arn: pulumi.Output[str] | None
    index_names: tuple[str, ...]

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TABLE, name, None, opts)
        data_opts = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        self.kms_key_arn = None
        encryption: aws.dynamodb.TableServerSideEncryptionArgs
        if args.customer_managed_key_alias:
            if not args.region:
                raise ValueError(f"table {name}: a customer-managed key needs the table's region")
            region = args.region
            identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            key = aws.kms.Key(
                f"{name}-key",
                description=f"Encrypts DynamoDB table {name}",
                enable_key_rotation=True,
                # The longest window: a key scheduled for deletion by mistake can be recovered.
                deletion_window_in_days=30,
                policy=pulumi.Output.json_dumps(
                    pulumi.Output.all(identity.account_id, identity.arn).apply(
                        lambda v: keys.table_key_policy(v[0], region, v[1].split(":")[1])
                    )
                ),
                opts=data_opts,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                name=f"alias/{args.customer_managed_key_alias}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.kms_key_arn = key.arn
            encryption = aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=key.arn)
        else:
            # enabled=True without a key selects the AWS-managed aws/dynamodb key (explicitly
            # encrypted, visible in CloudTrail) rather than the opaque AWS-owned key.
            encryption = aws.dynamodb.TableServerSideEncryptionArgs(enabled=True)

        indexes = [
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=gsi.name,
                projection_type=gsi.projection_type,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=gsi.hash_key, key_type="HASH"),
                    *(
                        [aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=gsi.range_key, key_type="RANGE")]
                        if gsi.range_key else []
                    ),
                ],
                non_key_attributes=list(gsi.non_key_attributes) or None,
                read_capacity=args.read_capacity,
                write_capacity=args.write_capacity,
            )
            for gsi in args.global_secondary_indexes
        ]
        self.index_names = tuple(g.name for g in args.global_secondary_indexes)

        table = aws.dynamodb.Table(
            f"{name}-dynamodb",
            billing_mode=args.billing_mode,
            read_capacity=args.read_capacity,
            write_capacity=args.write_capacity,
            hash_key=args.hash_key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in args.key_attributes],
            global_secondary_indexes=indexes or None,
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=args.point_in_time_recovery),
            server_side_encryption=encryption,
            ttl=(
                aws.dynamodb.TableTtlArgs(attribute_name=args.ttl_attribute, enabled=True)
                if args.ttl_attribute else None
            ),
            deletion_protection_enabled=args.deletion_protection,
            stream_enabled=args.stream_enabled,
            stream_view_type="NEW_AND_OLD_IMAGES" if args.stream_enabled else None,
            opts=data_opts,
        )

        self.name = table.name
        self.arn = table.arn
        self.stream_arn = table.stream_arn if args.stream_enabled else None
        self.register_outputs(
            {"name": self.name, "arn": self.arn, "streamArn": self.stream_arn, "kmsKeyArn": self.kms_key_arn}
        )
