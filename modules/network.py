"""VPC with public, private-app and private-data subnets, NAT, flow logs and an S3 endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from cdktf import Fn
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.log_groups import encrypted_log_group
from modules.naming import Naming
from policies import infra_iam


@dataclass(frozen=True)
class NetworkProps:
    config: EnvironmentConfig
    naming: Naming
    logs_kms_key_arn: str


class Network(Construct):
    """Three subnet tiers per availability zone; only the public tier routes to the internet.

    App subnets leave through NAT (one gateway, or one per zone as the config says); data
    subnets have no route out at all. S3 traffic of both private tiers stays on the gateway
    endpoint.
    """

    def __init__(self, scope: Construct, id_: str, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        config, naming = props.config, props.naming

        self.vpc = Vpc(
            self,
            "Vpc",
            cidr_block=str(config.vpc_cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": naming.name("vpc")},
        )
        self.vpc_id = self.vpc.id  # read once: each attribute read is a jsii round trip
        DefaultSecurityGroup(
            self, "DefaultSecurityGroup", vpc_id=self.vpc_id, ingress=[], egress=[]
        )
        gateway = InternetGateway(self, "InternetGateway", vpc_id=self.vpc_id)

        self.public_subnets = self._tier("Public", config.public_subnet_cidrs, props)
        self.app_subnets = self._tier("App", config.app_subnet_cidrs, props)
        self.data_subnets = self._tier("Data", config.data_subnet_cidrs, props)

        public_routes = RouteTable(
            self, "PublicRoutes", vpc_id=self.vpc_id, tags={"Name": naming.name("public")}
        )
        Route(
            self,
            "PublicDefault",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        for index, subnet in enumerate(self.public_subnets):
            RouteTableAssociation(
                self, f"PublicAssoc{index}", subnet_id=subnet.id, route_table_id=public_routes.id
            )

        nat_count = len(config.availability_zones) if config.nat_gateways == "per_az" else 1
        nats = []
        for index in range(nat_count):
            address = Eip(
                self, f"NatIp{index}", domain="vpc", tags={"Name": naming.name("nat", str(index))}
            )
            nats.append(
                NatGateway(
                    self,
                    f"Nat{index}",
                    allocation_id=address.id,
                    subnet_id=self.public_subnets[index].id,
                    tags={"Name": naming.name("nat", str(index))},
                    depends_on=[gateway],
                )
            )

        private_tables = []
        for index, subnet in enumerate(self.app_subnets):
            table = RouteTable(
                self,
                f"AppRoutes{index}",
                vpc_id=self.vpc_id,
                tags={"Name": naming.name("app", str(index))},
            )
            Route(
                self,
                f"AppDefault{index}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[index % nat_count].id,
            )
            RouteTableAssociation(
                self, f"AppAssoc{index}", subnet_id=subnet.id, route_table_id=table.id
            )
            private_tables.append(table)
        data_routes = RouteTable(
            self, "DataRoutes", vpc_id=self.vpc_id, tags={"Name": naming.name("data")}
        )
        for index, subnet in enumerate(self.data_subnets):
            RouteTableAssociation(
                self, f"DataAssoc{index}", subnet_id=subnet.id, route_table_id=data_routes.id
            )
        private_tables.append(data_routes)

        VpcEndpoint(
            self,
            "S3Endpoint",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{config.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in private_tables],
            tags={"Name": naming.name("s3")},
        )

        self._flow_logs(props)

        self.db_subnet_group = DbSubnetGroup(
            self,
            "DbSubnets",
            name=naming.name("data"),
            subnet_ids=[subnet.id for subnet in self.data_subnets],
        )
        self.cache_subnet_group = ElasticacheSubnetGroup(
            self,
            "CacheSubnets",
            name=naming.name("cache"),
            subnet_ids=[subnet.id for subnet in self.data_subnets],
        )

    def _tier(self, tier: str, cidrs: list[IPv4Network], props: NetworkProps) -> list[Subnet]:
        zones = props.config.availability_zones
        return [
            Subnet(
                self,
                f"{tier}{index}",
                vpc_id=self.vpc_id,
                cidr_block=str(cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": props.naming.name(tier.lower(), zone[-1]), "Tier": tier.lower()},
            )
            for index, (cidr, zone) in enumerate(zip(cidrs, zones, strict=True))
        ]

    def _flow_logs(self, props: NetworkProps) -> None:
        naming = props.naming
        log_group = encrypted_log_group(
            self,
            "FlowLogGroup",
            naming.log_group("vpc-flow-logs"),
            props.config,
            props.logs_kms_key_arn,
        )
        role = IamRole(
            self,
            "FlowLogRole",
            name=naming.name("vpc-flow-logs"),
            assume_role_policy=Fn.jsonencode(
                infra_iam.service_trust("vpc-flow-logs.amazonaws.com", props.config.account_id)
            ),
        )
        IamRolePolicy(
            self,
            "FlowLogDelivery",
            role=role.id,
            policy=Fn.jsonencode(infra_iam.flow_logs_delivery(log_group.arn)),
        )
        FlowLog(
            self,
            "FlowLog",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        )
