"""The API's own name: an ACM certificate validated by DNS, a regional API Gateway domain, its mapping to the
stage and the alias record that sends the name to it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.types import API_DOMAIN

# API Gateway's only TLS policy for HTTP API domains: TLS 1.2 and later.
SECURITY_POLICY = "TLS_1_2"
# The validation record changes only when ACM asks for a new one; a minute keeps a retry quick.
VALIDATION_TTL_SECONDS = 60


def validated_certificate(
    name: str, domain_name: str, hosted_zone_id: pulumi.Input[str], parent: pulumi.Resource,
    provider: pulumi.ProviderResource | None = None,
) -> pulumi.Output[str]:
    """A public ACM certificate for `domain_name`, validated by DNS in the zone: its ARN once issued.

    `provider` puts it in another region (CloudFront takes certificates from us-east-1 only)."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    certificate = aws.acm.Certificate(
        f"{name}-certificate",
        domain_name=domain_name,
        validation_method="DNS",
        # Pulumi's default create-before-replace: a replaced certificate is issued and handed on before the old
        # one is deleted.
        opts=opts,
    )
    option = certificate.domain_validation_options[0]
    validation_record = aws.route53.Record(
        f"{name}-validation",
        zone_id=hosted_zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=VALIDATION_TTL_SECONDS,
        # ACM gives a certificate for the same name the same record: a re-created certificate must not fail on
        # the record its predecessor left.
        allow_overwrite=True,
        opts=opts,
    )
    validation = aws.acm.CertificateValidation(
        f"{name}-certificate-validation",
        certificate_arn=certificate.arn,
        validation_record_fqdns=[validation_record.fqdn],
        opts=opts,
    )
    # Users take the ARN from the validation: API Gateway and CloudFront refuse a certificate not yet issued.
    return validation.certificate_arn


def domain_url(name: str) -> str:
    """The base URL clients call, shaped like the `$default` stage's invoke URL (trailing slash)."""
    return f"https://{name}/"


@dataclass(frozen=True)
class ApiDomainArgs:
    domain_name: str
    """The name clients call (`api.example.com`)."""
    hosted_zone_id: pulumi.Input[str]
    """The public Route 53 zone that holds the name and the certificate's validation record."""
    api_id: pulumi.Input[str]
    """The HTTP API the name serves."""
    stage_name: pulumi.Input[str]
    """The stage the name maps to (the root path maps to it whole)."""
    certificate_arn: str | None = None
    """An existing certificate of the stack's region covering the name; None requests one from ACM."""


class ApiDomain(pulumi.ComponentResource):
    """A custom domain for an HTTP API stage."""

    url: pulumi.Output[str]
    domain_name: str
    hosted_zone_id: pulumi.Input[str]
    certificate_arn: pulumi.Output[str]
    target_domain_name: pulumi.Output[str]

    def __init__(self, name: str, args: ApiDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(API_DOMAIN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        certificate_arn: pulumi.Output[str]
        if args.certificate_arn is not None:
            certificate_arn = pulumi.Output.from_input(args.certificate_arn)
        else:
            certificate_arn = validated_certificate(name, args.domain_name, args.hosted_zone_id, self)

        domain = aws.apigatewayv2.DomainName(
            f"{name}-name",
            domain_name=args.domain_name,
            domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                certificate_arn=certificate_arn,
                endpoint_type="REGIONAL",
                security_policy=SECURITY_POLICY,
            ),
            opts=child,
        )
        mapping = aws.apigatewayv2.ApiMapping(
            f"{name}-mapping",
            api_id=args.api_id,
            domain_name=domain.id,
            stage=args.stage_name,
            opts=child,
        )
        configuration = domain.domain_name_configuration
        record = aws.route53.Record(
            f"{name}-alias",
            zone_id=args.hosted_zone_id,
            name=args.domain_name,
            type="A",
            # Alias records to API Gateway answer without a query charge and follow its addresses.
            aliases=[aws.route53.RecordAliasArgs(
                name=configuration.target_domain_name,
                zone_id=configuration.hosted_zone_id,
                evaluate_target_health=False,
            )],
            opts=child,
        )

        # Known once the name resolves to a mapped stage: whatever calls it (canary, smoke test) waits for that.
        self.url = pulumi.Output.all(record.fqdn, mapping.id).apply(lambda _: domain_url(args.domain_name))
        self.domain_name = args.domain_name
        self.hosted_zone_id = args.hosted_zone_id
        self.certificate_arn = certificate_arn
        self.target_domain_name = configuration.target_domain_name
        self.register_outputs({
            "url": self.url,
            "certificateArn": self.certificate_arn,
            "targetDomainName": self.target_domain_name,
        })
