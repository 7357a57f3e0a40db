"""The inventory (cluster.yaml): the machines, how to reach them, and how K3s should run."""

import ipaddress
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

API_PORT = 6443
# Flags that make a node what it is in the cluster: `sugang cluster` sets each from the
# inventory, and a flag in server_args, agent_args or a node's args would silently replace it
# (one name on every server, the joiners told to init a cluster...). Where to say it instead:
IDENTITY_FLAGS = {
    "--node-name": "the node's `name`",
    "--node-ip": "the node's `node_ip`",
    "--node-external-ip": "the node's `external_address`",
    "--advertise-address": "the server's `node_ip` (always its advertise address)",
    "--server": "nothing: joiners are pointed at the first server or the load balancer",
    "--token": "nothing: the join token is read from the first server",
    "--agent-token": "nothing: the join token is read from the first server",
    "--token-file": "nothing: the join token is read from the first server",
    "--cluster-init": "`cluster.ha: true`",
    "--flannel-backend": "`cluster.flannel_backend`",
}


class InventoryError(Exception):
    """The inventory cannot be used as written; the message says where and why."""


class Role(StrEnum):
    SERVER = "server"
    AGENT = "agent"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SshDefaults(Strict):
    user: str = "root"
    port: int = Field(default=22, ge=1, le=65535)
    key: Path | None = Field(
        default=None, description="a private key file; without one, the SSH agent and ~/.ssh"
    )
    known_hosts: Path | None = Field(
        default=None, description="host keys to trust (default: ~/.ssh/known_hosts)"
    )


def _flags(args: list[str]) -> list[str]:
    for arg in args:
        if not arg.startswith("--"):
            raise ValueError(f"{arg!r}: give K3s flags as --flag or --flag=value")
        flag = arg.split("=", 1)[0]
        if flag in IDENTITY_FLAGS:
            raise ValueError(
                f"{arg!r}: sugang cluster sets this itself; use {IDENTITY_FLAGS[flag]}"
            )
    return args


class Node(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    address: str = Field(description="where SSH reaches the machine")
    role: Role
    node_ip: ipaddress.IPv4Address | ipaddress.IPv6Address = Field(
        description="the private LAN address K3s uses between nodes (--node-ip)"
    )
    external_address: str | None = Field(default=None, description="--node-external-ip")
    args: list[str] = Field(
        default=[],
        description="K3s flags for this node only, after the role's (--node-label, "
        "--flannel-iface...); list flags add to the cluster's",
    )
    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    key: Path | None = None

    @field_validator("args")
    @classmethod
    def flags_only(cls, args: list[str]) -> list[str]:
        return _flags(args)


class LoadBalancer(Strict):
    address: str = Field(description="where SSH reaches the load balancer host")
    api_address: str | None = Field(
        default=None, description="the address clients use for the API (default: address)"
    )
    node_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = Field(
        default=None,
        description="its private address, from which it reaches the servers and the agents "
        "reach it (default: address); a cloud VM's SSH address is often a public one",
    )
    kind: Literal["nginx", "haproxy"] = "nginx"
    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    key: Path | None = None

    @property
    def endpoint(self) -> str:
        return self.api_address or self.address

    @property
    def private(self) -> str:
        """The address the nodes use for it."""
        return str(self.node_ip) if self.node_ip else self.endpoint

    @property
    def source(self) -> str:
        """The address its connections to the servers come from."""
        return str(self.node_ip) if self.node_ip else self.address


class Airgap(Strict):
    k3s_binary: Path = Field(description="the k3s executable to upload to /usr/local/bin/k3s")
    install_script: Path = Field(description="K3s's install.sh, run with the download skipped")

    @model_validator(mode="after")
    def files_exist(self) -> Self:
        for path in (self.k3s_binary, self.install_script):
            if not path.is_file():
                raise ValueError(f"{path} is not a file")
        return self


class ClusterOptions(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")] = "sugang"
    k3s_version: str | None = Field(default=None, pattern=r"^v\d+\.\d+\.\d+\+k3s\d+$")
    channel: str = "stable"
    ha: bool = Field(default=False, description="three or more servers on embedded etcd")
    api_endpoint: str | None = Field(
        default=None, description="a DNS name or address in front of the servers"
    )
    kubeconfig_endpoint: str | None = Field(
        default=None,
        description="the API's address in the kubeconfig written for you, when your machine "
        "reaches the cluster by another address than the nodes do (a public one)",
    )
    tls_san: list[str] = []
    flannel_backend: Literal["vxlan", "host-gw", "wireguard-native", "none"] = "vxlan"
    disable: list[
        Literal["traefik", "servicelb", "local-storage", "metrics-server", "coredns"]
    ] = []
    etcd_snapshot_schedule_cron: str | None = Field(
        default=None,
        description="when K3s snapshots etcd on each server, a cron spec (K3s: 0 */12 * * *)",
    )
    etcd_snapshot_retention: int | None = Field(
        default=None, ge=1, description="scheduled snapshots kept on each server (K3s: 5)"
    )
    server_args: list[str] = []
    agent_args: list[str] = []
    airgap: Airgap | None = None

    @model_validator(mode="after")
    def snapshots_need_etcd(self) -> Self:
        if not self.ha and (self.etcd_snapshot_schedule_cron or self.etcd_snapshot_retention):
            raise ValueError(
                "etcd snapshots need ha: true (embedded etcd); a single server keeps its "
                "data in SQLite, /var/lib/rancher/k3s/server/db/state.db"
            )
        return self

    @model_validator(mode="after")
    def one_source_of_version(self) -> Self:
        if self.airgap and self.k3s_version:
            raise ValueError(
                "with airgap the uploaded binary decides the version: leave k3s_version out"
            )
        return self

    @field_validator("server_args", "agent_args")
    @classmethod
    def flags_only(cls, args: list[str]) -> list[str]:
        return _flags(args)


class Inventory(Strict):
    cluster: ClusterOptions = ClusterOptions()
    ssh: SshDefaults = SshDefaults()
    load_balancer: LoadBalancer | None = None
    nodes: list[Node] = Field(min_length=1)

    @model_validator(mode="after")
    def consistent(self) -> Self:
        for field, values in (
            ("name", [n.name for n in self.nodes]),
            ("address", [n.address for n in self.nodes]),
            ("node_ip", [str(n.node_ip) for n in self.nodes]),
        ):
            repeated = [v for v, count in Counter(values).items() if count > 1]
            if repeated:
                raise ValueError(f"two nodes share the {field} {repeated[0]}")
        servers = self.servers
        if not servers:
            raise ValueError("at least one node needs role: server")
        if self.cluster.ha:
            if len(servers) < 3 or len(servers) % 2 == 0:
                raise ValueError(
                    f"HA needs an odd number of servers, at least 3, for etcd's quorum "
                    f"(there are {len(servers)})"
                )
        elif len(servers) > 1:
            raise ValueError(
                f"{len(servers)} servers need ha: true (embedded etcd); without HA there is "
                "one server"
            )
        lb = self.load_balancer
        if lb:
            lb_addresses = {lb.address, lb.endpoint, lb.private}
            for server in servers:
                if lb_addresses & {server.address, str(server.node_ip)}:
                    raise ValueError(
                        f"the load balancer is on the server {server.name}: both would listen "
                        f"on {API_PORT} (k3s-io/k3s#9257); give it a machine of its own, or "
                        "leave load_balancer out and use api_endpoint (a DNS name over the "
                        "servers)"
                    )
        endpoint = self.cluster.api_endpoint
        if self.load_balancer and endpoint and endpoint != self.load_balancer.endpoint:
            raise ValueError(
                "api_endpoint and load_balancer disagree: give the load balancer's "
                "api_address, or leave api_endpoint out"
            )
        return self

    @property
    def servers(self) -> list[Node]:
        return [n for n in self.nodes if n.role is Role.SERVER]

    @property
    def agents(self) -> list[Node]:
        return [n for n in self.nodes if n.role is Role.AGENT]

    @property
    def first_server(self) -> Node:
        return self.servers[0]

    @property
    def api_endpoint(self) -> str:
        """The address the agents join and the nodes use for the API: the load balancer's
        private address, the given DNS name, or the first server's node_ip."""
        if self.load_balancer:
            return self.load_balancer.private
        return self.cluster.api_endpoint or str(self.first_server.node_ip)

    @property
    def api_url(self) -> str:
        return f"https://{bracket(self.api_endpoint)}:{API_PORT}"

    @property
    def kubeconfig_endpoint(self) -> str:
        """The address the operator's kubeconfig uses: the one given, the load balancer's
        client address, the given DNS name, or the address SSH reaches the first server by
        (a laptop outside the cloud's private network cannot reach its node_ip)."""
        if self.cluster.kubeconfig_endpoint:
            return self.cluster.kubeconfig_endpoint
        if self.load_balancer:
            return self.load_balancer.endpoint
        return self.cluster.api_endpoint or self.first_server.address

    @property
    def kubeconfig_url(self) -> str:
        return f"https://{bracket(self.kubeconfig_endpoint)}:{API_PORT}"

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise InventoryError(f"no node named {name!r} in the inventory")


def bracket(host: str) -> str:
    """An IPv6 address in brackets, as URLs want it."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def load(path: Path) -> Inventory:
    """Read and validate cluster.yaml; relative file paths are taken from its folder."""
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file (see docs/cluster.md for an example)") from None
    except yaml.YAMLError as error:
        raise InventoryError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise InventoryError(f"{path}: expected a mapping with cluster, ssh and nodes")
    base = path.resolve().parent
    _resolve_paths(raw, base)
    try:
        return Inventory.model_validate(raw)
    except ValidationError as error:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in error.errors()
        ]
        raise InventoryError(f"{path} has {len(lines)} problem(s):\n" + "\n".join(lines)) from None


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    def fix(mapping: Any, *keys: str) -> None:
        if isinstance(mapping, dict):
            for key in keys:
                if isinstance(mapping.get(key), str):
                    mapping[key] = str((base / Path(mapping[key]).expanduser()).resolve())

    fix(raw.get("ssh"), "key", "known_hosts")
    fix(raw.get("load_balancer"), "key")
    fix((raw.get("cluster") or {}).get("airgap"), "k3s_binary", "install_script")
    for node in raw.get("nodes") or []:
        fix(node, "key")
