"""The files `sugang cluster` writes: each node's K3s config, the load balancer's config, and
the kubeconfig it merges on the operator's machine. Pure functions of the inventory."""

from typing import Any

import yaml

from sugang.cluster.inventory import API_PORT, Inventory, Node, Role, bracket

K3S_CONFIG = "/etc/rancher/k3s/config.yaml"
NODE_TOKEN = "/var/lib/rancher/k3s/server/node-token"
K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
NGINX_STREAM_CONFIG = "/etc/nginx/sugang-k3s-stream.conf"
NGINX_MAIN_CONFIG = "/etc/nginx/nginx.conf"
HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"
MANAGED = "# Written by `sugang cluster up`; changes here are overwritten on the next run."


# K3s flags that may be given more than once: the inventory's values are added to the tool's
LIST_FLAGS = {"tls-san", "disable", "node-label", "node-taint"}


def k3s_config(inventory: Inventory, node: Node, token: str | None) -> dict[str, Any]:
    """/etc/rancher/k3s/config.yaml for one node. The token goes into this file (mode 0600)
    rather than onto a command line, so no process list ever shows it."""
    options = inventory.cluster
    config: dict[str, Any] = {"node-name": node.name, "node-ip": str(node.node_ip)}
    if node.external_address:
        config["node-external-ip"] = node.external_address
    first = inventory.first_server
    if node.role is Role.SERVER:
        # without it K3s advertises the external address when there is one, and in-cluster
        # API traffic goes to public addresses a firewall may block
        config["advertise-address"] = str(node.node_ip)
        if node == first:
            if options.ha:
                config["cluster-init"] = True
        else:
            config["server"] = f"https://{bracket(str(first.node_ip))}:{API_PORT}"
            config["token"] = _required(token)
        if sans := tls_sans(inventory, node):
            config["tls-san"] = sans
        config["write-kubeconfig-mode"] = "0600"
        if options.flannel_backend != "vxlan":
            config["flannel-backend"] = options.flannel_backend
        if options.disable:
            config["disable"] = list(options.disable)
        if options.etcd_snapshot_schedule_cron:
            config["etcd-snapshot-schedule-cron"] = options.etcd_snapshot_schedule_cron
        if options.etcd_snapshot_retention:
            config["etcd-snapshot-retention"] = options.etcd_snapshot_retention
        role_args = options.server_args
    else:
        config["server"] = inventory.api_url
        config["token"] = _required(token)
        role_args = options.agent_args
    return merge_flags(config, flags_to_config([*role_args, *node.args]))


def merge_flags(config: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` on top of the tool's config: list flags add to its values (a --tls-san of the
    user's beside the load balancer's), others are set."""
    merged = dict(config)
    for key, value in extra.items():
        if key in LIST_FLAGS:
            values = value if isinstance(value, list) else [value]
            current = merged.get(key, [])
            merged[key] = list(dict.fromkeys([*current, *values]))
        else:
            merged[key] = value
    return merged


def _required(token: str | None) -> str:
    if not token:
        raise ValueError("the join token is read from the first server before anyone joins")
    return token


def tls_sans(inventory: Inventory, node: Node) -> list[str]:
    """Names the API certificate must carry beyond the node's own (K3s adds its IP and
    hostname): the API endpoint, the kubeconfig's, the load balancer's addresses, the extra
    names, the node's external address."""
    names = [inventory.api_endpoint, inventory.kubeconfig_endpoint]
    if inventory.load_balancer:
        names.append(inventory.load_balancer.endpoint)
    names += inventory.cluster.tls_san
    if node.external_address:
        names.append(node.external_address)
    return list(dict.fromkeys(n for n in names if n != str(node.node_ip)))


def flags_to_config(flags: list[str]) -> dict[str, Any]:
    """["--kube-apiserver-arg=a=b", "--node-label=x=y", "--node-label=z=w", "--selinux"] as
    K3s's config file keys (repeated flags become lists, bare flags true)."""
    config: dict[str, Any] = {}
    for flag in flags:
        key, has_value, value = flag.removeprefix("--").partition("=")
        if key in LIST_FLAGS and has_value:
            items = value.split(",") if key == "disable" else [value]
            config[key] = [*config.get(key, []), *items]
            continue
        item: Any = value if has_value else True
        if key in config:
            previous = config[key]
            config[key] = [*previous, item] if isinstance(previous, list) else [previous, item]
        else:
            config[key] = item
    return config


def to_yaml(config: dict[str, Any]) -> str:
    return MANAGED + "\n" + yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def nginx_stream(inventory: Inventory) -> str:
    """An nginx `stream` block in front of the servers: least_conn, and passive health checks
    (open-source nginx marks a server failed after max_fails refused connections)."""
    servers = "\n".join(
        f"        server {bracket(str(s.node_ip))}:{API_PORT} max_fails=3 fail_timeout=10s;"
        for s in inventory.servers
    )
    return f"""{MANAGED}
# The K3s API of cluster {inventory.cluster.name!r}, balanced over its servers.
stream {{
    upstream k3s_servers {{
        least_conn;
{servers}
    }}
    server {{
        listen {API_PORT};
        proxy_pass k3s_servers;
        proxy_connect_timeout 5s;
        # kubectl watches and the agents' tunnels are long-lived connections
        proxy_timeout 30m;
    }}
}}
"""


NGINX_INCLUDE = f"include {NGINX_STREAM_CONFIG};"


def haproxy_config(inventory: Inventory) -> str:
    """HAProxy in TCP mode: leastconn, and active health checks every 2 s."""
    servers = "\n".join(
        f"    server {s.name} {bracket(str(s.node_ip))}:{API_PORT} check" for s in inventory.servers
    )
    return f"""{MANAGED}
# The K3s API of cluster {inventory.cluster.name!r}, balanced over its servers.
global
    log /dev/log local0
    maxconn 4096
    user haproxy
    group haproxy

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    # kubectl watches and the agents' tunnels are long-lived connections
    timeout client 30m
    timeout server 30m

frontend k3s_api
    bind *:{API_PORT}
    default_backend k3s_servers

backend k3s_servers
    balance leastconn
    option tcp-check
    default-server inter 2s fall 3 rise 2
{servers}
"""


def kubeconfig_for(k3s_yaml: str, inventory: Inventory) -> dict[str, Any]:
    """The server's k3s.yaml with its server set to the API endpoint and every name
    ("default") set to the cluster's name, so it can sit beside other clusters."""
    config: dict[str, Any] = yaml.safe_load(k3s_yaml)
    name = inventory.cluster.name
    cluster = config["clusters"][0]
    cluster["name"] = name
    cluster["cluster"]["server"] = inventory.kubeconfig_url
    config["users"][0]["name"] = name
    context = config["contexts"][0]
    context["name"] = name
    context["context"] = {**context["context"], "cluster": name, "user": name}
    config["current-context"] = name
    return config


def merge_kubeconfig(existing: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """`new`'s cluster, user and context added to `existing`, replacing entries of the same
    name and leaving the others alone; the new context becomes the current one."""
    merged: dict[str, Any] = dict(existing or {"apiVersion": "v1", "kind": "Config"})
    for section in ("clusters", "users", "contexts"):
        incoming = {entry["name"]: entry for entry in new[section]}
        kept = [e for e in merged.get(section) or [] if e["name"] not in incoming]
        merged[section] = kept + list(incoming.values())
    merged.setdefault("preferences", {})
    merged["current-context"] = new["current-context"]
    return merged
