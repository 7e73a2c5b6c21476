"""A security group that admits one TCP port from named client security groups only."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct


def group_for_clients(
    scope: Construct,
    *,
    name: str,
    service: str,
    vpc_id: str,
    port: int,
    clients: dict[str, str],
) -> SecurityGroup:
    """`SecurityGroup` plus one `From<Client>` rule per client (ids stable inside `scope`);
    no CIDR ever appears, so only members of the client groups can connect."""
    group = SecurityGroup(
        scope,
        "SecurityGroup",
        name=name,
        description=f"{service} from named clients only",
        vpc_id=vpc_id,
    )
    group_id = group.id
    for client, client_group_id in clients.items():
        VpcSecurityGroupIngressRule(
            scope,
            f"From{client.title()}",
            security_group_id=group_id,
            description=f"{service} from {client}",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=client_group_id,
        )
    return group
